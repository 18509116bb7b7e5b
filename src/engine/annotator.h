// Batcher + executor + stitcher over in-memory blocks: the windows of all blocks (from any number of
// stations) form one work list; each model instance runs on its own thread, takes the next
// `batch_size` windows (so a batch mixes stations), normalises them, runs the model, and scatters
// the predictions to each block's stitcher. Stitching is order-independent (see Stitcher), so the
// traces are identical for any instance count and batch size.
// Thread safety: one call at a time per set of instances.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/nano_time.h"
#include "core/status.h"
#include "engine/station_block.h"
#include "models/model.h"

namespace rapid {

struct AnnotateOptions {
  // Windows per forward call (at most; a job smaller than instances × batch is split evenly).
  // Larger batches amortise per-call overhead but hold more memory
  // (batch × (channels + labels) × in_samples × 4 bytes per instance).
  int64_t batch_size = 64;
  // Intra-op threads each instance's forward call may use (instances × threads ≈ cores).
  int64_t intra_threads = 1;
  // CPUs to pin instance threads to: instance k runs on intra_threads CPUs taken round-robin from
  // this list. Empty: not pinned.
  std::vector<int> cpus;
};

// Continuous probability traces of one block, all labels sharing start and rate; leading and
// trailing samples no window covered (blinding) are trimmed.
struct Annotation {
  std::string trace_id;
  NanoTime start = kUnsetTime;
  double rate_hz = 0.0;
  std::vector<std::vector<float>> traces;  // one per spec.labels entry
};

struct InstanceStats {
  int64_t windows = 0;
  int64_t batches = 0;
  double busy_s = 0.0;  // normalising, running the model and stitching
};

struct AnnotateStats {
  int64_t windows = 0;
  int64_t batches = 0;
  double normalise_s = 0.0;  // summed over instances
  double forward_s = 0.0;
  double stitch_s = 0.0;
  double wall_s = 0.0;
  std::vector<InstanceStats> instances;
};

// Annotates `blocks` with the model instances in `instances` (borrowed; all of one model, each used
// by one thread). OK: one Annotation per block, in block order. The first model failure is
// returned (the caller decides which units failed). `stats` is overwritten.
Status AnnotateBlocks(const std::vector<Model*>& instances, const std::vector<StationBlock>& blocks,
                      const AnnotateOptions& opts, std::vector<Annotation>* out, AnnotateStats* stats);

}  // namespace rapid
