#include "dsp/taper.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <numbers>

namespace rapid {

int64_t TaperHalfLengthOfFraction(double fraction, int64_t n) {
  return std::min(static_cast<int64_t>(fraction * static_cast<double>(n)), n / 2);
}

int64_t TaperHalfLengthOfSeconds(double seconds, double rate_hz, int64_t n) {
  return std::min(static_cast<int64_t>(seconds * rate_hz), n / 2);
}

void CosineTaperEnds(int64_t half_length, std::vector<double>* samples) {
  const int64_t n = static_cast<int64_t>(samples->size());
  assert(2 * half_length <= n);
  if (half_length == 0) return;
  const int64_t denominator = half_length - 1;
  for (int64_t i = 0; i < half_length; ++i) {
    const double w =
        denominator == 0 ? 0.0 : 0.5 * (1.0 - std::cos(std::numbers::pi * static_cast<double>(i) / static_cast<double>(denominator)));
    (*samples)[i] *= w;
    (*samples)[n - 1 - i] *= w;
  }
}

}  // namespace rapid
