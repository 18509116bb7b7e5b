#include "backends/backend.h"

#include "backends/torch_loader.h"

namespace rapid {

std::vector<std::string> CpuBackends() { return {kOnednnBackend, kTorchBackend}; }

Status CheckBackend(const std::string& name) {
  std::string known;
  for (const std::string& b : CpuBackends()) {
    if (b == name) return Status::OK();
    known += (known.empty() ? "" : ", ") + b;
  }
  return Status::InvalidArgument("unknown backend '" + name + "' (known: " + known + ")");
}

std::string BackendFor(const std::string& device, const std::string& cpu_backend) {
  return device == "cpu" ? cpu_backend : kTorchBackend;
}

Status CompileTorch(std::shared_ptr<const Graph> graph, const ModelSpec& spec, const std::string& device,
                    std::unique_ptr<Model>* out) {
  TorchBackend* torch = nullptr;
  RAPID_RETURN_IF_ERROR(LoadTorchBackend(&torch));
  return torch->Compile(std::move(graph), spec, device, out);
}

}  // namespace rapid
