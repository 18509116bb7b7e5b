#include "backends/onednn/conv_lowering.h"

#include <algorithm>
#include <cmath>

namespace rapid::onednn {

ConvLayer LayerOf(const GraphNode& conv) {
  ConvLayer layer;
  layer.weight = conv.weight;
  layer.transposed = conv.op == OpKind::kConvTranspose1d;
  layer.two_d = conv.op == OpKind::kConv2d;
  layer.stride = conv.stride;
  layer.pad_left = conv.pad_left;
  layer.pad_right = conv.pad_right;
  layer.bias = conv.bias.empty() ? std::vector<float>(static_cast<size_t>(layer.OutChannels()), 0.0f)
                                 : conv.bias.values;
  return layer;
}

void FoldBatchNorm(const GraphNode& bn, ConvLayer* layer) {
  const int64_t in = layer->InChannels(), out = layer->OutChannels();
  const int64_t k = static_cast<int64_t>(layer->weight.values.size()) / (in * out);  // taps: kernel or kernel²
  for (int64_t o = 0; o < out; ++o) {
    const size_t oc = static_cast<size_t>(o);
    const double scale =
        static_cast<double>(bn.weight.values[oc]) / std::sqrt(static_cast<double>(bn.var.values[oc]) + bn.eps);
    const double shifted = static_cast<double>(layer->bias[oc]) - static_cast<double>(bn.mean.values[oc]);
    layer->bias[oc] = static_cast<float>(shifted * scale + static_cast<double>(bn.bias.values[oc]));
    for (int64_t i = 0; i < in; ++i) {
      // out × in × k, or in × out × k when transposed
      const int64_t row = layer->transposed ? i * out + o : o * in + i;
      float* w = layer->weight.values.data() + row * k;
      for (int64_t j = 0; j < k; ++j) w[j] = static_cast<float>(w[j] * scale);
    }
  }
}

namespace {

// A layer computing `phases` output phases of `layer` as channels: weight phases·out × in × taps
// (× `rows` rows of taps first, for a 2-D layer) of zeros (the caller places the taps), bias
// repeated per phase.
ConvLayer PhasedLayer(const ConvLayer& layer, int64_t phases, int64_t taps, int64_t rows = 0) {
  const int64_t in = layer.InChannels(), out = layer.OutChannels();
  ConvLayer phased;
  phased.two_d = rows > 0;
  phased.weight.shape = phased.two_d ? std::vector<int64_t>{phases * out, in, rows, taps}
                                     : std::vector<int64_t>{phases * out, in, taps};
  phased.weight.values.assign(static_cast<size_t>(phases * out * in * std::max<int64_t>(rows, 1) * taps), 0.0f);
  for (int64_t r = 0; r < phases; ++r) phased.bias.insert(phased.bias.end(), layer.bias.begin(), layer.bias.end());
  return phased;
}

}  // namespace

ConvLayer Polyphase(const ConvLayer& layer, int64_t in_length, int64_t full_length, int64_t* blocks) {
  const int64_t s = layer.stride, k = layer.Kernel(), in = layer.InChannels(), out = layer.OutChannels();
  const int64_t taps = (k + s - 1) / s;
  // Output sample m·s + r takes input m − j through tap r + s·j; tap q of the stride-1 kernel
  // reads input m − (taps − 1) + q, so j = taps − 1 − q.
  ConvLayer phased = PhasedLayer(layer, s, taps);
  for (int64_t r = 0; r < s; ++r) {
    for (int64_t o = 0; o < out; ++o) {
      for (int64_t c = 0; c < in; ++c) {
        for (int64_t q = 0; q < taps; ++q) {
          const int64_t tap = r + s * (taps - 1 - q);
          if (tap >= k) continue;
          phased.weight.values[static_cast<size_t>(((r * out + o) * in + c) * taps + q)] =
              layer.weight.values[static_cast<size_t>((c * out + o) * k + tap)];
        }
      }
    }
  }
  *blocks = std::max((full_length + s - 1) / s, in_length);
  phased.pad_left = taps - 1;
  phased.pad_right = *blocks - in_length;
  return phased;
}

namespace {

// The time per output sample of a convolution to `out` channels, `kernel` taps, computed in
// `phases` output phases that each add `step` taps (the stride), relative to a layer whose
// channels fill whole vectors.
// AVX-512 (brgconv): the kernels vectorise along output channels, 16 floats a vector, and a masked
// partial vector costs a quarter more than a full one. Fitted to EQCCT's and PhaseNet's layers
// (one thread, ONEDNN_VERBOSE; see OutputPhasesFor).
double Avx512Cost(int64_t out, int64_t kernel, int64_t phases, int64_t step) {
  const int64_t channels = out * phases;
  const double vectors = static_cast<double>(channels / 16) + (channels % 16 == 0 ? 0.0 : 1.25);
  return vectors / (static_cast<double>(channels) / 16.0) * static_cast<double>(kernel + (phases - 1) * step) /
         static_cast<double>(kernel);
}

// AVX2 (jit:avx2): output channels go in blocks of 8 (the last one padded), the blocks in groups of
// four, and a group of fewer blocks runs each block slower — as measured on a Zen 3 core, time per
// multiply-add against a group of four (any input channels, kernels 7 and 11, 3000 samples): three
// blocks 1.0, two 1.2, one 1.93 (8 channels 20.6 ps, 16 12.8, 24 and 32 10.6; 40 12.7, 48 11.4, 56
// 10.6, 72 11.9, 80 11.1, 104 11.5, 112 11.0, 128 10.7). Scaled by the taps and divided by the
// phases: the time per output sample of the layer.
double Avx2Cost(int64_t out, int64_t kernel, int64_t phases, int64_t step) {
  constexpr double kGroupOf[4] = {0.0, 1.93, 2 * 1.2, 3 * 1.0};  // time of a group of r < 4 blocks
  const int64_t blocks = (out * phases + 7) / 8;
  const double block_time = static_cast<double>(blocks - blocks % 4) + kGroupOf[blocks % 4];
  return block_time * static_cast<double>(kernel + (phases - 1) * step) / static_cast<double>(phases);
}

// The phase count of 2..kMaxOutputPhases that `allowed` accepts and the cost model of `isa`
// predicts fastest, if it predicts at least 10 % less time than none; else 1.
template <typename Allowed>
int64_t BestPhases(ConvIsa isa, int64_t out, int64_t kernel, int64_t step, Allowed allowed) {
  auto cost = [&](int64_t phases) {
    return isa == ConvIsa::kAvx512 ? Avx512Cost(out, kernel, phases, step) : Avx2Cost(out, kernel, phases, step);
  };
  constexpr double kMinGain = 0.9;
  int64_t best = 1;
  for (int64_t p = 2; p <= kMaxOutputPhases; ++p) {
    if (allowed(p) && cost(p) < cost(best)) best = p;
  }
  return cost(best) < kMinGain * cost(1) ? best : 1;
}

}  // namespace

int64_t OutputPhasesFor(const ConvLayer& layer, ConvIsa isa) {
  const bool plain = !layer.transposed && !layer.two_d && layer.stride == 1;
  if (!plain || layer.OutChannels() < 3) return 1;
  return BestPhases(isa, layer.OutChannels(), layer.Kernel(), 1, [](int64_t) { return true; });
}

int64_t WidthPhasesFor(const ConvLayer& layer, int64_t out_width, ConvIsa isa) {
  if (!layer.two_d || layer.width_stride > 0 || layer.OutChannels() < 3) return 1;
  return BestPhases(isa, layer.OutChannels(), layer.Kernel(), layer.stride,
                    [out_width](int64_t p) { return out_width % p == 0; });
}

ConvLayer WidthPhases(const ConvLayer& layer, int64_t phases, int64_t in_width) {
  const int64_t p = phases, s = layer.stride, k = layer.Kernel(), in = layer.InChannels(), out = layer.OutChannels();
  const int64_t taps = k + s * (p - 1);
  ConvLayer phased = PhasedLayer(layer, p, taps, k);
  // Column m·p + r reads input column (m·p + r)·s + j − pad_left through tap column j; the phased
  // kernel's tap column q reads m·p·s + q − pad_left, so phase r's column q is the layer's q − r·s.
  for (int64_t r = 0; r < p; ++r) {
    for (int64_t o = 0; o < out; ++o) {
      for (int64_t c = 0; c < in; ++c) {
        for (int64_t i = 0; i < k; ++i) {
          const float* row = layer.weight.values.data() + ((o * in + c) * k + i) * k;
          std::copy_n(row, k, phased.weight.values.data() + (((r * out + o) * in + c) * k + i) * taps + r * s);
        }
      }
    }
  }
  const int64_t out_width = (in_width + layer.pad_left + layer.pad_right - k) / s + 1;
  phased.stride = s;
  phased.pad_left = layer.pad_left;
  phased.pad_right = layer.pad_right;
  phased.width_stride = s * p;
  // At least the columns the last step reads; more, as the layer's own, only drop off the end.
  phased.width_pad_right = std::max<int64_t>(0, (out_width / p - 1) * s * p + taps - in_width - layer.pad_left);
  return phased;
}

ConvLayer OutputPhases(const ConvLayer& layer, int64_t phases, int64_t in_length, int64_t* blocks) {
  const int64_t p = phases, k = layer.Kernel(), in = layer.InChannels(), out = layer.OutChannels();
  const int64_t taps = k + p - 1;
  // Output sample m·p + r reads input m·p + r + j − pad_left through tap j; the strided kernel's
  // tap q reads input m·p + q − pad_left, so phase r's tap q is the layer's tap q − r.
  ConvLayer phased = PhasedLayer(layer, p, taps);
  for (int64_t r = 0; r < p; ++r) {
    for (int64_t o = 0; o < out; ++o) {
      for (int64_t c = 0; c < in; ++c) {
        for (int64_t j = 0; j < k; ++j) {
          phased.weight.values[static_cast<size_t>(((r * out + o) * in + c) * taps + r + j)] =
              layer.weight.values[static_cast<size_t>((o * in + c) * k + j)];
        }
      }
    }
  }
  const int64_t out_length = in_length + layer.pad_left + layer.pad_right - k + 1;
  *blocks = (out_length + p - 1) / p;
  phased.stride = p;
  phased.pad_left = layer.pad_left;
  phased.pad_right = (*blocks - 1) * p + taps - in_length - layer.pad_left;
  return phased;
}

std::vector<ConvLayer> SplitInputs(const ConvLayer& layer, const std::vector<int64_t>& part_channels) {
  if (part_channels.size() == 1) return {layer};
  const int64_t in = layer.InChannels(), out = layer.OutChannels(), k = layer.Kernel();
  std::vector<ConvLayer> parts;
  int64_t first = 0;
  for (int64_t channels : part_channels) {
    ConvLayer part = layer;
    part.weight.values.clear();
    if (layer.transposed) {  // in × out × k: the part's input channels are one block
      part.weight.shape = {channels, out, k};
      const float* block = layer.weight.values.data() + first * out * k;
      part.weight.values.assign(block, block + channels * out * k);
    } else {
      part.weight.shape = {out, channels, k};
      for (int64_t o = 0; o < out; ++o) {
        const float* row = layer.weight.values.data() + (o * in + first) * k;
        part.weight.values.insert(part.weight.values.end(), row, row + channels * k);
      }
    }
    if (!parts.empty()) part.bias.clear();
    parts.push_back(std::move(part));
    first += channels;
  }
  return parts;
}

}  // namespace rapid::onednn
