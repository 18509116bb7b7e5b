// The oneDNN backend's steps that are not oneDNN primitives: plain loops over one window's
// channels-last values (what oneDNN does slowly here, or not at all). Each kernel computes one
// graph node from its inputs' values; all of them live in buffers the compiled model owns, so a
// kernel holds pointers and only its own scratch.
// Thread safety: a kernel runs on one thread at a time (its model's).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "backends/onednn/conv_lowering.h"
#include "models/graph.h"

namespace rapid::onednn {

// One node's value in one window, channels-last: length × width rows of `channels` floats, the
// rows contiguous (a crop in time is a pointer offset).
struct View {
  float* data = nullptr;
  int64_t channels = 0, length = 0, width = 1;
  // Rows of zeros that stay before `data` and after its rows (a buffer's margins, which nothing
  // writes): a convolution reading this value may take its padding from them (OnednnModel).
  int64_t zero_rows_before = 0, zero_rows_after = 0;
  int64_t Rows() const { return length * width; }
};

class LoopKernel {
 public:
  virtual ~LoopKernel() = default;
  // Computes the node's value for the window now in its inputs.
  virtual void Run() = 0;
};

// The kernel of node `n` reading `inputs` (the values of n.inputs, in order) into `output` (a
// buffer of n's shape). Null when `n` is not an op computed by a loop: the input, a convolution,
// or an op that is only a new view of its input (see IsView).
std::unique_ptr<LoopKernel> MakeLoopKernel(const GraphNode& n, std::vector<View> inputs, View output);

// Sets `floats` floats at `data` to zero on every run (the rows a convolution computed before a
// crop, or after its value, made a zero margin for the next convolution: View::zero_rows_before).
std::unique_ptr<LoopKernel> MakeZeroFill(float* data, int64_t floats);

// Copies 2-D value `in` into `out` from row and column `offset` on every run (out: a larger
// buffer whose border stays zero).
std::unique_ptr<LoopKernel> MakeBorderedCopy(View in, View out, int64_t offset);

// Whether op `n` changes only how its input's memory is read, channels-last: a crop in time, and
// the reshapes kToPatches, kFromPatches and kFlattenWidth (their output rows are the input's
// memory, regrouped). *out is then the view of n's value over `input`.
bool IsView(const GraphNode& n, const View& input, View* out);

// The kernels of ops of their own files.
std::unique_ptr<LoopKernel> MakeLstmKernel(const GraphNode& n, View gates, View output);
std::unique_ptr<LoopKernel> MakeDotAttentionKernel(const GraphNode& n, std::vector<View> inputs, View output);
// kSpectrogram: `output` frames × frequencies rows (length × width) of n.channels floats.
std::unique_ptr<LoopKernel> MakeSpectrogramKernel(const GraphNode& n, View input, View output);
std::unique_ptr<LoopKernel> MakeAdditiveAttentionKernel(const GraphNode& n, View query, View key, View value,
                                                        View output);

// A convolution to at most this many output channels runs as a loop (narrow_conv_kernel.cc),
// when it is a plain stride-1 1-D convolution: oneDNN's kernels vectorise along output channels.
// (Wider ones that leave vectors partly empty run in output phases instead, conv_lowering.h.)
constexpr int64_t kNarrowConvChannels = 2;
bool RunsAsNarrowConv(const ConvLayer& layer);
// `layer` (batch norm already folded) over `input` into `output`, then ReLU when `relu`.
// REQUIRES: RunsAsNarrowConv(layer); input.channels == layer.InChannels().
std::unique_ptr<LoopKernel> MakeNarrowConvKernel(ConvLayer layer, bool relu, View input, View output);

}  // namespace rapid::onednn
