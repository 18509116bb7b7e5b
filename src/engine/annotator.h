// Batcher + executor + stitcher for one model instance, single-threaded: windows of all blocks
// (from any number of stations) are normalised into batches of up to `batch_size`, run through
// the model, and scattered back to each block's stitcher.
// Thread safety: not thread-safe (one model instance).
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
  // Windows per forward call. Larger batches amortise per-call overhead but hold more memory
  // (batch × (channels + labels) × in_samples × 4 bytes).
  int64_t batch_size = 64;
};

// Continuous probability traces of one block, all labels sharing start and rate; leading and
// trailing samples no window covered (blinding) are trimmed.
struct Annotation {
  std::string trace_id;
  NanoTime start = kUnsetTime;
  double rate_hz = 0.0;
  std::vector<std::vector<float>> traces;  // one per spec.labels entry
};

struct AnnotateStats {
  int64_t windows = 0;
  int64_t batches = 0;
  double normalise_s = 0.0;
  double forward_s = 0.0;
  double stitch_s = 0.0;
};

// Annotates `blocks` with `model`. OK: one Annotation per block, in block order. A model failure
// is returned as is (the caller decides which units failed). `stats` is added to.
Status AnnotateBlocks(Model* model, const std::vector<StationBlock>& blocks, const AnnotateOptions& opts,
                      std::vector<Annotation>* out, AnnotateStats* stats);

}  // namespace rapid
