#include "models/device.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstddef>
#include <sstream>

#include "backends/torch_loader.h"

namespace rapid {

int CudaDeviceCount() {
  TorchBackend* torch = nullptr;
  return LoadTorchBackend(&torch).ok() ? torch->CudaDeviceCount() : 0;
}

Status CheckDevice(const std::string& device) {
  if (device == "cpu") return Status::OK();
  const std::string prefix = "cuda:";
  const std::string index = device.compare(0, prefix.size(), prefix) == 0 ? device.substr(prefix.size()) : "";
  if (index.empty() || index.size() > 4 || !std::all_of(index.begin(), index.end(), ::isdigit)) {
    return Status::InvalidArgument("device '" + device + "': expected cpu or cuda:N");
  }
  const int count = CudaDeviceCount();
  if (CudaIndex(device) >= count) {
    TorchBackend* torch = nullptr;
    const Status loaded = LoadTorchBackend(&torch);
    if (!loaded.ok()) return Status::NotFound("device '" + device + "': CUDA runs on " + loaded.message());
    return Status::NotFound("device '" + device + "': this libtorch sees " + std::to_string(count) +
                            " CUDA device(s)" + (count == 0 ? " (a CPU-only build, or no GPU)" : ""));
  }
  return Status::OK();
}

int CudaIndex(const std::string& device) { return std::stoi(device.substr(device.find(':') + 1)); }

Status ParseDeviceList(const std::string& list, std::vector<std::string>* devices) {
  devices->clear();
  std::stringstream in(list);
  for (std::string d; std::getline(in, d, ',');) {
    // "cuda:0,1": a bare index continues the CUDA list.
    if (!d.empty() && std::all_of(d.begin(), d.end(), ::isdigit) && !devices->empty() && devices->back() != "cpu") {
      d = "cuda:" + d;
    }
    if (std::find(devices->begin(), devices->end(), d) != devices->end()) {
      return Status::InvalidArgument("device '" + d + "' is listed twice");
    }
    RAPID_RETURN_IF_ERROR(CheckDevice(d));
    devices->push_back(d);
  }
  if (devices->empty()) return Status::InvalidArgument("no device given (e.g. cpu, cuda:0, cpu,cuda:0)");
  return Status::OK();
}

Status CudaMemoryInfo(int index, int64_t* free_bytes, int64_t* total_bytes) {
  // The CUDA runtime API's C entry points (int is cudaError_t; 0 = success).
  using GetDevice = int (*)(int*);
  using SetDevice = int (*)(int);
  using MemGetInfo = int (*)(size_t*, size_t*);
  void* runtime = nullptr;
  for (const char* name : {"libcudart.so.13", "libcudart.so.12", "libcudart.so.11.0", "libcudart.so"}) {
    runtime = dlopen(name, RTLD_LAZY | RTLD_LOCAL);
    if (runtime != nullptr) break;
  }
  if (runtime == nullptr) return Status::NotFound("no CUDA runtime library (libcudart) loaded");
  auto get_device = reinterpret_cast<GetDevice>(dlsym(runtime, "cudaGetDevice"));
  auto set_device = reinterpret_cast<SetDevice>(dlsym(runtime, "cudaSetDevice"));
  auto mem_get_info = reinterpret_cast<MemGetInfo>(dlsym(runtime, "cudaMemGetInfo"));
  if (get_device == nullptr || set_device == nullptr || mem_get_info == nullptr) {
    dlclose(runtime);
    return Status::NotFound("the CUDA runtime library lacks cudaMemGetInfo");
  }
  int previous = 0;
  size_t free = 0, total = 0;
  const bool ok = get_device(&previous) == 0 && set_device(index) == 0 && mem_get_info(&free, &total) == 0;
  set_device(previous);
  dlclose(runtime);
  if (!ok) return Status::NotFound("cuda:" + std::to_string(index) + ": cudaMemGetInfo failed");
  *free_bytes = static_cast<int64_t>(free);
  *total_bytes = static_cast<int64_t>(total);
  return Status::OK();
}

}  // namespace rapid
