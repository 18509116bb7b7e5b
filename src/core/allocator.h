// Process-wide tuning of glibc's allocator for RAPID's workload: many short-lived buffers of
// 0.1–30 MB (model activations, batches, block pieces) allocated and freed at a high rate.
// With glibc's defaults such buffers come from fresh mmap'd pages or from heap memory just returned
// to the system, so every forward pass pays page faults to zero them again; measured on the 2-core
// dev machine that made PhaseNet's forward pass 3× slower (bench/forward_bench: 207 → 616
// windows/s at batch 8, one thread). Keeping freed memory in the process instead costs no more
// peak memory: the same buffers are reused.
// Thread safety: call once at start-up, before other threads exist.
#pragma once

namespace rapid {

// Buffers from this size on are mapped for themselves and returned to the system when freed;
// smaller ones come from the heap, whose freed memory stays resident for reuse.
inline constexpr int kAllocatorMmapThresholdBytes = 32 << 20;  // glibc's DEFAULT_MMAP_THRESHOLD_MAX on 64-bit

// Serves buffers up to 32 MiB (glibc's maximum) from the heap and keeps up to 1 GiB of freed heap
// memory for reuse. Returns false if glibc refused a setting (the process still works, slower).
bool TuneAllocatorForLargeBuffers();

}  // namespace rapid
