#include "core/allocator.h"

#include <malloc.h>

namespace rapid {

bool TuneAllocatorForLargeBuffers() {
  constexpr int kTrimThresholdBytes = 1 << 30;
  const bool mmap_ok = mallopt(M_MMAP_THRESHOLD, kAllocatorMmapThresholdBytes) == 1;
  const bool trim_ok = mallopt(M_TRIM_THRESHOLD, kTrimThresholdBytes) == 1;
  return mmap_ok && trim_ok;
}

}  // namespace rapid
