// The torch backend's Model over a Logits function: the one place that turns caller buffers into
// tensors, moves them to and from the model's device, runs without autograd, applies the output
// activation and turns exceptions into Status (torch_graph_model.cc defines Logits as the graph).
// Device: a model runs where its weights are (its builder creates them there). On a CUDA device
// each call stages its input in a pinned host buffer, copies it to the device asynchronously,
// and copies the result back through a second pinned buffer; Logits must create any tensor of its
// own with the input's options so it lands on the same device.
// Thread safety: as Model.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <utility>

#include "models/graph.h"
#include "models/model.h"

namespace rapid {

class TorchModel : public Model {
 public:
  const ModelSpec& Spec() const final { return spec_; }
  int64_t WeightBytes() const final { return weight_bytes_; }
  Status Forward(const float* input, int64_t batch, float* output) final { return Run(input, batch, output, true); }
  Status ForwardLogits(const float* input, int64_t batch, float* output) final {
    return Run(input, batch, output, false);
  }
  void UseIntraOpThreads(int threads) final;

 protected:
  TorchModel(ModelSpec spec, OutputActivation activation) : spec_(std::move(spec)), activation_(activation) {}

  // Scores (batch × Labels × OutSamples; a point model may return batch × Labels, the same values)
  // of normalised windows x (batch × Channels × in_samples).
  // Runs in inference mode; may throw (caught by Forward).
  virtual at::Tensor Logits(const at::Tensor& x) const = 0;

  // The model runs on `device` and its weights hold `weight_bytes`.
  void PlaceOn(const at::Device& device, int64_t weight_bytes) {
    device_ = device;
    weight_bytes_ = weight_bytes;
  }

  ModelSpec spec_;

 private:
  Status Run(const float* input, int64_t batch, float* output, bool probabilities) const;

  OutputActivation activation_;
  int64_t weight_bytes_ = 0;
  at::Device device_ = at::kCPU;
  // Pinned host staging buffers of a CUDA model (grown to the largest batch seen).
  mutable at::Tensor pinned_input_, pinned_output_;
};

}  // namespace rapid
