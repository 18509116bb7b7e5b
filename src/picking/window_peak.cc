#include "picking/window_peak.h"

#include <cmath>

namespace rapid {

float RoundToThousandths(float p) { return std::nearbyint(p * 1000.0f) / 1000.0f; }

WindowPeak PickWindowPeak(const float* curve, int64_t n, double threshold) {
  WindowPeak best;
  for (int64_t i = 1; i + 1 < n; ++i) {
    const float v = curve[i];
    if (!(v > curve[i - 1]) || curve[i + 1] > v || static_cast<double>(v) < threshold) continue;
    const float rounded = RoundToThousandths(v);
    if (best.index < 0 || rounded > best.value) best = {i, rounded};
  }
  return best;
}

}  // namespace rapid
