// ObsPy's `Trace.interpolate(rate, method="linear")`, reproduced in its floating-point detail:
// EQCCTPro brings every trace to 100 Hz this way, and its picks are compared row by row.
// Thread safety: pure function.
#pragma once

#include <vector>

#include "core/nano_time.h"

namespace rapid {

// The samples at `new_rate_hz` from `start` (kept as the new start time) to the last original
// sample: floor((end − start) · new_rate) + 1 of them, end = start + (n − 1) / rate_hz. As ObsPy does,
// the times of both grids are float seconds since the epoch laid out by numpy.linspace, and each
// new sample is scipy's interp1d value between its two neighbours (searchsorted from the left).
// Because the epoch timestamps carry ~0.2 µs of rounding, this is what makes the result equal
// ObsPy's to ~1e-12 rather than ~1e-5 of a sample step. REQUIRES: rates > 0.
std::vector<double> InterpolateLinearObspy(const std::vector<double>& samples, NanoTime start, double rate_hz,
                                           double new_rate_hz);

}  // namespace rapid
