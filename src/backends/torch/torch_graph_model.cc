// The torch backend: a Graph run op by op with ATen, on the CPU or a CUDA device. It is the
// reference the oneDNN backend is checked against, and the backend of CUDA devices.
#include <ATen/ATen.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "backends/torch/torch_backend.h"
#include "backends/torch/torch_graph_ops.h"
#include "backends/torch/torch_model.h"

namespace rapid {

namespace {

class TorchGraphModel : public TorchModel {
 public:
  TorchGraphModel(ModelSpec spec, std::shared_ptr<const Graph> graph, const at::Device& device)
      : TorchModel(std::move(spec), graph->Activation()), graph_(std::move(graph)) {
    for (const GraphNode& n : graph_->Nodes()) weights_.push_back(PrepareNode(n, device));
    PlaceOn(device, graph_->WeightBytes());
  }

 private:
  at::Tensor Logits(const at::Tensor& x) const override {
    const std::vector<GraphNode>& nodes = graph_->Nodes();
    std::vector<at::Tensor> v(nodes.size());
    std::vector<const at::Tensor*> in;
    for (size_t i = 0; i < nodes.size(); ++i) {
      in.clear();
      for (int p : nodes[i].inputs) in.push_back(&v[static_cast<size_t>(p)]);
      v[i] = RunNode(nodes[i], in, weights_[i], x);
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
