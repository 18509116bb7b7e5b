// A model seen through another spec: the same networks and forward calls, other windowing,
// normalisation or thresholds around them (the EQCCTPro preset runs EQCCT's networks on
// EQCCTPro's windows, engine/eqcctpro_windows.h EqcctproSpec).
// Thread safety: as the inner model.
#pragma once

#include "models/model.h"

namespace rapid {

class RespecifiedModel : public Model {
 public:
  // `inner` is borrowed and must outlive this. REQUIRES: `spec` keeps inner's channels, labels,
  // in_samples and out_samples (the forward call's shapes).
  RespecifiedModel(Model* inner, ModelSpec spec) : inner_(inner), spec_(std::move(spec)) {}

  const ModelSpec& Spec() const override { return spec_; }
  Status Forward(const float* input, int64_t batch, float* output) override {
    return inner_->Forward(input, batch, output);
  }
  Status ForwardLogits(const float* input, int64_t batch, float* output) override {
    return inner_->ForwardLogits(input, batch, output);
  }
  int64_t WeightBytes() const override { return inner_->WeightBytes(); }
  void UseIntraOpThreads(int threads) override { inner_->UseIntraOpThreads(threads); }

 private:
  Model* inner_;
  ModelSpec spec_;
};

}  // namespace rapid
