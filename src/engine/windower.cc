#include "engine/windower.h"

#include <cmath>

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

void NormaliseWindow(const float* rows, int64_t row_stride, int64_t channels, int64_t start, int64_t in_samples,
                     WindowNorm norm, float* out) {
  constexpr double kEps = 1e-10;
  double total_sq = 0.0;
  for (int64_t c = 0; c < channels; ++c) {
    const float* src = rows + c * row_stride + start;
    float* dst = out + c * in_samples;
    double sum = 0.0;
    for (int64_t i = 0; i < in_samples; ++i) {
      float v = src[i];
      if (!std::isfinite(v)) v = 0.0f;
      dst[i] = v;
      sum += v;
    }
    // SeisBench normalises float32 tensors: the mean is rounded to float32 before it is
    // subtracted, which matters for windows with a large offset (raw counts).
    const float mean = static_cast<float>(sum / static_cast<double>(in_samples));
    double sq = 0.0;
    float peak = 0.0f;
    for (int64_t i = 0; i < in_samples; ++i) {
      const float d = dst[i] - mean;
      sq += static_cast<double>(d) * d;
      peak = std::max(peak, std::abs(d));
      dst[i] = d;
    }
    total_sq += sq;
    if (norm == WindowNorm::kStdPerChannel || norm == WindowNorm::kPeakPerChannel) {
      const float scale =
          norm == WindowNorm::kStdPerChannel ? static_cast<float>(std::sqrt(sq / static_cast<double>(in_samples - 1))) : peak;
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
