#include "engine/windower.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "core/vector_loops.h"

namespace rapid {

std::vector<int64_t> WindowStarts(int64_t block_samples, const ModelSpec& spec) {
  const int64_t in = spec.in_samples, stride = spec.StrideSamples();
  std::vector<int64_t> starts;
  for (int64_t s = 0; s + in <= block_samples; s += stride) starts.push_back(s);
  if (!spec.PointOutput() && !starts.empty() && starts.back() + in < block_samples) starts.push_back(block_samples - in);
  return starts;
}

namespace {

// SeisBench's EQTransformer/EQCCT window taper: sample i of each end is scaled by
// 0.5·(1 + cos(π + i·π/5)), i = 0..5, rounded to float32 as torch computes it.
void TaperEnds(int64_t channels, int64_t in_samples, float* out) {
  constexpr int kTaper = 6;
  constexpr double kPi = 3.14159265358979323846;
  float taper[kTaper];
  for (int i = 0; i < kTaper; ++i) taper[i] = static_cast<float>(0.5 * (1.0 + std::cos(kPi + i * kPi / (kTaper - 1))));
  for (int64_t c = 0; c < channels; ++c) {
    float* row = out + c * in_samples;
    for (int i = 0; i < kTaper; ++i) {
      row[i] *= taper[i];
      row[in_samples - 1 - i] *= taper[i];
    }
  }
}

}  // namespace

namespace {

// The loops below keep kLanes partial results (sums in double) so that the compiler vectorises
// them without reordering any one sum: a window is normalised per batch slot on the instance
// threads, between forward calls, and scalar loops took 14 us of a ~1 ms window.
constexpr int kLanes = 8;

// `v`, or 0 when it is NaN or infinite (bitwise, so the loop has no branch).
inline float FiniteOrZero(float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  bits &= (bits & 0x7f800000u) == 0x7f800000u ? 0u : ~0u;
  std::memcpy(&v, &bits, sizeof v);
  return v;
}

// Copies `n` samples to `dst`, non-finite ones as 0; returns their sum.
RAPID_VECTOR_LOOPS double CopyFinite(const float* src, int64_t n, float* dst) {
  double part[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int k = 0; k < kLanes; ++k) {
      const float v = FiniteOrZero(src[i + k]);
      dst[i + k] = v;
      part[k] += static_cast<double>(v);
    }
  }
  for (; i < n; ++i) {
    dst[i] = FiniteOrZero(src[i]);
    part[0] += static_cast<double>(dst[i]);
  }
  double sum = 0.0;
  for (double p : part) sum += p;
  return sum;
}

// Subtracts `mean` from `n` samples in place; returns the sum of their squares.
RAPID_VECTOR_LOOPS double Centre(float mean, int64_t n, float* x) {
  double part[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int k = 0; k < kLanes; ++k) {
      const float d = x[i + k] - mean;
      part[k] += static_cast<double>(d) * static_cast<double>(d);
      x[i + k] = d;
    }
  }
  for (; i < n; ++i) {
    x[i] -= mean;
    part[0] += static_cast<double>(x[i]) * static_cast<double>(x[i]);
  }
  double sum = 0.0;
  for (double p : part) sum += p;
  return sum;
}

// The largest magnitude of `n` samples.
RAPID_VECTOR_LOOPS float Peak(const float* x, int64_t n) {
  float top[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int k = 0; k < kLanes; ++k) top[k] = std::max(top[k], std::abs(x[i + k]));
  }
  for (; i < n; ++i) top[0] = std::max(top[0], std::abs(x[i]));
  return *std::max_element(top, top + kLanes);
}

}  // namespace

namespace {

// WindowNorm::kStdPerChannelPopulation as NumPy computes it on a float32 (samples × channels)
// window: every sum in float32, one sample after the other (a reduction along axis 0), the
// variance around the mean of the already demeaned channel (np.std recomputes it).
void NormalisePopulationStd(const float* rows, int64_t row_stride, int64_t channels, int64_t start, int64_t in_samples,
                            float* out) {
  const float n = static_cast<float>(in_samples);
  for (int64_t c = 0; c < channels; ++c) {
    float* x = out + c * in_samples;
    CopyFinite(rows + c * row_stride + start, in_samples, x);
    float sum = 0.0f;
    for (int64_t i = 0; i < in_samples; ++i) sum += x[i];
    const float mean = sum / n;
    float centred_sum = 0.0f;
    for (int64_t i = 0; i < in_samples; ++i) {
      x[i] -= mean;
      centred_sum += x[i];
    }
    const float centred_mean = centred_sum / n;
    float sq = 0.0f;
    for (int64_t i = 0; i < in_samples; ++i) {
      const float d = x[i] - centred_mean;
      sq += d * d;
    }
    float std = std::sqrt(sq / n);
    if (std == 0.0f) std = 1.0f;
    for (int64_t i = 0; i < in_samples; ++i) x[i] /= std;
  }
}

}  // namespace

void NormaliseWindow(const float* rows, int64_t row_stride, int64_t channels, int64_t start, int64_t in_samples,
                     WindowNorm norm, float* out) {
  if (norm == WindowNorm::kStdPerChannelPopulation) {
    NormalisePopulationStd(rows, row_stride, channels, start, in_samples, out);
    return;
  }
  constexpr double kEps = 1e-10;
  double total_sq = 0.0;
  for (int64_t c = 0; c < channels; ++c) {
    float* dst = out + c * in_samples;
    const double sum = CopyFinite(rows + c * row_stride + start, in_samples, dst);
    // SeisBench normalises float32 tensors: the mean is rounded to float32 before it is
    // subtracted, which matters for windows with a large offset (raw counts).
    const float mean = static_cast<float>(sum / static_cast<double>(in_samples));
    const double sq = Centre(mean, in_samples, dst);
    total_sq += sq;
    if (norm == WindowNorm::kStdPerChannel || norm == WindowNorm::kPeakPerChannel) {
      const float scale = norm == WindowNorm::kStdPerChannel
                              ? static_cast<float>(std::sqrt(sq / static_cast<double>(in_samples - 1)))
                              : Peak(dst, in_samples);
      const float denom = scale + static_cast<float>(kEps);
      for (int64_t i = 0; i < in_samples; ++i) dst[i] = dst[i] / denom;
    }
  }
  if (norm == WindowNorm::kStdAllChannels || norm == WindowNorm::kStdAllChannelsTapered) {
    const float denom =
        static_cast<float>(std::sqrt(total_sq / static_cast<double>(channels * in_samples - 1))) + static_cast<float>(kEps);
    for (int64_t i = 0; i < channels * in_samples; ++i) out[i] = out[i] / denom;
  }
  if (norm == WindowNorm::kStdAllChannelsTapered) TaperEnds(channels, in_samples, out);
}

}  // namespace rapid
