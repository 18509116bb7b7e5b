// Stitcher stage: combines the predictions of overlapping windows of one block into continuous
// per-label probability traces, exactly as SeisBench reassembles them: window i of the block's grid
// goes to slot i mod coverage (coverage = ceil(in / stride + 1) windows can overlap one sample),
// blinded samples are left out, and each sample is the NaN-ignoring mean (float32, slot order) or
// max over the slots. Because every window has its own slot, the result does not depend on the
// order in which windows arrive.
// A long block may be stitched in pieces (engine/station_stream.h): each piece's stitcher takes the
// slots of the samples it shares with the previous piece (Tail → MergeHead), so a piece's samples
// end up with exactly the values the whole block's stitcher would give them.
// Thread safety: Add may be called concurrently for distinct windows; the rest after all Adds.
#pragma once

#include <cstdint>
#include <vector>

#include "models/model_spec.h"

namespace rapid {

class Stitcher {
 public:
  // A block (or piece of a block) of `block_samples` samples. `spec` is borrowed and must outlive
  // the stitcher.
  Stitcher(const ModelSpec& spec, int64_t block_samples);

  // Adds the prediction (labels × in_samples floats) of the window with grid index `window_index`
  // (counted from the block's first window) starting at sample `window_start` of this piece.
  // REQUIRES: window_start + in_samples <= block_samples; each window index is added once.
  void Add(int64_t window_index, int64_t window_start, const float* prediction);

  // The slots of samples [from, block_samples), for the next piece, which begins at `from`.
  std::vector<float> Tail(int64_t from) const;
  // Merges a previous piece's Tail into this piece's first samples.
  void MergeHead(const std::vector<float>& tail);

  // The stacked traces of samples [from, to), label-major (labels × (to − from)). Samples no window
  // covered (after blinding) are NaN.
  std::vector<std::vector<float>> Finish(int64_t from, int64_t to) const;

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
