// A stride-1 convolution to very few output channels (EQTransformer's kernel-11 convolutions to one
// trace) as a loop: oneDNN vectorises along output channels, which one channel leaves almost
// empty (0.16 ms for 6000 samples × 8 channels × 11 taps). Here the input is laid out
// channels-first a chunk at a time, with its zero padding, and each output channel is accumulated
// along time in blocks of registers, every (channel, tap) one multiply-add per block.
#include <algorithm>
#include <vector>

#include "backends/onednn/float_lanes.h"
#include "backends/onednn/loop_kernels.h"
#include "core/vector_loops.h"

namespace rapid::onednn {

namespace {

constexpr int64_t kBlock = 32;  // output samples per block of accumulators

// y[t·y_stride] = bias + Σ_c Σ_k w[c·kernel + k]·x[c·x_stride + t + k] for t < length, then ReLU
// when asked. REQUIRES: x readable up to x[(channels − 1)·x_stride + ⌈length/kBlock⌉·kBlock +
// kernel − 1]. Compiled for AVX-512, AVX2 + FMA and the baseline, picked at load time.
RAPID_VECTOR_LOOPS void ConvolveChannel(
    const float* x, int64_t x_stride, int64_t channels, const float* w, int64_t kernel, float bias, bool relu,
    int64_t length, float* y, int64_t y_stride) {
  for (int64_t t0 = 0; t0 < length; t0 += kBlock) {
    float acc[kBlock];
    for (int64_t j = 0; j < kBlock; ++j) acc[j] = bias;
    for (int64_t c = 0; c < channels; ++c) {
      const float* xc = x + c * x_stride + t0;
      for (int64_t k = 0; k < kernel; ++k) {
        const float wk = w[c * kernel + k];
        for (int64_t j = 0; j < kBlock; ++j) acc[j] += wk * xc[k + j];
      }
    }
    if (relu) {
      for (int64_t j = 0; j < kBlock; ++j) acc[j] = std::max(acc[j], 0.0f);
    }
    const int64_t n = std::min(kBlock, length - t0);
    for (int64_t j = 0; j < n; ++j) y[(t0 + j) * y_stride] = acc[j];
  }
}

// rows[c·row_stride + t] = x[t·channels + c] for c < channels, t < length: channels-last to one row
// per channel. Eight channels (EQTransformer's last decoder stage) go eight samples at a time as
// 8×8 transposes of vectors: the loop GCC vectorised for them took 3.7 % of an EQTransformer window
// on an AVX2 core (1.3 % with AVX-512). Compiled per x86-64 level.
RAPID_VECTOR_LOOPS void ToRows(const float* __restrict x, int64_t length, int64_t channels, float* __restrict rows,
                               int64_t row_stride) {
  int64_t t0 = 0;
  if (channels == 8) {
    for (; t0 + 8 <= length; t0 += 8) {
      Floats8 a[8];
      LoadChannels8(x + t0 * 8, a);
      for (int64_t c = 0; c < 8; ++c) Store8(rows + c * row_stride + t0, a[c]);
    }
  }
  for (int64_t c = 0; c < channels; ++c) {
    for (int64_t t = t0; t < length; ++t) rows[c * row_stride + t] = x[t * channels + c];
  }
}

class NarrowConv : public LoopKernel {
 public:
  NarrowConv(ConvLayer layer, bool relu, View in, View out)
      : layer_(std::move(layer)), relu_(relu), in_(in), out_(out) {
    // Each channel's row of a chunk: its kChunk outputs' inputs, then zeros past every read of the
    // last block.
    row_ = kChunk + layer_.Kernel() - 1;
    rows_.assign(static_cast<size_t>(in.channels * row_), 0.0f);
  }

  // Chunk by chunk: the inputs of kChunk outputs channels-first (zero outside the input: the
  // padding), then every output channel over them. A chunk's rows stay in L1, which the whole input
  // laid out at once (EQTransformer: 6000 samples × 8 channels, 192 KB) did not: the narrow
  // convolutions took 4.5 % of an EQTransformer window that way, 3.6 % in chunks (perf).
  void Run() override {
    const int64_t channels = in_.channels, in = layer_.InChannels(), k = layer_.Kernel();
    for (int64_t t0 = 0; t0 < out_.length; t0 += kChunk) {
      const int64_t first = t0 - layer_.pad_left;  // input sample of row position 0
      const int64_t from = std::min(row_, std::max<int64_t>(0, -first));
      const int64_t to = std::clamp(in_.length - first, from, row_);
      // Zeros where the chunk's rows are outside the input (the padding); the input over the rest.
      for (int64_t c = 0; c < channels; ++c) {
        float* row = rows_.data() + c * row_;
        std::fill(row, row + from, 0.0f);
        std::fill(row + to, row + row_, 0.0f);
      }
      if (to > from) ToRows(in_.data + (first + from) * channels, to - from, channels, rows_.data() + from, row_);
      const int64_t length = std::min(kChunk, out_.length - t0);
      for (int64_t o = 0; o < out_.channels; ++o) {
        ConvolveChannel(rows_.data(), row_, in, layer_.weight.values.data() + o * in * k, k,
                        layer_.bias[static_cast<size_t>(o)], relu_, length, out_.data + t0 * out_.channels + o,
                        out_.channels);
      }
    }
  }

 private:
  static constexpr int64_t kChunk = 8 * kBlock;  // outputs per chunk

  ConvLayer layer_;
  bool relu_;
  View in_, out_;
  int64_t row_;
  std::vector<float> rows_;  // one chunk's input channels-first, zero-padded: channels × row_
};

}  // namespace

bool RunsAsNarrowConv(const ConvLayer& layer) {
  return !layer.transposed && !layer.two_d && layer.stride == 1 && layer.OutChannels() <= kNarrowConvChannels;
}

std::unique_ptr<LoopKernel> MakeNarrowConvKernel(ConvLayer layer, bool relu, View input, View output) {
  return std::make_unique<NarrowConv>(std::move(layer), relu, input, output);
}

}  // namespace rapid::onednn
