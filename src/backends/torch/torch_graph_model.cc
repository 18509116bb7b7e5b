// The torch backend: a Graph run op by op with ATen, on the CPU or a CUDA device. It is the
// reference the oneDNN backend is checked against, and the backend of CUDA devices.
#include <ATen/ATen.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "backends/torch/torch_backend.h"
#include "models/torch_model.h"

namespace rapid {

namespace {

at::Tensor ToTensor(const WeightTensor& w, const at::Device& device) {
  if (w.empty()) return {};
  return at::from_blob(const_cast<float*>(w.values.data()), w.shape, at::kFloat).to(device, /*non_blocking=*/false,
                                                                                     /*copy=*/true);
}

class TorchGraphModel : public TorchModel {
 public:
  TorchGraphModel(ModelSpec spec, std::shared_ptr<const Graph> graph, const at::Device& device)
      : TorchModel(std::move(spec), graph->Activation()), graph_(std::move(graph)) {
    for (const GraphNode& n : graph_->Nodes()) {
      weights_.push_back({ToTensor(n.weight, device), ToTensor(n.bias, device), ToTensor(n.mean, device),
                          ToTensor(n.var, device)});
    }
    PlaceOn(device, graph_->WeightBytes());
  }

 private:
  struct NodeTensors {
    at::Tensor weight, bias, mean, var;
  };

  at::Tensor Logits(const at::Tensor& x) const override {
    const std::vector<GraphNode>& nodes = graph_->Nodes();
    std::vector<at::Tensor> v(nodes.size());
    for (size_t i = 0; i < nodes.size(); ++i) {
      const GraphNode& n = nodes[i];
      const NodeTensors& t = weights_[i];
      auto in = [&](size_t k) -> const at::Tensor& { return v[static_cast<size_t>(n.inputs[k])]; };
      switch (n.op) {
        case OpKind::kInput: v[i] = x; break;
        case OpKind::kConv1d:
          v[i] = n.pad_left == n.pad_right
                     ? at::conv1d(in(0), t.weight, t.bias, n.stride, n.pad_left)
                     : at::conv1d(at::constant_pad_nd(in(0), {n.pad_left, n.pad_right}, 0), t.weight, t.bias, n.stride);
          break;
        case OpKind::kConvTranspose1d:
          v[i] = at::conv_transpose1d(in(0), t.weight, t.bias, n.stride, 0, std::max<int64_t>(0, -n.pad_right))
                     .narrow(2, n.pad_left, n.length);
          break;
        case OpKind::kBatchNorm:
          v[i] = at::batch_norm(in(0), t.weight, t.bias, t.mean, t.var, /*training=*/false, 0.0, n.eps, false);
          break;
        case OpKind::kRelu: v[i] = at::relu(in(0)); break;
        case OpKind::kCrop: v[i] = in(0).narrow(2, n.offset, n.length); break;
        case OpKind::kMaxPool: v[i] = at::max_pool1d(in(0), {n.kernel}, {n.stride}); break;
        case OpKind::kScaleByPeak:
          v[i] = in(0) / (at::amax(at::abs(in(0)), {1, 2}, /*keepdim=*/true) + n.eps);
          break;
        case OpKind::kConcat: {
          std::vector<at::Tensor> parts;
          for (size_t k = 0; k < n.inputs.size(); ++k) parts.push_back(in(k));
          v[i] = at::cat(parts, 1);
          break;
        }
      }
    }
    return v[static_cast<size_t>(graph_->OutputId())];
  }

  std::shared_ptr<const Graph> graph_;
  std::vector<NodeTensors> weights_;
};

}  // namespace

Status CompileTorchGraph(std::shared_ptr<const Graph> graph, const ModelSpec& spec, const std::string& device,
                         std::unique_ptr<Model>* out) {
  try {
    *out = std::make_unique<TorchGraphModel>(spec, std::move(graph), at::Device(device));
  } catch (const std::exception& e) {
    return Status::ResourceExhausted(spec.class_name + ": cannot place the weights on " + device + ": " + e.what());
  }
  return Status::OK();
}

}  // namespace rapid
