// Stitcher stage: combines the predictions of overlapping windows of one block into continuous
// per-label probability traces (SeisBench's reassembly: blinding, then NaN-ignoring avg or max).
// Thread safety: not thread-safe; one stitcher per block, fed by one thread.
#pragma once

#include <cstdint>
#include <vector>

#include "models/model_spec.h"

namespace rapid {

class Stitcher {
 public:
  // A block of `block_samples` samples; windows of spec.in_samples, spec.Labels() labels.
  // `spec` is borrowed and must outlive the stitcher.
  Stitcher(const ModelSpec& spec, int64_t block_samples);

  // Adds the prediction of the window starting at `window_start`: labels × in_samples floats.
  // Windows may arrive in any order. REQUIRES: window_start + in_samples <= block_samples.
  void Add(int64_t window_start, const float* prediction);

  // The stacked traces, label-major (labels × block_samples). Samples no window covered (after
  // blinding) are NaN.
  std::vector<std::vector<float>> Finish() const;

  int64_t windows_added() const { return windows_added_; }

 private:
  const ModelSpec& spec_;
  int64_t block_samples_;
  std::vector<double> acc_;      // labels × block_samples: sum (avg) or running max (max)
  std::vector<int32_t> count_;   // block_samples: windows covering each sample
  int64_t windows_added_ = 0;
};

// Leading and trailing NaN count of a trace (SeisBench trims them from annotations).
void NanMargins(const std::vector<float>& trace, int64_t* leading, int64_t* trailing);

}  // namespace rapid
