// A graph-level rewrite for decoders that upsample and then convolve (EQTransformer): nearest
// upsampling by `factor` followed by a stride-1 convolution equals one transposed convolution of
// stride `factor`. Output sample t = factor·q + r (phase r) reads the upsampled samples t + k −
// pad_left, which are the input samples q + ⌊(r + k − pad_left)/factor⌋; the taps of phase r that
// land on the same input sample are summed into one tap of the transposed kernel. The transposed
// form does about kernel/factor + 1 multiplications per output sample instead of kernel, and the
// upsampled value is never built (the oneDNN backend runs it as a polyphase convolution).
// Thread safety: pure functions.
#pragma once

#include <cstdint>

#include "models/graph.h"

namespace rapid {

// The transposed convolution equal to Conv1d(Upsample(x, factor), weight, bias, 1, pad_left,
// pad_right) over an input of `in_length` samples: *transposed gets its weight (in × out ×
// kernel'), *crop_left / *crop_right its ConvTranspose1d pad_left / pad_right. False (outputs
// untouched) when that convolution has no transposed equal the graph can hold (its output would
// need more output padding than factor − 1).
// REQUIRES: weight out × in × kernel; factor ≥ 1; pads ≥ 0.
bool UpsampledConvAsTransposed(const WeightTensor& weight, int64_t factor, int64_t in_length, int64_t pad_left,
                               int64_t pad_right, WeightTensor* transposed, int64_t* crop_left, int64_t* crop_right);

// Adds Conv1d(Upsample(x, factor), weight, bias, 1, pad_left, pad_right) to *g as the one
// transposed convolution it equals when there is one, else as the two nodes. Returns the id of
// the node giving the convolution's output (the graph's error rules apply: -1 after an error).
int UpsampledConv(Graph* g, int x, int64_t factor, WeightTensor weight, WeightTensor bias, int64_t pad_left,
                  int64_t pad_right);

}  // namespace rapid
