// A stride-1 convolution to very few output channels (EQTransformer's kernel-11 convolutions to one
// trace) as a loop: oneDNN vectorises along output channels, which one channel leaves almost
// empty (0.16 ms for 6000 samples × 8 channels × 11 taps). Here the input is laid out
// channels-first once, with its zero padding, and each output channel is accumulated along time
// in blocks of registers, every (channel, tap) one multiply-add per block.
#include <algorithm>
#include <vector>

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

class NarrowConv : public LoopKernel {
 public:
  NarrowConv(ConvLayer layer, bool relu, View in, View out)
      : layer_(std::move(layer)), relu_(relu), in_(in), out_(out) {
    const int64_t blocks = (out.length + kBlock - 1) / kBlock;
    // Each channel's row: pad_left zeros, the input, then zeros past every read of the last block.
    row_ = std::max(layer_.pad_left + in.length, blocks * kBlock + layer_.Kernel() - 1);
    rows_.assign(static_cast<size_t>(in.channels * row_), 0.0f);
  }

  void Run() override {
    const int64_t channels = in_.channels, pad = layer_.pad_left;
    for (int64_t t = 0; t < in_.length; ++t) {
      const float* x = in_.data + t * channels;
      for (int64_t c = 0; c < channels; ++c) rows_[static_cast<size_t>(c * row_ + pad + t)] = x[c];
    }
    const int64_t in = layer_.InChannels(), k = layer_.Kernel();
    for (int64_t o = 0; o < out_.channels; ++o) {
      ConvolveChannel(rows_.data(), row_, in, layer_.weight.values.data() + o * in * k, k,
                      layer_.bias[static_cast<size_t>(o)], relu_, out_.length, out_.data + o, out_.channels);
    }
  }

 private:
  ConvLayer layer_;
  bool relu_;
  View in_, out_;
  int64_t row_;
  std::vector<float> rows_;  // the input channels-first, zero-padded: channels × row_
};

}  // namespace

bool RunsAsNarrowConv(const ConvLayer& layer) {
  return !layer.transposed && !layer.two_d && layer.stride == 1 && layer.OutChannels() <= kNarrowConvChannels;
}

std::unique_ptr<LoopKernel> MakeNarrowConvKernel(ConvLayer layer, bool relu, View input, View output) {
  return std::make_unique<NarrowConv>(std::move(layer), relu, input, output);
}

}  // namespace rapid::onednn
