#include "backends/backend.h"

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

}  // namespace rapid
