// The last step of the oneDNN backend: a window's scores, channels-last, into the caller's
// channels-first output, as scores or as probabilities. When the graph ends in a 1×1 convolution
// to the labels (PhaseNet, PhaseNetLight), that convolution is done here too: three output
// channels fill a sixth of a vector register, and the loop below over time fills all of it.
// Thread safety: pure functions on caller buffers.
#pragma once

#include <cstdint>
#include <vector>

#include "models/graph.h"

namespace rapid::onednn {

// out[i] = FastExp(x[i]) for i < n (backends/fast_math.h: within 2e-7 relative of std::exp; x
// below −87 gives exp(−87), above 88 exp(88)), vectorised. out may be x.
void VectorExp(const float* x, int64_t n, float* out);

// A 1×1 convolution from `channels` to `labels` (weight labels × channels, bias labels).
struct PointwiseHead {
  int64_t channels = 0, labels = 0;
  std::vector<float> weight, bias;
};

// `length` rows of `channels` floats (channels-last).
struct ChannelsLast {
  const float* data;
  int64_t channels;
};

// With `head`, the scores are head(the inputs concatenated along channels) (REQUIRES: their
// channels sum to head->channels); without, the one input itself (labels = its channels).
// out: labels × length, the scores or (probabilities) their softmax over the labels or sigmoid.
// scratch: reused between calls, grown as needed.
void EmitScores(const std::vector<ChannelsLast>& in, int64_t length, const PointwiseHead* head,
                OutputActivation activation, bool probabilities, std::vector<float>* scratch, float* out);

}  // namespace rapid::onednn
