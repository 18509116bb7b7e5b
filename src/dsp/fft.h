// Real FFTs of any length. The interface the DSP uses; the implementation
// (src/models/torch_fft.cc) is the pocketfft inside libtorch (already a dependency), which handles
// every length, primes included, in O(n log n). No DSP file includes libtorch's headers.
// Thread safety: pure functions.
#pragma once

#include <complex>
#include <vector>

namespace rapid {

// Forward real FFT: n real samples → n/2 + 1 complex bins (unnormalised, e^{-2πi kn/N}).
std::vector<std::complex<double>> RealFft(const std::vector<double>& samples);

// Inverse of RealFft for an output of `n` samples (normalised by 1/n). Only the first n/2 + 1 bins
// are used; the imaginary parts of bin 0 and (for even n) bin n/2 are ignored.
// REQUIRES: spectrum.size() == n / 2 + 1, n > 0.
std::vector<double> InverseRealFft(const std::vector<std::complex<double>>& spectrum, int64_t n);

}  // namespace rapid
