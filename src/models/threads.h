// Process-wide facts and settings of the inference library.
#pragma once

namespace rapid {

// Sets the number of threads one forward call may use. REQUIRES: threads >= 1.
void SetIntraOpThreads(int threads);

// Number of CUDA devices the inference library can use (0 for a CPU-only libtorch such as Debian's).
int CudaDeviceCount();

}  // namespace rapid
