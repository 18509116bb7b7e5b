// Stitcher stage: combines the predictions of overlapping windows of one block into continuous
// per-label probability traces, exactly as SeisBench reassembles them: window i of the block's grid
// goes to slot i mod coverage (coverage = ceil(in / stride + 1) windows can overlap one sample),
// blinded samples are left out, and each sample is the NaN-ignoring mean (float32, slot order) or
// max over the slots. Because every window has its own slot, the result does not depend on the
// order in which windows arrive.
// Thread safety: Add may be called concurrently for distinct windows; Finish after all Adds.
#pragma once

#include <cstdint>
#include <vector>

#include "models/model_spec.h"

namespace rapid {

class Stitcher {
 public:
  // A block of `block_samples` samples on the grid WindowStarts(block_samples, …).
  // `spec` is borrowed and must outlive the stitcher.
  Stitcher(const ModelSpec& spec, int64_t block_samples);

  // Adds the prediction (labels × in_samples floats) of window `window_index` of the block's grid,
  // which starts at sample `window_start`. REQUIRES: window_start + in_samples <= block_samples;
  // each window index is added once.
  void Add(int64_t window_index, int64_t window_start, const float* prediction);

  // The stacked traces, label-major (labels × block_samples). Samples no window covered (after
  // blinding) are NaN.
  std::vector<std::vector<float>> Finish() const;

  // Windows that can overlap one sample: SeisBench's int(ceil(in / stride + 1)).
  static int64_t Coverage(const ModelSpec& spec);

 private:
  const ModelSpec& spec_;
  int64_t block_samples_;
  int64_t coverage_;
  std::vector<float> slots_;  // coverage × labels × block_samples, NaN where a slot has no data
};

// Leading and trailing NaN count of a trace (SeisBench trims them from annotations).
void NanMargins(const std::vector<float>& trace, int64_t* leading, int64_t* trailing);

}  // namespace rapid
