#include "dsp/linear_interp.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace rapid {

namespace {

// UTCDateTime.timestamp: nanoseconds / 1e9, correctly rounded to a double.
double EpochSeconds(NanoTime t) { return static_cast<double>(static_cast<long double>(t) / 1e9L); }

// numpy.linspace(first, last, n)[i]: i · step + first, the last point exactly `last`.
struct Linspace {
  double first, last, step;
  int64_t n;
  Linspace(double first_s, double last_s, int64_t count)
      : first(first_s), last(last_s), step(count > 1 ? (last_s - first_s) / static_cast<double>(count - 1) : 0.0),
        n(count) {}
  double operator[](int64_t i) const { return i == n - 1 ? last : static_cast<double>(i) * step + first; }
};

}  // namespace

std::vector<double> InterpolateLinearObspy(const std::vector<double>& samples, NanoTime start, double rate_hz,
                                           double new_rate_hz) {
  const int64_t n = static_cast<int64_t>(samples.size());
  if (n <= 1) return samples;
  const double old_dt = 1.0 / rate_hz, new_dt = 1.0 / new_rate_hz;
  const double start_s = EpochSeconds(start);
  // Stats.endtime = starttime + (npts − 1) · delta, added to the UTCDateTime in whole nanoseconds.
  const NanoTime end = start + std::llround(static_cast<double>(n - 1) * old_dt * 1e9);
  const int64_t new_n = static_cast<int64_t>(std::floor((EpochSeconds(end) - start_s) / new_dt)) + 1;
  const Linspace old_t(start_s, start_s + old_dt * static_cast<double>(n - 1), n);
  const Linspace new_t(start_s, start_s + new_dt * static_cast<double>(new_n - 1), new_n);
  std::vector<double> out(static_cast<size_t>(new_n));
  int64_t hi = 1;  // searchsorted(old_t, t, 'left') clipped to [1, n − 1]; t only grows
  for (int64_t j = 0; j < new_n; ++j) {
    const double t = new_t[j];
    while (hi < n - 1 && old_t[hi] < t) ++hi;
    const int64_t lo = hi - 1;
    const double x_lo = old_t[lo], x_hi = old_t[hi];
    const double slope = (samples[hi] - samples[lo]) / (x_hi - x_lo);
    out[j] = slope * (t - x_lo) + samples[lo];
  }
  return out;
}

}  // namespace rapid
