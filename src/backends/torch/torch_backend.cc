// librapid_torch.so's entry point: the torch backend of backends/torch/torch_backend.h.
#include "backends/torch/torch_backend.h"

#include <ATen/Context.h>
#include <ATen/detail/CUDAHooksInterface.h>

#include "models/cred.h"
#include "models/eqcct.h"

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

  Status Build(const std::string& name, const std::vector<WeightFile>& w, const ModelSpec& spec,
               const std::string& device, std::unique_ptr<Model>* out) override {
    if (name == "eqcct" && w.size() == 2) {
      return BuildEqcct(w[0].state.entries, w[0].path, w[1].state.entries, w[1].path, spec, device, out);
    }
    if (name == "cred" && w.size() == 1) {
      return BuildCred(w[0].state.entries, w[0].path, w[0].metadata_json, w[0].metadata_path, spec, device, out);
    }
    return Status::InvalidArgument("the torch backend cannot build '" + name + "' from " +
                                   std::to_string(w.size()) + " weight file(s)");
  }
};

}  // namespace

}  // namespace rapid

extern "C" rapid::TorchBackend* RapidTorchBackend() {
  static rapid::LibTorchBackend backend;
  return &backend;
}
