// Butterworth design and zero-phase filtering, matching ObsPy's `lowpass`, `highpass` and
// `bandpass(data, ..., df, corners, zerophase=True)` (scipy iirfilter → zpk2sos → sosfilt
// forward, then backward, zero initial state).
// Thread safety: pure functions.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "core/status.h"

namespace rapid {

// One second-order section: b0 b1 b2 / (1 a1 a2).
struct Biquad {
  double b0, b1, b2, a1, a2;
};

// Digital Butterworth low-pass of order `corners` with cutoff `cutoff_hz` at sample rate `rate_hz`,
// as cascaded sections (bilinear transform with pre-warping, zeros at z = -1, unit DC gain), in
// scipy's zpk2sos order. A cutoff above Nyquist is clamped to it, as ObsPy does.
// REQUIRES: corners > 0, 0 < cutoff_hz, rate_hz > 0.
std::vector<Biquad> DesignButterworthLowpass(int corners, double cutoff_hz, double rate_hz);

// Digital Butterworth high-pass of order `corners` (>= 1) with cutoff `cutoff_hz`, as scipy's
// iirfilter(corners, Wn, btype='highpass') + zpk2sos build it (pre-warped bilinear transform;
// zeros at z = 1; unit gain at Nyquist). REQUIRES: 0 < cutoff_hz < rate_hz / 2.
std::vector<Biquad> DesignButterworthHighpass(int corners, double cutoff_hz, double rate_hz);

// Digital Butterworth band-pass of order 2·`corners` (scipy's iirfilter(corners, [lo, hi],
// btype='band')): zeros at z = ±1, unit gain at the pre-warped centre frequency.
// REQUIRES: corners >= 1, 0 < low_hz < high_hz < rate_hz / 2.
std::vector<Biquad> DesignButterworthBandpass(int corners, double low_hz, double high_hz, double rate_hz);

// ObsPy's band-pass choice for a trace at `rate_hz`: the band-pass, or — when `high_hz` is at or
// above Nyquist (within 1e-6 of it, as ObsPy tests it) — a high-pass at `low_hz`, with *note
// saying so. InvalidArgument when `low_hz` is not below Nyquist (ObsPy raises there too).
Status DesignObspyBandpass(int corners, double low_hz, double high_hz, double rate_hz, std::vector<Biquad>* sections,
                           std::string* note);

// Runs the cascade forward with zero initial state, in place.
void FilterSections(const std::vector<Biquad>& sections, std::vector<double>* samples);

// Forward pass, then a pass over the reversed output (zero phase, squared magnitude response).
void FilterSectionsZeroPhase(const std::vector<Biquad>& sections, std::vector<double>* samples);

// FilterSectionsZeroPhase on each signal, bit for bit, several at once: one signal per lane of a
// vector (the recurrence of one signal leaves the floating-point units idle waiting on its last
// result; eight independent ones fill them). Signals of any lengths.
void FilterSectionsZeroPhase(const std::vector<Biquad>& sections, const std::vector<std::vector<double>*>& signals);

}  // namespace rapid
