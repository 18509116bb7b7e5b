#include "backends/torch/torch_model.h"

#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>

#include <cstring>
#include <exception>
#include <vector>

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

void TorchModel::UseIntraOpThreads(int threads) { at::set_num_threads(threads); }

}  // namespace rapid
