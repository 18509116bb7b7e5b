// The FFT of dsp/fft.h on libtorch's pocketfft: the only torch use outside the models, kept with
// them so torch headers stay under src/models (issue 20 replaces it with a library of its own).
#include "dsp/fft.h"

#include <ATen/ATen.h>

#include <cassert>
#include <cstring>

namespace rapid {

std::vector<std::complex<double>> RealFft(const std::vector<double>& samples) {
  at::Tensor x = at::from_blob(const_cast<double*>(samples.data()), {static_cast<int64_t>(samples.size())},
                               at::kDouble);
  at::Tensor spectrum = at::fft_rfft(x).contiguous();
  std::vector<std::complex<double>> out(static_cast<size_t>(spectrum.numel()));
  std::memcpy(out.data(), spectrum.data_ptr(), out.size() * sizeof(std::complex<double>));
  return out;
}

std::vector<double> InverseRealFft(const std::vector<std::complex<double>>& spectrum, int64_t n) {
  assert(n > 0 && static_cast<int64_t>(spectrum.size()) == n / 2 + 1);
  std::vector<std::complex<double>> bins = spectrum;
  bins.front().imag(0.0);
  if (n % 2 == 0) bins.back().imag(0.0);
  at::Tensor s = at::from_blob(bins.data(), {static_cast<int64_t>(bins.size())}, at::kComplexDouble);
  at::Tensor x = at::fft_irfft(s, n).contiguous();
  std::vector<double> out(static_cast<size_t>(n));
  std::memcpy(out.data(), x.data_ptr(), out.size() * sizeof(double));
  return out;
}

}  // namespace rapid
