// Windower stage: the window grid over a block and the per-window normalisation — the one
// place where a window gets normalised.
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <vector>

#include "models/model_spec.h"

namespace rapid {

// Window start offsets for a block of `block_samples`: 0, stride, 2·stride, … while the window
// fits, plus — for array models, not point models (ModelSpec::PointOutput) — one final window
// ending at the last sample when the grid does not reach it (SeisBench's grids). Empty when
// block_samples < in_samples. REQUIRES: spec.StrideSamples() > 0.
std::vector<int64_t> WindowStarts(int64_t block_samples, const ModelSpec& spec);

// Cuts the window starting at `start` from the `channels` rows of `rows` (row c at
// rows + c·row_stride) and normalises it as SeisBench's annotate_batch_pre does on float32
// tensors: each channel is demeaned, then divided by
// (std + 1e-10) (unbiased std per channel or over all channels) or (max|x| + 1e-10), per
// spec.norm (kDemeanOnly: not divided; kStdPerChannelPopulation: EQCCTPro's, see model_spec.h);
// kStdAllChannelsTapered then tapers the first and last 6 samples
// of each channel.
// Writes channels × in_samples floats to `out`. Non-finite samples are treated as 0 so a window
// never produces NaN. REQUIRES: in_samples >= 12 for kStdAllChannelsTapered.
void NormaliseWindow(const float* rows, int64_t row_stride, int64_t channels, int64_t start, int64_t in_samples,
                     WindowNorm norm, float* out);

}  // namespace rapid
