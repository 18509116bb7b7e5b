// Where a model instance runs: "cpu" or "cuda:N". CUDA devices are the torch backend's
// (librapid_torch.so, opened on first use): they exist only when it is built and the libtorch it
// runs with has them.
// Thread safety: CheckDevice and CudaDeviceCount are pure queries; CudaMemoryInfo changes the
// calling thread's current CUDA device for the duration of the call.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace rapid {

// Number of CUDA devices the torch backend can use (0 for a CPU-only libtorch, or without the
// torch backend). Opens the torch backend.
int CudaDeviceCount();

// OK when `device` is "cpu" or "cuda:N" with N below CudaDeviceCount(). InvalidArgument for any
// other spelling, NotFound for a CUDA device this libtorch does not see (the message says how
// many it sees).
Status CheckDevice(const std::string& device);

// N of a device CheckDevice accepted as "cuda:N". REQUIRES: such a device.
int CudaIndex(const std::string& device);

// "cpu,cuda:0" → {"cpu", "cuda:0"}, each checked by CheckDevice; a bare index after a CUDA device
// continues the CUDA list ("cuda:0,1" → cuda:0, cuda:1). InvalidArgument for an empty list or a
// duplicate.
Status ParseDeviceList(const std::string& list, std::vector<std::string>* devices);

// Free and total memory of CUDA device `index`, bytes, from the CUDA runtime that libtorch loaded
// (looked up at run time, so nothing links against CUDA). NotFound when there is none.
Status CudaMemoryInfo(int index, int64_t* free_bytes, int64_t* total_bytes);

}  // namespace rapid
