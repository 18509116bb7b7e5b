#include "backends/onednn/output_head.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "backends/fast_math.h"
#include "backends/onednn/float_lanes.h"
#include "core/vector_loops.h"

namespace rapid::onednn {

RAPID_VECTOR_LOOPS void VectorExp(const float* x, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = FastExp(x[i]);
}

namespace {

// out (in.channels × length) = `in` channels-first.
void Transpose(const ChannelsLast& in, int64_t length, float* out) {
  for (int64_t t = 0; t < length; ++t) {
    for (int64_t c = 0; c < in.channels; ++c) out[c * length + t] = in.data[t * in.channels + c];
  }
}

// out (labels × length) = the scores in channels-first order.
RAPID_VECTOR_LOOPS void Scores(const std::vector<ChannelsLast>& in, int64_t length, const PointwiseHead* head,
            std::vector<float>* scratch, float* out) {
  if (head == nullptr) return Transpose(in[0], length, out);
  // The inputs channels-first (and so concatenated) first, so every loop below runs along time.
  const int64_t in_channels = head->channels;
  scratch->resize(static_cast<size_t>(in_channels * length));
  float* x = scratch->data();
  for (const ChannelsLast& part : in) {
    Transpose(part, length, x);
    x += part.channels * length;
  }
  x = scratch->data();
  for (int64_t l = 0; l < head->labels; ++l) {
    float* y = out + l * length;
    const float b = head->bias[static_cast<size_t>(l)];
    for (int64_t t = 0; t < length; ++t) y[t] = b;
    for (int64_t c = 0; c < in_channels; ++c) {
      const float w = head->weight[static_cast<size_t>(l * in_channels + c)];
      const float* xc = x + c * length;
      for (int64_t t = 0; t < length; ++t) y[t] += w * xc[t];
    }
  }
}

RAPID_VECTOR_LOOPS void Softmax(int64_t labels, int64_t length, float* out) {
  for (int64_t t0 = 0; t0 < length; t0 += 256) {
    const int64_t n = std::min<int64_t>(256, length - t0);
    float top[256], sum[256];
    std::copy_n(out + t0, n, top);
    for (int64_t l = 1; l < labels; ++l) {
      const float* y = out + l * length + t0;
      for (int64_t i = 0; i < n; ++i) top[i] = std::max(top[i], y[i]);
    }
    std::fill_n(sum, n, 0.0f);
    for (int64_t l = 0; l < labels; ++l) {
      float* y = out + l * length + t0;
      for (int64_t i = 0; i < n; ++i) y[i] -= top[i];
      VectorExp(y, n, y);
      for (int64_t i = 0; i < n; ++i) sum[i] += y[i];
    }
    for (int64_t l = 0; l < labels; ++l) {
      float* y = out + l * length + t0;
      for (int64_t i = 0; i < n; ++i) y[i] /= sum[i];
    }
  }
}

// The head of PhaseNet and PhaseNetLight read channels-last, one pass over time per input of 8
// channels: that input's part of the 1×1 convolution to 3 labels added to the bias (the first
// input) or to `out` (the next ones), then after the last input (kSoftmax) the softmax over the
// labels. The same arithmetic, in the same order, as Scores and Softmax above, without their
// transposed copy of the inputs. Eight samples go at a time, their 8×8 block of inputs transposed
// into one vector per channel (GCC's own vectorisation of the loop over samples gathered the
// channels element by element: 20 µs of a PhaseNet window on an AVX2 core); the rest one by one.
constexpr int kHeadChannels = 8, kHeadLabels = 3;

template <bool kFirst, bool kSoftmax>
[[gnu::always_inline]] inline void FusedHead(const float* x, int64_t length, const PointwiseHead& head, int64_t part,
                                             float* out) {
  float w[kHeadLabels][kHeadChannels], b[kHeadLabels];
  for (int l = 0; l < kHeadLabels; ++l) {
    b[l] = head.bias[static_cast<size_t>(l)];
    for (int c = 0; c < kHeadChannels; ++c) {
      w[l][c] = head.weight[static_cast<size_t>(l * head.channels + part * kHeadChannels + c)];
    }
  }
  float b8[kHeadLabels][8];
  for (int l = 0; l < kHeadLabels; ++l) std::fill_n(b8[l], 8, b[l]);
  int64_t t = 0;
  for (; t + 8 <= length; t += 8) {
    Floats8 in[kHeadChannels];
    LoadChannels8(x + t * kHeadChannels, in);  // in[c]: channel c at samples t .. t + 7
    Floats8 y[kHeadLabels];
    for (int l = 0; l < kHeadLabels; ++l) {
      y[l] = Load8(kFirst ? b8[l] : out + l * length + t);
      for (int c = 0; c < kHeadChannels; ++c) y[l] += w[l][c] * in[c];
    }
    if constexpr (kSoftmax) {
      Floats8 top = y[0], sum = Floats8{};
      for (int l = 1; l < kHeadLabels; ++l) top = top < y[l] ? y[l] : top;  // std::max's choice
      float e[kHeadLabels * 8];
      for (int l = 0; l < kHeadLabels; ++l) Store8(e + 8 * l, y[l] - top);
      for (float& v : e) v = FastExp(v);
      for (int l = 0; l < kHeadLabels; ++l) {
        y[l] = Load8(e + 8 * l);
        sum += y[l];
      }
      for (int l = 0; l < kHeadLabels; ++l) y[l] /= sum;
    }
    for (int l = 0; l < kHeadLabels; ++l) Store8(out + l * length + t, y[l]);
  }
  for (; t < length; ++t) {
    float y[kHeadLabels];
    for (int l = 0; l < kHeadLabels; ++l) {
      y[l] = kFirst ? b[l] : out[l * length + t];
      for (int c = 0; c < kHeadChannels; ++c) y[l] += w[l][c] * x[t * kHeadChannels + c];
    }
    if constexpr (kSoftmax) {
      float top = y[0], sum = 0.0f;
      for (int l = 1; l < kHeadLabels; ++l) top = std::max(top, y[l]);
      for (int l = 0; l < kHeadLabels; ++l) {
        y[l] = FastExp(y[l] - top);
        sum += y[l];
      }
      for (int l = 0; l < kHeadLabels; ++l) y[l] /= sum;
    }
    for (int l = 0; l < kHeadLabels; ++l) out[l * length + t] = y[l];
  }
}

// Input `part` of the head: first or not, last (softmax) or not.
RAPID_VECTOR_LOOPS void FusedHeadPart(const float* x, int64_t length, const PointwiseHead& head, int64_t part,
                                      bool first, bool softmax, float* out) {
  if (first) {
    softmax ? FusedHead<true, true>(x, length, head, part, out) : FusedHead<true, false>(x, length, head, part, out);
  } else {
    softmax ? FusedHead<false, true>(x, length, head, part, out) : FusedHead<false, false>(x, length, head, part, out);
  }
}

// FusedHead where it applies: inputs of 8 channels (one for PhaseNet, two for PhaseNetLight), 3
// labels. (One input of 16 channels read with a stride of 16 was slower than Scores, measured.)
bool TryFusedHead(const std::vector<ChannelsLast>& in, int64_t length, const PointwiseHead* head, bool softmax,
                  float* out) {
  if (head == nullptr || head->labels != kHeadLabels) return false;
  for (const ChannelsLast& part : in) {
    if (part.channels != kHeadChannels) return false;
  }
  const int64_t parts = static_cast<int64_t>(in.size());
  for (int64_t p = 0; p < parts; ++p) {
    FusedHeadPart(in[static_cast<size_t>(p)].data, length, *head, p, p == 0, softmax && p == parts - 1, out);
  }
  return true;
}

}  // namespace

void EmitScores(const std::vector<ChannelsLast>& in, int64_t length, const PointwiseHead* head,
                OutputActivation activation, bool probabilities, std::vector<float>* scratch, float* out) {
  const bool softmax = activation == OutputActivation::kSoftmaxOverLabels;
  if ((softmax || !probabilities) && TryFusedHead(in, length, head, probabilities, out)) return;
  Scores(in, length, head, scratch, out);
  if (!probabilities) return;
  const int64_t labels = head != nullptr ? head->labels : in[0].channels;
  if (softmax) return Softmax(labels, length, out);
  const int64_t n = labels * length;
  for (int64_t i = 0; i < n; ++i) out[i] = -out[i];
  VectorExp(out, n, out);
  for (int64_t i = 0; i < n; ++i) out[i] = 1.0f / (1.0f + out[i]);
}

}  // namespace rapid::onednn
