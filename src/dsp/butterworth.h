// Butterworth low-pass design and zero-phase filtering, matching ObsPy's
// `lowpass(data, freq, df, corners, zerophase=True)` (scipy iirfilter → zpk2sos → sosfilt
// forward, then backward, zero initial state).
// Thread safety: pure functions.
#pragma once

#include <array>
#include <vector>

namespace rapid {

// One second-order section: b0 b1 b2 / (1 a1 a2).
struct Biquad {
  double b0, b1, b2, a1, a2;
};

// Digital Butterworth low-pass of even order `corners` with cutoff `cutoff_hz` at sample rate
// `rate_hz`, as cascaded sections (bilinear transform with pre-warping, zeros at z = -1, unit DC
// gain). A cutoff at or above Nyquist is clamped just below it, as ObsPy does (it clamps to 1.0 of
// Nyquist). REQUIRES: corners even and > 0, 0 < cutoff_hz, rate_hz > 0.
std::vector<Biquad> DesignButterworthLowpass(int corners, double cutoff_hz, double rate_hz);

// Runs the cascade forward with zero initial state, in place.
void FilterSections(const std::vector<Biquad>& sections, std::vector<double>* samples);

// Forward pass, then a pass over the reversed output (zero phase, squared magnitude response).
void FilterSectionsZeroPhase(const std::vector<Biquad>& sections, std::vector<double>* samples);

}  // namespace rapid
