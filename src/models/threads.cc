#include "models/threads.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>

namespace rapid {

void SetIntraOpThreads(int threads) { at::set_num_threads(threads); }

int CudaDeviceCount() { return at::hasCUDA() ? static_cast<int>(at::detail::getCUDAHooks().getNumGPUs()) : 0; }

}  // namespace rapid
