// librapid_torch.so's entry point: the torch backend of backends/torch/torch_backend.h.
#include "backends/torch/torch_backend.h"

#include <ATen/Context.h>
#include <ATen/detail/CUDAHooksInterface.h>

namespace rapid {

// backends/torch/torch_graph_model.cc.
Status CompileTorchGraph(std::shared_ptr<const Graph> graph, const ModelSpec& spec, const std::string& device,
                         std::unique_ptr<Model>* out);

namespace {

class LibTorchBackend : public TorchBackend {
 public:
  int CudaDeviceCount() override {
    return at::hasCUDA() ? static_cast<int>(at::detail::getCUDAHooks().getNumGPUs()) : 0;
  }

  Status Compile(std::shared_ptr<const Graph> graph, const ModelSpec& spec, const std::string& device,
                 std::unique_ptr<Model>* out) override {
    return CompileTorchGraph(std::move(graph), spec, device, out);
  }
};

}  // namespace

}  // namespace rapid

extern "C" rapid::TorchBackend* RapidTorchBackend() {
  static rapid::LibTorchBackend backend;
  return &backend;
}
