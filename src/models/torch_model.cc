#include "models/torch_model.h"

#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>

#include <cstring>
#include <vector>
#include <exception>

namespace rapid {

namespace {
// A pinned host buffer of at least `numel` floats (reusing `*buffer` when it is large enough).
at::Tensor PinnedFloats(at::Tensor* buffer, int64_t numel) {
  if (!buffer->defined() || buffer->numel() < numel) {
    *buffer = at::empty({numel}, at::TensorOptions().dtype(at::kFloat).pinned_memory(true));
  }
  return buffer->narrow(0, 0, numel);
}
}  // namespace

Status ParseTorchDevice(const std::string& device, at::Device* out) {
  try {
    *out = at::Device(device);
  } catch (const std::exception& e) {
    return Status::InvalidArgument("device '" + device + "': " + e.what());
  }
  return Status::OK();
}

Status TorchParams::Take(const std::string& key, const std::vector<int64_t>& shape, at::Tensor* out) {
  WeightTensor weight;
  RAPID_RETURN_IF_ERROR(StrictParams::Take(key, shape, &weight));
  try {
    // at::empty, as libtorch allocates every tensor: aligned for its vectorised kernels.
    at::Tensor host = at::empty(shape, at::TensorOptions().dtype(at::kFloat));
    if (!weight.values.empty()) {
      std::memcpy(host.data_ptr<float>(), weight.values.data(), weight.values.size() * sizeof(float));
    }
    *out = device_.is_cpu() ? host : host.to(device_);
  } catch (const std::exception& e) {
    return Status::ResourceExhausted(source() + ": cannot place the weights on " + device_.str() + ": " + e.what());
  }
  return Status::OK();
}

void TorchModel::CountWeights(const NamedStoredTensors& tensors, const at::Device& device) {
  for (const auto& entry : tensors) weight_bytes_ += entry.second.Numel() * static_cast<int64_t>(sizeof(float));
  device_ = device;
}

Status TorchModel::Run(const float* input, int64_t batch, float* output, bool probabilities) const {
  try {
    c10::InferenceMode guard;
    const std::vector<int64_t> shape = {batch, spec_.Channels(), spec_.in_samples};
    at::Tensor x = at::from_blob(const_cast<float*>(input), shape, at::kFloat);
    if (!device_.is_cpu()) {
      at::Tensor staged = PinnedFloats(&pinned_input_, x.numel()).view(shape);
      staged.copy_(x);
      x = staged.to(device_, /*non_blocking=*/true);
    }
    at::Tensor y = Logits(x);
    if (probabilities) y = activation_ == OutputActivation::kSoftmaxOverLabels ? at::softmax(y, 1) : at::sigmoid(y);
    y = y.contiguous();
    if (!device_.is_cpu()) {
      at::Tensor host = PinnedFloats(&pinned_output_, y.numel()).view(y.sizes());
      host.copy_(y);  // synchronous: the result is complete when it returns
      y = host;
    }
    std::memcpy(output, y.data_ptr<float>(), static_cast<size_t>(y.numel()) * sizeof(float));
    return Status::OK();
  } catch (const std::exception& e) {
    return Status::Internal(spec_.class_name + " forward failed on " + device_.str() + ": " + e.what());
  }
}

Status BatchNorm::Load(TorchParams* p, const std::string& prefix, int64_t channels, double epsilon) {
  eps = epsilon;
  RAPID_RETURN_IF_ERROR(p->Take(prefix + ".weight", {channels}, &weight));
  RAPID_RETURN_IF_ERROR(p->Take(prefix + ".bias", {channels}, &bias));
  RAPID_RETURN_IF_ERROR(p->Take(prefix + ".running_mean", {channels}, &mean));
  RAPID_RETURN_IF_ERROR(p->Take(prefix + ".running_var", {channels}, &var));
  p->Ignore(prefix + ".num_batches_tracked");
  return Status::OK();
}

at::Tensor BatchNorm::operator()(const at::Tensor& x) const {
  return at::batch_norm(x, weight, bias, mean, var, /*training=*/false, 0.0, eps, false);
}

void TorchModel::UseIntraOpThreads(int threads) { at::set_num_threads(threads); }

}  // namespace rapid
