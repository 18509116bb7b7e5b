// Random graphs on the oneDNN backend against the torch backend, so that every lowering (output and
// width phases, polyphase transposed convolutions, narrow loops, split concatenations, strided and
// plain primitives) meets shapes no bundled model has: 1-D chains of convolutions (any stride,
// kernel, padding and 1–40 channels), transposed convolutions with output padding, upsampling
// followed by a convolution, pooling, crops, concatenations and residual adds of earlier values,
// standalone batch norm, ReLU, GELU and layer norm, and the output head; 2-D
// chains over a spectrogram. Each graph is compiled with the phase counts of both cost models
// (conv_lowering.h), so any machine checks the lowering an AVX-512 one and an AVX2 one choose.
// Graphs and windows come from fixed seeds: a failure names a reproducible graph.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "backend_agreement.h"
#include "models/graph.h"
#include "models/upsampled_conv.h"

namespace rapid::testing {
namespace {

constexpr int64_t kMinLength = 6, kMaxLength = 400;

// ExpectBackendsAgree with the phase counts each cost model picks (AVX-512's and AVX2's), whatever
// this CPU is: oneDNN runs this CPU's kernels either way, so one machine checks the lowering of both.
void ExpectAgreementUnderEachCostModel(std::shared_ptr<const Graph> graph, const ModelSpec& spec) {
  for (onednn::ConvIsa isa : {onednn::ConvIsa::kAvx512, onednn::ConvIsa::kAvx2}) {
    const ScopedLoweringConvIsa lowering(isa);
    SCOPED_TRACE(isa == onednn::ConvIsa::kAvx512 ? "AVX-512 cost model" : "AVX2 cost model");
    ExpectBackendsAgree(graph, spec);
  }
}

class RandomChain {
 public:
  RandomChain(unsigned seed, Graph* g) : rng_(seed), g_(g) {}

  int64_t Uniform(int64_t low, int64_t high) { return std::uniform_int_distribution<int64_t>(low, high)(rng_); }
  bool Coin() { return Uniform(0, 1) == 1; }
  std::mt19937* rng() { return &rng_; }

  // Weights of `shape` (out × in × kernel, or in × out × kernel transposed) uniform in ±√(3/fan_in),
  // fan_in = in·kernel: values keep their size along a chain, so the scores stay within a few
  // units and the agreement asked stays tight.
  WeightTensor Weights(std::vector<int64_t> shape, int64_t fan_in) {
    const float bound = std::sqrt(3.0f / static_cast<float>(fan_in));
    return Random(std::move(shape), &rng_, -bound, bound);
  }

  // x followed by one random layer (or x itself when the drawn layer would leave the lengths
  // allowed); `earlier` gains every value made.
  int Step(int x, std::vector<int>* earlier) {
    const int64_t length = g_->Node(x).length;
    int y = x;
    switch (Uniform(0, 8)) {
      case 0: y = Convolution(x, length); break;
      case 1: y = Transposed(x, length); break;
      case 2: {
        const int64_t kernel = Uniform(2, 3), stride = Uniform(1, kernel), pad = Uniform(0, 1);
        if ((length + pad - kernel) / stride + 1 >= kMinLength) y = g_->MaxPool(x, kernel, stride, pad);
        break;
      }
      case 3: y = JoinEarlier(x, length, *earlier); break;
      case 4: {
        const int64_t offset = Uniform(0, 2), cut = offset + Uniform(0, 2);
        if (length - cut >= kMinLength) y = g_->Crop(x, offset, length - cut);
        break;
      }
      case 5: y = Upsampled(x, length); break;
      case 6: y = Normalised(x); break;
      case 7: y = AddEarlier(x, *earlier); break;
      default: y = g_->Relu(RandomBatchNorm(g_, x, &rng_)); break;
    }
    earlier->push_back(y);
    return y;
  }

 private:
  // Stride 1 half the time (output phases and narrow loops apply to those), else 2–4.
  int Convolution(int x, int64_t length) {
    const int64_t out = Coin() ? Uniform(1, 12) : Uniform(13, 40), kernel = Uniform(1, 13);
    const int64_t stride = Coin() ? 1 : Uniform(2, 4);
    const int64_t pad_left = Uniform(0, kernel - 1), pad_right = Uniform(0, kernel - 1);
    const int64_t out_length = (length + pad_left + pad_right - kernel) / stride + 1;
    if (out_length < kMinLength) return x;
    WeightTensor bias = Coin() ? Random({out}, &rng_) : WeightTensor{};
    const int64_t in = g_->Node(x).channels;
    int y = g_->Conv1d(x, Weights({out, in, kernel}, in * kernel), std::move(bias), stride, pad_left, pad_right);
    if (Coin()) y = RandomBatchNorm(g_, y, &rng_);
    return Coin() ? g_->Relu(y) : y;
  }

  // PyTorch's padding and output padding (pad_right = pad_left − output padding < stride).
  int Transposed(int x, int64_t length) {
    const int64_t out = Uniform(1, 40), stride = Uniform(1, 4), kernel = Uniform(1, 9);
    const int64_t pad_left = Uniform(0, kernel - 1), pad_right = pad_left - Uniform(0, std::min(stride - 1, pad_left));
    const int64_t out_length = (length - 1) * stride + kernel - pad_left - pad_right;
    if (out_length < kMinLength || out_length > kMaxLength) return x;
    const int64_t in = g_->Node(x).channels;
    // Each output sample takes about kernel / stride taps of each input channel.
    int y = g_->ConvTranspose1d(x, Weights({in, out, kernel}, in * std::max<int64_t>(1, kernel / stride)),
                                Random({out}, &rng_), stride, pad_left, pad_right);
    return Coin() ? g_->Relu(RandomBatchNorm(g_, y, &rng_)) : y;
  }

  // Nearest upsampling by 2 or 3 then a convolution (EQTransformer's decoders), which the graph
  // holds as one transposed convolution and a crop where it can (models/upsampled_conv.h): both
  // backends run that rewrite, so this tests their transposed convolutions, not the rewrite
  // (OnednnBackendTest.UpsampledConvolutionEqualsItsTransposedConvolution does).
  int Upsampled(int x, int64_t length) {
    const int64_t factor = Uniform(2, 3), out = Uniform(1, 40), kernel = Uniform(1, 11);
    const int64_t pad_left = Uniform(0, kernel - 1), pad_right = Uniform(0, kernel - 1);
    const int64_t out_length = factor * length + pad_left + pad_right - kernel + 1;
    if (out_length < kMinLength || out_length > kMaxLength) return x;
    const int64_t in = g_->Node(x).channels;
    return UpsampledConv(g_, x, factor, Weights({out, in, kernel}, in * kernel), Random({out}, &rng_), pad_left,
                         pad_right);
  }

  // Layer norm over 8 or more channels (over fewer, two near-equal values make it amplify the
  // backends' rounding differences past what the test asks), else GELU.
  int Normalised(int x) {
    const int64_t channels = g_->Node(x).channels;
    if (channels < 8 || Coin()) return g_->Gelu(x);
    return g_->LayerNorm(x, Random({channels}, &rng_, 0.5f, 1.5f), Random({channels}, &rng_), 1e-5);
  }

  // x plus an earlier value of its shape (a residual connection), else x.
  int AddEarlier(int x, const std::vector<int>& earlier) {
    for (int e : earlier) {
      if (e != x && g_->Node(e).length == g_->Node(x).length && g_->Node(e).channels == g_->Node(x).channels) {
        return g_->Add(x, e);
      }
    }
    return x;
  }

  // x concatenated with an earlier value of its length (a skip connection), else x.
  int JoinEarlier(int x, int64_t length, const std::vector<int>& earlier) {
    std::vector<int> same;
    for (int e : earlier) {
      if (e != x && g_->Node(e).length == length) same.push_back(e);
    }
    if (same.empty()) return x;
    const int other = same[static_cast<size_t>(Uniform(0, static_cast<int64_t>(same.size()) - 1))];
    return Coin() ? g_->Concat({x, other}) : g_->Concat({other, x});
  }

  std::mt19937 rng_;
  Graph* g_;
};

TEST(OnednnRandomGraphTest, ChainsOfConvolutionsPoolingCropsAndSkipsAgreeWithTorch) {
  for (unsigned seed = 1; seed <= 300; ++seed) {
    auto g = std::make_shared<Graph>();
    RandomChain chain(seed, g.get());
    const int64_t channels = chain.Uniform(1, 3), samples = chain.Uniform(40, 300), labels = chain.Uniform(1, 3);
    int x = g->Input(channels, samples);
    std::vector<int> earlier{x};
    const int64_t layers = chain.Uniform(2, 7);
    for (int64_t i = 0; i < layers; ++i) x = chain.Step(x, &earlier);
    // The head: a pointwise convolution to the labels (PhaseNet's fused path where 8 channels
    // meet 3 labels), or a wider kernel.
    const int64_t kernel = chain.Coin() ? 1 : 3;
    const int64_t in = g->Node(x).channels;
    x = g->Conv1d(x, chain.Weights({labels, in, kernel}, in * kernel), Random({labels}, chain.rng()), 1, kernel / 2,
                  kernel / 2);
    ModelSpec spec = SmallSpec(channels, samples, labels);
    spec.out_samples = g->Node(x).length;
    g->SetOutput(x, chain.Coin() ? OutputActivation::kSoftmaxOverLabels : OutputActivation::kSigmoid);
    SCOPED_TRACE("seed " + std::to_string(seed));
    ExpectAgreementUnderEachCostModel(g, spec);
  }
}

// 2-D chains over a spectrogram (CRED's shape of network): square kernels 1–9 with "same" or no
// padding, strides 1 and 2, 1–24 channels (width phases where the channels leave vectors partly
// empty and a phase count divides the width), batch norm and ReLU absorbed or standalone, and
// residual adds where the shapes allow.
TEST(OnednnRandomGraphTest, SpectrogramConvolutionChainsAgreeWithTorch) {
  for (unsigned seed = 1; seed <= 200; ++seed) {
    auto g = std::make_shared<Graph>();
    RandomChain chain(seed, g.get());
    const int64_t channels = chain.Uniform(1, 3), samples = chain.Uniform(100, 600);
    const int64_t n_fft = 2 * chain.Uniform(2, 20), hop = chain.Uniform(n_fft / 4 + 1, n_fft);
    int x = g->Spectrogram(g->Input(channels, samples), n_fft, hop, 0.1);
    const int64_t layers = chain.Uniform(1, 4);
    for (int64_t i = 0; i < layers; ++i) {
      const int64_t in = g->Node(x).channels, length = g->Node(x).length, width = g->Node(x).width;
      const int64_t out = chain.Uniform(1, 24), kernel = 2 * chain.Uniform(0, 4) + 1;
      const int64_t stride = chain.Uniform(1, 2), pad = chain.Coin() ? kernel / 2 : 0;
      if ((std::min(length, width) + 2 * pad - kernel) / stride + 1 < 2) break;
      int y = g->Conv2d(x, chain.Weights({out, in, kernel, kernel}, in * kernel * kernel),
                        chain.Coin() ? Random({out}, chain.rng()) : WeightTensor{}, stride, pad);
      if (chain.Coin()) y = g->Relu(RandomBatchNorm(g.get(), y, chain.rng()));
      const bool same_shape = g->Node(y).channels == in && g->Node(y).length == length && g->Node(y).width == width;
      if (chain.Coin() && same_shape) y = g->Add(y, x);
      x = y;
    }
    if (chain.Coin()) x = g->Relu(RandomBatchNorm(g.get(), x, chain.rng()));
    x = g->FlattenWidth(x);
    const int64_t in = g->Node(x).channels, labels = chain.Uniform(1, 3);
    x = g->Conv1d(x, chain.Weights({labels, in, 1}, in), Random({labels}, chain.rng()), 1, 0, 0);
    ModelSpec spec = SmallSpec(channels, samples, labels);
    spec.out_samples = g->Node(x).length;
    g->SetOutput(x, OutputActivation::kSigmoid);
    SCOPED_TRACE("seed " + std::to_string(seed));
    ExpectAgreementUnderEachCostModel(g, spec);
  }
}

}  // namespace
}  // namespace rapid::testing
