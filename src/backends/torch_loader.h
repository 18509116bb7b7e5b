// Finds and opens librapid_torch.so (backends/torch/torch_backend.h) on first use.
// The library is looked for at $RAPID_TORCH_LIBRARY when set, else beside librapid.so (both are
// built into the same folder). It is never closed: models it made live as long as the process.
// Thread safety: safe from any thread; the first call loads, later calls return the same answer.
#pragma once

#include "backends/torch/torch_backend.h"
#include "core/status.h"

namespace rapid {

// OK: *out is the torch backend. NotFound naming the path tried and the loader's error when the
// library is not there (RAPID built without libtorch) or cannot be opened.
Status LoadTorchBackend(TorchBackend** out);

}  // namespace rapid
