// Keeping a run on the CPUs it was given (--cpus): the calling thread, and so every thread it
// starts, is pinned for the object's life.
// Thread safety: one object per thread that confines itself.
#pragma once

#include <vector>

#include "core/status.h"
#include "dispatch/resource_probe.h"

namespace rapid {

// --cpus: the calling thread (and so every thread the run starts) keeps to `cpus` while this
// lives; its former CPUs are restored afterwards.
class CpuConfinement {
 public:
  Status Confine(const std::vector<int>& cpus) {
    if (cpus.empty()) return Status::OK();
    previous_ = CurrentThreadCpus();
    Status s = PinCurrentThread(cpus);
    if (!s.ok()) previous_.clear();
    return s;
  }
  ~CpuConfinement() {
    if (!previous_.empty()) (void)PinCurrentThread(previous_);
  }

 private:
  std::vector<int> previous_;
};

}  // namespace rapid
