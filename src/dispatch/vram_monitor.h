// Peak GPU memory of a run, sampled: a thread reads each CUDA device's free and total memory every
// period and keeps the highest (total − free). Device-wide, as nvidia-smi reports it: this
// process's CUDA context and caching allocator, and anything else on the device. (The caching
// allocator's own peak would need linking c10_cuda, which the CPU-only build cannot.)
// Thread safety: construct, Stop and read from one thread; the sampling thread is internal.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "core/status.h"

namespace rapid {

class VramMonitor {
 public:
  // Reads free and total bytes of CUDA device `index` (models/device.h CudaMemoryInfo in a run).
  using Sampler = std::function<Status(int index, int64_t* free_bytes, int64_t* total_bytes)>;

  // Samples `devices` (CUDA indices) at once and then every `period` until Stop. A failed sample
  // is skipped. No devices: no thread.
  VramMonitor(std::vector<int> devices, std::chrono::milliseconds period, Sampler sampler);
  ~VramMonitor();  // Stop()
  VramMonitor(const VramMonitor&) = delete;
  VramMonitor& operator=(const VramMonitor&) = delete;

  // Takes a last sample and ends the thread. Idempotent.
  void Stop();

  // Highest bytes in use seen on each device (constructor order); 0 where no sample succeeded.
  std::vector<int64_t> PeakUsedBytes() const;

 private:
  void SampleAll();  // REQUIRES: mu_ held

  const std::vector<int> devices_;
  const std::chrono::milliseconds period_;
  const Sampler sampler_;
  mutable std::mutex mu_;
  std::condition_variable stop_cv_;
  bool stop_ = false;                 // guarded by mu_
  std::vector<int64_t> peak_bytes_;   // guarded by mu_
  std::thread thread_;
};

}  // namespace rapid
