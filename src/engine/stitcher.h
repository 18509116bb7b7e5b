// Stitcher stage: combines the predictions of overlapping windows of one block into continuous
// per-label probability traces, exactly as SeisBench reassembles them: window i of the block's grid
// goes to slot i mod coverage (coverage = ceil(in / stride + 1) windows can overlap one sample),
// blinded samples are left out, and each sample is the NaN-ignoring mean (float32, slot order) or
// max over the slots. Because every window has its own slot, the result does not depend on the
// order in which windows arrive.
// Point models (ModelSpec::PointOutput) have one slot: output sample k is window k's prediction.
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
  // Output traces of `out_samples` samples for a block (or piece of a block): its sample count for
  // array models, its window count for point models. `spec` is borrowed and must outlive the
  // stitcher.
  Stitcher(const ModelSpec& spec, int64_t out_samples);

  // Adds the prediction (labels × spec.OutSamples() floats) of the window with grid index
  // `window_index` (counted from the block's first window) whose output begins at sample
  // `out_start` of this piece's traces (array models: the window's first input sample; point
  // models: the window's index within the piece).
  // Outputs past the end of the trace are dropped. REQUIRES: each window index is added once.
  void Add(int64_t window_index, int64_t out_start, const float* prediction);

  // The slots of samples [from, out_samples), for the next piece, which begins at `from`.
  std::vector<float> Tail(int64_t from) const;
  // Merges a previous piece's Tail into this piece's first samples.
  void MergeHead(const std::vector<float>& tail);

  // The stacked traces of samples [from, to), label-major (labels × (to − from)). Samples no window
  // covered (after blinding) are NaN.
  std::vector<std::vector<float>> Finish(int64_t from, int64_t to) const;

  // Windows that can overlap one sample: SeisBench's int(ceil(in / stride + 1)); 1 for point models.
  static int64_t Coverage(const ModelSpec& spec);

 private:
  const ModelSpec& spec_;
  int64_t out_samples_;
  int64_t coverage_;
  std::vector<float> slots_;  // coverage × labels × out_samples, NaN where a slot has no data
};

// Leading and trailing NaN count of a trace (SeisBench trims them from annotations).
void NanMargins(const std::vector<float>& trace, int64_t* leading, int64_t* trailing);

}  // namespace rapid
