// What the libtorch models share: the Model interface over a Logits function (one place that turns
// caller buffers into tensors, moves them to and from the model's device, runs without autograd,
// applies the output activation and turns exceptions into Status), TorchParams (the bridge from the
// libtorch-free weight reader to ATen tensors on the model's device), and the inference-only batch
// norm every SeisBench picker uses.
// Device: a model runs where its weights are (its builder creates them there). On a CUDA device
// each call stages its input in a pinned host buffer, copies it to the device asynchronously,
// and copies the result back through a second pinned buffer; Logits must create any tensor of its
// own with the input's options so it lands on the same device.
// Thread safety: as Model.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "models/graph.h"
#include "models/model.h"
#include "models/stored_tensor.h"
#include "models/strict_params.h"

namespace rapid {

// The libtorch device `device` names ("cpu", "cuda:N"; registry.h LoadModel has checked that it
// exists). OK: *out is it. InvalidArgument naming `device` when libtorch cannot parse the name.
Status ParseTorchDevice(const std::string& device, at::Device* out);

// StrictParams whose Take also gives ATen tensors: float32, created on one device.
// Thread safety: as StrictParams.
class TorchParams : public StrictParams {
 public:
  // `tensors` is borrowed and must outlive this object; `source` names the file in messages.
  TorchParams(const NamedStoredTensors& tensors, std::string source, const at::Device& device)
      : StrictParams(tensors, std::move(source)), device_(device) {}

  using StrictParams::Take;
  // OK: *out is the tensor stored under `key` as a float32 tensor of `shape` on device().
  // NotFound / InvalidArgument as StrictParams::Take; ResourceExhausted naming the file and the
  // device when the device cannot take the tensor (out of memory).
  Status Take(const std::string& key, const std::vector<int64_t>& shape, at::Tensor* out);

  const at::Device& device() const { return device_; }

 private:
  at::Device device_;
};

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

  // Adds the bytes of `tensors` (as float32) to WeightBytes(); the model runs on `device`, where
  // its weights are.
  void CountWeights(const NamedStoredTensors& tensors, const at::Device& device);
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
  Status Load(TorchParams* p, const std::string& prefix, int64_t channels, double epsilon);
  at::Tensor operator()(const at::Tensor& x) const;
};

}  // namespace rapid
