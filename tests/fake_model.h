// A stand-in model for executor tests: three labels, 100-sample windows at stride 60, and an
// output that is a pure function of each window's own input, so results do not depend on batch
// size or composition: sigmoid of each input sample (with out_samples < in_samples: of every
// in/out-th), or for a point model (out_samples 1) sigmoid of each channel's mean. Can fail on a
// chosen call, or wait at a gate (GatedModel).
#pragma once

#include <atomic>
#include <chrono>
#include <cmath>
#include <thread>

#include "models/model.h"

namespace rapid::testing {

class FakeModel : public Model {
 public:
  // Fails call number `fail_on_call` (0-based), and every later call when `keep_failing`.
  explicit FakeModel(int64_t fail_on_call = -1, int64_t out_samples = 0, bool keep_failing = false)
      : fail_on_call_(fail_on_call), keep_failing_(keep_failing) {
    spec_.labels = {"N", "P", "S"};
    spec_.in_samples = 100;
    spec_.overlap_samples = 40;
    spec_.out_samples = out_samples;
  }
  const ModelSpec& Spec() const override { return spec_; }
  Status Forward(const float* input, int64_t batch, float* output) override {
    const int64_t call = calls_++;
    if (call == fail_on_call_ || (keep_failing_ && fail_on_call_ >= 0 && call > fail_on_call_)) {
      return Status::ResourceExhausted("fake out of memory");
    }
    const int64_t in = spec_.in_samples;
    for (int64_t b = 0; b < batch; ++b) {
      for (int64_t l = 0; l < 3; ++l) {
        const float* x = input + (b * 3 + l) * in;
        if (spec_.PointOutput()) {
          float sum = 0.0f;
          for (int64_t i = 0; i < in; ++i) sum += x[i];
          output[b * 3 + l] = 1.0f / (1.0f + std::exp(-sum / static_cast<float>(in)));
          continue;
        }
        const int64_t out = spec_.OutSamples();  // < in: output j reads input sample j · in / out
        for (int64_t j = 0; j < out; ++j) output[(b * 3 + l) * out + j] = 1.0f / (1.0f + std::exp(-x[j * in / out]));
      }
    }
    return Status::OK();
  }
  Status ForwardLogits(const float* input, int64_t batch, float* output) override { return Forward(input, batch, output); }
  int64_t WeightBytes() const override { return 0; }

 private:
  ModelSpec spec_;
  int64_t fail_on_call_;
  bool keep_failing_;
  std::atomic<int64_t> calls_{0};
};

// A fake model whose calls wait until the test opens the gate: the test knows which windows are in
// the running batch and which are still queued.
class GatedModel : public FakeModel {
 public:
  Status Forward(const float* input, int64_t batch, float* output) override {
    entered_ = true;
    while (!open_) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return FakeModel::Forward(input, batch, output);
  }
  std::atomic<bool> entered_{false}, open_{false};
};

}  // namespace rapid::testing
