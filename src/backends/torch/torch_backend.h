// The torch backend as librapid_torch.so exports it, the one boundary between RAPID and libtorch:
// the rapid executable and librapid do not link libtorch, and a CPU machine needs neither
// libtorch nor its start-up. backends/torch_loader.h opens the library the first time something
// asks for torch (--backend torch, a CUDA device).
// Thread safety: every member may be called from several threads at once.
#pragma once

#include <memory>
#include <string>

#include "core/status.h"
#include "models/graph.h"
#include "models/model.h"
#include "models/model_spec.h"

namespace rapid {

class TorchBackend {
 public:
  virtual ~TorchBackend() = default;

  // CUDA devices this libtorch sees (0 for a CPU-only build).
  virtual int CudaDeviceCount() = 0;

  // CompileTorch of backends/backend.h.
  virtual Status Compile(std::shared_ptr<const Graph> graph, const ModelSpec& spec, const std::string& device,
                         std::unique_ptr<Model>* out) = 0;
};

}  // namespace rapid

// The library's entry point, looked up by name (C linkage). The backend lives as long as the process.
extern "C" rapid::TorchBackend* RapidTorchBackend();
