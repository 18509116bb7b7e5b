#include "backends/onednn/output_head.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "backends/fast_math.h"
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

}  // namespace

void EmitScores(const std::vector<ChannelsLast>& in, int64_t length, const PointwiseHead* head,
                OutputActivation activation, bool probabilities, std::vector<float>* scratch, float* out) {
  Scores(in, length, head, scratch, out);
  if (!probabilities) return;
  const int64_t labels = head != nullptr ? head->labels : in[0].channels;
  if (activation == OutputActivation::kSoftmaxOverLabels) return Softmax(labels, length, out);
  const int64_t n = labels * length;
  for (int64_t i = 0; i < n; ++i) out[i] = -out[i];
  VectorExp(out, n, out);
  for (int64_t i = 0; i < n; ++i) out[i] = 1.0f / (1.0f + out[i]);
}

}  // namespace rapid::onednn
