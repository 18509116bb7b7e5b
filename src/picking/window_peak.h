// Picker stage for independent windows (EQCCTPro's native EQCCT mode, `--preset eqcctpro`): at
// most one pick per window and label — the best local maximum of that window's curve — instead of
// triggers on a stacked trace (picking/picker.h).
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <vector>

#include "core/nano_time.h"
#include "picking/picker.h"

namespace rapid {

// numpy.round(numpy.float32(p), 3): rounded in float32 arithmetic, halves to even.
float RoundToThousandths(float p);

struct WindowPeak {
  int64_t index = -1;  // sample of the pick in the window; -1: none
  float value = 0.0f;  // its probability rounded to 3 decimals (RoundToThousandths)
};

// EQCCTPro's _picker over one window's curve of `n` samples: the candidates are the local maxima
// (a rise onto the sample, then no rise after it: the first sample of a plateau) whose
// probability is at least `threshold`, the first and last samples excluded; the pick is the
// candidate with the largest rounded probability, the earliest among equals.
WindowPeak PickWindowPeak(const float* curve, int64_t n, double threshold);

// What one window gave: its start and its picks (at most one per label, in label order).
struct WindowPicks {
  NanoTime start = kUnsetTime;
  std::vector<Pick> picks;
};

}  // namespace rapid
