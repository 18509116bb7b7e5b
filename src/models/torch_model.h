// What the libtorch models share: the Model interface over a Logits function (one place that turns
// caller buffers into tensors, moves them to and from the model's device, runs without autograd,
// applies the output activation and turns exceptions into Status), and the inference-only batch
// norm every SeisBench picker uses.
// Device: a model runs where its weights are (registry.h LoadModel places them). On a CUDA device
// each call stages its input in a pinned host buffer, copies it to the device asynchronously,
// and copies the result back through a second pinned buffer; Logits must create any tensor of its
// own with the input's options so it lands on the same device.
// Thread safety: as Model.
#pragma once

#include <ATen/ATen.h>

#include <string>
#include <utility>
#include <vector>

#include "models/graph.h"
#include "models/model.h"
#include "models/strict_params.h"

namespace rapid {

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

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

  // Adds the bytes of `tensors` (float32) to WeightBytes(); the model runs on their device.
  void CountWeights(const NamedTensors& tensors);
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

// BatchNorm1d in inference mode with the running statistics of `prefix` (SeisBench's key names:
// .weight, .bias, .running_mean, .running_var; .num_batches_tracked is ignored).
struct BatchNorm {
  at::Tensor weight, bias, mean, var;
  double eps = 1e-3;
  Status Load(StrictParams* p, const std::string& prefix, int64_t channels, double epsilon);
  at::Tensor operator()(const at::Tensor& x) const;
};

}  // namespace rapid
