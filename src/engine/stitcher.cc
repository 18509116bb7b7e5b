#include "engine/stitcher.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace rapid {

namespace {
constexpr float kNan = std::numeric_limits<float>::quiet_NaN();
}  // namespace

int64_t Stitcher::Coverage(const ModelSpec& spec) {
  if (spec.PointOutput()) return 1;
  return static_cast<int64_t>(
      std::ceil(static_cast<double>(spec.in_samples) / static_cast<double>(spec.StrideSamples()) + 1.0));
}

Stitcher::Stitcher(const ModelSpec& spec, int64_t out_samples)
    : spec_(spec),
      out_samples_(out_samples),
      coverage_(Coverage(spec)),
      slots_(static_cast<size_t>(coverage_ * spec.Labels() * out_samples), kNan) {}

void Stitcher::Add(int64_t window_index, int64_t out_start, const float* prediction) {
  const int64_t n = spec_.OutSamples();
  const int64_t from = spec_.PointOutput() ? 0 : spec_.blinding_pre_samples;
  // Clipped at the trace's end: a model with fewer outputs than inputs maps windows by a rounded
  // factor (ModelSpec::OutputIndex), so the end-aligned window may reach one sample past it.
  const int64_t to = std::min(spec_.PointOutput() ? n : n - spec_.blinding_post_samples, out_samples_ - out_start);
  const int64_t slot = window_index % coverage_;
  for (int64_t l = 0; l < spec_.Labels(); ++l) {
    float* dst = slots_.data() + (slot * spec_.Labels() + l) * out_samples_ + out_start;
    const float* p = prediction + l * n;
    for (int64_t i = from; i < to; ++i) dst[i] = p[i];
  }
}

std::vector<float> Stitcher::Tail(int64_t from) const {
  const int64_t rows = coverage_ * spec_.Labels(), n = out_samples_ - from;
  std::vector<float> tail(static_cast<size_t>(rows * n));
  for (int64_t r = 0; r < rows; ++r) {
    std::copy_n(slots_.begin() + r * out_samples_ + from, n, tail.begin() + r * n);
  }
  return tail;
}

void Stitcher::MergeHead(const std::vector<float>& tail) {
  const int64_t rows = coverage_ * spec_.Labels(), n = static_cast<int64_t>(tail.size()) / rows;
  // Two windows of one slot never share a sample, so at most one of the two values is set.
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t i = 0; i < n && i < out_samples_; ++i) {
      const float v = tail[static_cast<size_t>(r * n + i)];
      if (!std::isnan(v)) slots_[static_cast<size_t>(r * out_samples_ + i)] = v;
    }
  }
}

std::vector<std::vector<float>> Stitcher::Finish(int64_t from, int64_t to) const {
  const int64_t labels = spec_.Labels(), n = to - from;
  const bool avg = spec_.stacking == Stacking::kAvg;
  std::vector<std::vector<float>> traces(static_cast<size_t>(labels));
  // Slot by slot over a tile of samples (vectorisable; the tile's sums stay in L1), each
  // sample's values taken in slot order, so the float sums round exactly as a per-sample loop
  // over the slots would.
  constexpr int64_t kTile = 2048;
  float acc[kTile];
  int32_t count[kTile];
  for (int64_t l = 0; l < labels; ++l) {
    auto& t = traces[static_cast<size_t>(l)];
    t.resize(static_cast<size_t>(n));
    for (int64_t t0 = 0; t0 < n; t0 += kTile) {
      const int64_t m = std::min(kTile, n - t0);
      std::fill_n(acc, m, 0.0f);
      std::fill_n(count, m, 0);
      for (int64_t s = 0; s < coverage_; ++s) {
        const float* slot = slots_.data() + (s * labels + l) * out_samples_ + from + t0;
        if (avg) {
          for (int64_t i = 0; i < m; ++i) {
            const bool present = !std::isnan(slot[i]);
            acc[i] += present ? slot[i] : 0.0f;
            count[i] += present ? 1 : 0;
          }
        } else {
          for (int64_t i = 0; i < m; ++i) {
            const bool present = !std::isnan(slot[i]);
            acc[i] = present && (count[i] == 0 || slot[i] > acc[i]) ? slot[i] : acc[i];
            count[i] += present ? 1 : 0;
          }
        }
      }
      float* dst = t.data() + t0;
      for (int64_t i = 0; i < m; ++i) {
        dst[i] = count[i] == 0 ? kNan : avg ? acc[i] / static_cast<float>(count[i]) : acc[i];
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
