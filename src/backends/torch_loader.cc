#include "backends/torch_loader.h"

#include <dlfcn.h>

#include <cstdlib>
#include <mutex>
#include <string>

namespace rapid {

namespace {

// The folder of the library (or executable) this function is linked into.
std::string ThisLibraryFolder() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&ThisLibraryFolder), &info) == 0 || info.dli_fname == nullptr) return ".";
  const std::string path = info.dli_fname;
  const std::string::size_type slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

struct Loaded {
  TorchBackend* backend = nullptr;
  Status status;
};

Loaded Load() {
  const char* env = std::getenv("RAPID_TORCH_LIBRARY");
  const std::string path = env != nullptr && *env != '\0' ? env : ThisLibraryFolder() + "/librapid_torch.so";
  void* library = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) {
    const char* why = dlerror();
    return {nullptr, Status::NotFound("the torch backend is not available (" + path + ": " +
                                      (why != nullptr ? why : "cannot open") +
                                      "); RAPID was built without libtorch, or set RAPID_TORCH_LIBRARY")};
  }
  using Entry = TorchBackend* (*)();
  auto entry = reinterpret_cast<Entry>(dlsym(library, "RapidTorchBackend"));
  if (entry == nullptr) return {nullptr, Status::NotFound(path + ": not RAPID's torch backend (no RapidTorchBackend)")};
  return {entry(), Status::OK()};
}

}  // namespace

Status LoadTorchBackend(TorchBackend** out) {
  static std::once_flag once;
  static Loaded loaded;
  std::call_once(once, [] { loaded = Load(); });
  *out = loaded.backend;
  return loaded.status;
}

}  // namespace rapid
