// Backends: what turns a model Graph (models/graph.h) into a runnable Model.
//   onednn — the CPU backend (the default on "cpu"): oneDNN primitives, one window at a time.
//   torch  — libtorch, op by op: the CPU reference and the backend of CUDA devices.
// Thread safety: the compile functions may run concurrently; each Model as models/model.h says.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "models/graph.h"
#include "models/model.h"
#include "models/model_spec.h"

namespace rapid {

inline constexpr const char* kOnednnBackend = "onednn";
inline constexpr const char* kTorchBackend = "torch";

// Backend names a CPU device accepts, the default first.
std::vector<std::string> CpuBackends();

// InvalidArgument naming the known backends unless `name` is one of CpuBackends().
Status CheckBackend(const std::string& name);

// The backend that runs on `device`: "torch" for a CUDA device, else `cpu_backend`.
std::string BackendFor(const std::string& device, const std::string& cpu_backend);

// Compiles `graph` (finished, status OK; its output node Labels × OutSamples of `spec`) for the
// CPU with oneDNN. InvalidArgument when the graph has an op or a shape the backend cannot run.
Status CompileOnednn(std::shared_ptr<const Graph> graph, const ModelSpec& spec, std::unique_ptr<Model>* out);

// Compiles `graph` with libtorch for `device` ("cpu" or "cuda:N"), through librapid_torch.so
// (backends/torch_loader.h). NotFound when RAPID was built without libtorch; ResourceExhausted
// when the weights cannot be placed on the device.
Status CompileTorch(std::shared_ptr<const Graph> graph, const ModelSpec& spec, const std::string& device,
                    std::unique_ptr<Model>* out);

}  // namespace rapid
