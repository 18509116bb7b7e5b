// How the oneDNN backend rewrites a graph's convolutions before handing them to oneDNN; pure
// arithmetic on weights, no oneDNN. Weights stay in PyTorch's layouts (graph.h).
//   - Batch norm after a convolution is folded into its weights and bias.
//   - A transposed convolution of stride s becomes a stride-1 convolution with s·out channels,
//     one group per output phase (polyphase): its output, read in channels-last order, is the
//     transposed convolution's output directly. oneDNN's own deconvolution is about 10× slower here.
//   - A convolution over a concatenation becomes one convolution per part, summed, so the
//     concatenation is never built.
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <vector>

#include "models/graph.h"

namespace rapid::onednn {

// A (transposed or 2-D) convolution's parameters as the backend lowers them.
struct ConvLayer {
  WeightTensor weight;        // conv: out × in × kernel (× kernel when two_d); transposed: in × out × kernel
  std::vector<float> bias;    // one per output channel (zeros when the graph has none), or none
  bool transposed = false;
  bool two_d = false;         // a kConv2d: stride and padding apply to both axes
  int64_t stride = 1, pad_left = 0, pad_right = 0;

  int64_t OutChannels() const { return weight.shape[transposed ? 1 : 0]; }
  int64_t InChannels() const { return weight.shape[transposed ? 0 : 1]; }
  int64_t Kernel() const { return weight.shape[2]; }
};

// The layer of a kConv1d, kConvTranspose1d or kConv2d node.
ConvLayer LayerOf(const GraphNode& conv);

// Folds inference batch norm `bn` (over the layer's output channels) into *layer:
// w ← w·γ/√(var+ε) per output channel, b ← (b − mean)·γ/√(var+ε) + β.
void FoldBatchNorm(const GraphNode& bn, ConvLayer* layer);

// The stride-1 convolution equivalent to transposed *layer over an input of `in_length` samples.
// Output block m, channel r·out + o, is the transposed output sample m·stride + r, channel o, for
// m < *blocks; blocks·stride ≥ full_length, the transposed output before its cropping.
// REQUIRES: layer.transposed.
ConvLayer Polyphase(const ConvLayer& layer, int64_t in_length, int64_t full_length, int64_t* blocks);

// *layer split along its input channels into parts of `part_channels` (summing to InChannels());
// the first part keeps the bias, the others have none. One part: the layer itself (2-D too).
std::vector<ConvLayer> SplitInputs(const ConvLayer& layer, const std::vector<int64_t>& part_channels);

}  // namespace rapid::onednn
