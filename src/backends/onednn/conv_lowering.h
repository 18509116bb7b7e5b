// How the oneDNN backend rewrites a graph's convolutions before handing them to oneDNN; pure
// arithmetic on weights, no oneDNN. Weights stay in PyTorch's layouts (graph.h).
//   - Batch norm after a convolution is folded into its weights and bias.
//   - A transposed convolution of stride s becomes a stride-1 convolution with s·out channels,
//     one group per output phase (polyphase): its output, read in channels-last order, is the
//     transposed convolution's output directly. oneDNN's own deconvolution is about 10× slower here.
//   - A stride-1 convolution whose output channels leave oneDNN's vectors partly empty (3–8, 10,
//     20, 40, …) computes several consecutive output samples per step (output phases as
//     channels): its output, read channels-last, is the convolution's. A 2-D one does the same
//     along the width, any stride.
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
  bool two_d = false;         // a kConv2d: stride and padding apply to both axes, but see below
  int64_t stride = 1, pad_left = 0, pad_right = 0;
  // 2-D only, when width_stride > 0: the width's stride and right padding, which then differ from
  // the height's (output phases along the width, WidthPhases; the kernel is then wider than high).
  int64_t width_stride = 0, width_pad_right = 0;

  int64_t OutChannels() const { return weight.shape[transposed ? 1 : 0]; }
  int64_t InChannels() const { return weight.shape[transposed ? 0 : 1]; }
  int64_t Kernel() const { return weight.shape[2]; }  // 1-D: taps; 2-D: rows of taps
  int64_t WidthStride() const { return width_stride > 0 ? width_stride : stride; }
  int64_t WidthPadRight() const { return width_stride > 0 ? width_pad_right : pad_right; }
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

// The convolution equivalent to stride-1 `layer` that computes `phases` consecutive output samples
// per step: stride `phases`, phases × out channels (channel r·out + o is output sample m·phases + r,
// channel o), kernel + phases − 1 taps. Read channels-last, its output is the layer's output over
// `in_length` input samples, plus up to phases − 1 samples past the end; *blocks: its output steps,
// blocks·phases ≥ the layer's output length.
// REQUIRES: a stride-1 1-D layer, phases > 1.
ConvLayer OutputPhases(const ConvLayer& layer, int64_t phases, int64_t in_length, int64_t* blocks);

// The vector instructions oneDNN's convolution kernels use on this CPU, as far as the choice of
// output phases cares: AVX-512 (`brgconv:avx512_core`, 16 floats a vector) or narrower
// (`jit:avx2`, 8).
enum class ConvIsa { kAvx512, kAvx2 };

// The phases OutputPhases should use for a stride-1 1-D `layer` to 3 or more channels, else 1
// (none): the count a cost model of `isa`'s kernels (conv_lowering.cc) predicts fastest, used where
// it predicts 10 % or more. Phases fill the vectors at the cost of (kernel + phases − 1)/kernel the
// multiply-adds. AVX-512: a layer to 8 channels runs at half speed, 20 at about 60 %; one thread,
// ONEDNN_VERBOSE: PhaseNet's 8→8 kernel-7 layers over 3001 samples 0.048 → 0.028 ms as 2 phases;
// EQCCT's 3→3 kernel-11 over 6000 0.059 → 0.016 ms as 5; its 20→20 0.98 → 0.72–0.76 ms as 4 (as 3,
// 6 % slower: a partial vector costs more than its share), 10→10 0.28 → 0.24 as 3, 20→40 about
// 1.55 → 1.37 as 2, 40→40 over 150 samples 0.075 → 0.070 as 2; 10 as 20 was slower. AVX2 (a Zen 3
// core): 8→8 kernel 7 0.056 ms, as 2 phases 0.040, as 3 0.036; EQCCT's 20→20 is fastest as it is
// (0.80 ms; as 4, 0.84) and its 3→3 as 8 phases (0.036 ms; as 5, 0.042).
int64_t OutputPhasesFor(const ConvLayer& layer, ConvIsa isa);

// The phases WidthPhases should use for 2-D `layer` whose output is `out_width` columns wide, else
// 1: as OutputPhasesFor, along the width (each phase adds `stride` columns of taps), among the
// counts that divide out_width — so that every output row is whole steps and the phased output,
// read channels-last, is the layer's. CRED's 8-channel 7×7 layers on its 38 × 21 maps as 3 phases:
// 0.121 → 0.096 ms on the AVX2 Zen 3; its first (3 → 8, 9×9, stride 2) 0.079 → 0.057.
int64_t WidthPhasesFor(const ConvLayer& layer, int64_t out_width, ConvIsa isa);

// The 2-D convolution that computes `phases` consecutive output columns of 2-D `layer` per step, as
// phases × out channels (channel r·out + o is column m·phases + r, channel o): width stride
// stride·phases, stride·(phases − 1) more columns of taps, over an input `in_width` wide.
// REQUIRES: WidthPhasesFor(layer, its output width) == phases > 1.
ConvLayer WidthPhases(const ConvLayer& layer, int64_t phases, int64_t in_width);
constexpr int64_t kMaxOutputPhases = 8;  // the most OutputPhasesFor returns

// *layer split along its input channels into parts of `part_channels` (summing to InChannels());
// the first part keeps the bias, the others have none. One part: the layer itself (2-D too).
std::vector<ConvLayer> SplitInputs(const ConvLayer& layer, const std::vector<int64_t>& part_channels);

}  // namespace rapid::onednn
