#include "engine/stitcher.h"

#include <cmath>
#include <limits>

namespace rapid {

Stitcher::Stitcher(const ModelSpec& spec, int64_t block_samples)
    : spec_(spec),
      block_samples_(block_samples),
      acc_(static_cast<size_t>(spec.Labels() * block_samples),
           spec.stacking == Stacking::kMax ? -std::numeric_limits<double>::infinity() : 0.0),
      count_(static_cast<size_t>(block_samples), 0) {}

void Stitcher::Add(int64_t window_start, const float* prediction) {
  const int64_t in = spec_.in_samples;
  const int64_t from = spec_.blinding_pre_samples;
  const int64_t to = in - spec_.blinding_post_samples;
  for (int64_t i = from; i < to; ++i) ++count_[static_cast<size_t>(window_start + i)];
  for (int64_t l = 0; l < spec_.Labels(); ++l) {
    double* acc = acc_.data() + l * block_samples_ + window_start;
    const float* p = prediction + l * in;
    if (spec_.stacking == Stacking::kAvg) {
      for (int64_t i = from; i < to; ++i) acc[i] += p[i];
    } else {
      for (int64_t i = from; i < to; ++i) acc[i] = std::max(acc[i], static_cast<double>(p[i]));
    }
  }
  ++windows_added_;
}

std::vector<std::vector<float>> Stitcher::Finish() const {
  std::vector<std::vector<float>> traces(static_cast<size_t>(spec_.Labels()));
  for (int64_t l = 0; l < spec_.Labels(); ++l) {
    auto& t = traces[static_cast<size_t>(l)];
    t.resize(static_cast<size_t>(block_samples_));
    const double* acc = acc_.data() + l * block_samples_;
    for (int64_t i = 0; i < block_samples_; ++i) {
      const int32_t n = count_[static_cast<size_t>(i)];
      if (n == 0) {
        t[static_cast<size_t>(i)] = std::numeric_limits<float>::quiet_NaN();
      } else {
        t[static_cast<size_t>(i)] = static_cast<float>(spec_.stacking == Stacking::kAvg ? acc[i] / n : acc[i]);
      }
    }
  }
  return traces;
}

void NanMargins(const std::vector<float>& trace, int64_t* leading, int64_t* trailing) {
  const int64_t n = static_cast<int64_t>(trace.size());
  int64_t a = 0;
  while (a < n && std::isnan(trace[static_cast<size_t>(a)])) ++a;
  int64_t b = 0;
  while (b < n - a && std::isnan(trace[static_cast<size_t>(n - 1 - b)])) ++b;
  *leading = a;
  *trailing = b;
}

}  // namespace rapid
