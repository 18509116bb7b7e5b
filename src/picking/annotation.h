// The model's probability traces of one block piece, as the annotator hands them out (stitched,
// NaN margins trimmed) to the picker and the probability writer.
// Thread safety: a value.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/nano_time.h"

namespace rapid {

// Continuous probability traces of one block piece, all labels sharing start and rate (the model
// rate; a point model's rate / stride, its samples stamped at window centres). The pieces
// of a block are consecutive: piece k+1's traces begin right after piece k's. Leading samples of
// the first piece and trailing samples of the last that no window covered (blinding) are trimmed.
struct Annotation {
  std::string trace_id;
  NanoTime start = kUnsetTime;  // time of traces[l][0] = SampleTime(block_start, offset, rate_hz)
  double rate_hz = 0.0;
  std::vector<std::vector<float>> traces;  // one per spec.labels entry
  uint64_t block_id = 0;
  int64_t piece = 0;
  bool last_piece = true;
  NanoTime block_start = kUnsetTime;  // time of the block's output sample 0; sample times are derived from it
  int64_t offset = 0;                 // index of traces[l][0] in the block's output
  // Time of the block's first model-rate input sample (grid time, without the shift): its windows
  // start there and every StrideSamples() after (the same as block_start for array models).
  NanoTime windows_start = kUnsetTime;
  // The piece's StationBlock::time_shift_ns: every output time of the block is its time from
  // block_start plus the last piece's (earlier pieces carry the value known so far).
  NanoTime time_shift_ns = 0;
  // The piece's StationBlock::data_until (grid time, without the shift): the data it waited for.
  NanoTime data_until = kUnsetTime;
  // Not empty when some window of this piece failed in the model even when run alone: the reason.
  // Its outputs are missing from the traces (NaN where no other window covered them).
  std::string failure;
};

}  // namespace rapid
