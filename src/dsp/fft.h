// Real FFTs of any length, in double precision and O(n log n), primes included. Implemented in
// src/dsp/fft.cc: RAPID's own vectorised mixed-radix transform (src/dsp/complex_fft.h) for lengths
// whose prime factors are small, and Bluestein's (chirp-z) transform, a convolution done with it,
// for lengths with a large prime factor.
// Thread safety: safe to call from several threads at once (plans are cached per length behind a
// mutex and never modified once built).
#pragma once

#include <complex>
#include <cstdint>
#include <vector>

namespace rapid {

// The plans of recent lengths are kept for reuse up to this many bytes in all (least recently used
// out first; a larger plan is not kept): enough for the two plans of resampling a day from 40 Hz,
// the inverse's a 137 MB Bluestein plan for odd 100 Hz day lengths without a small factor.
inline constexpr int64_t kFftPlanCacheBytes = int64_t{192} << 20;

// Forward real FFT: n real samples → n/2 + 1 complex bins (unnormalised, e^{-2πi kn/N}).
std::vector<std::complex<double>> RealFft(const std::vector<double>& samples);

// Inverse of RealFft for an output of `n` samples (normalised by 1/n). Only the first n/2 + 1 bins
// are used; the imaginary parts of bin 0 and (for even n) bin n/2 are ignored.
// REQUIRES: spectrum.size() == n / 2 + 1, n > 0.
std::vector<double> InverseRealFft(const std::vector<std::complex<double>>& spectrum, int64_t n);

}  // namespace rapid
