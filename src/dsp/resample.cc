#include "dsp/resample.h"

#include <algorithm>
#include <cmath>
#include <complex>
#include <numbers>

#include "dsp/butterworth.h"
#include "dsp/fft.h"

namespace rapid {

namespace {

constexpr int kLowpassCorners = 4;

// np.interp on a uniform grid xp[j] = j * dx (j = 0..n-1), clamping outside.
double InterpUniform(double x, double dx, const std::vector<double>& fp) {
  const size_t n = fp.size();
  if (x <= 0.0) return fp.front();
  double pos = x / dx;
  size_t j = static_cast<size_t>(pos);
  if (j >= n - 1) return fp.back();
  double x0 = static_cast<double>(j) * dx;
  double slope = (fp[j + 1] - fp[j]) / dx;
  return slope * (x - x0) + fp[j];
}

// The first `bins` values of the periodic Hann window of length n, ifft-shifted so its peak sits at
// zero frequency: w[k] = 0.5 − 0.5·cos(2π(k + n/2)/n). The cosines come from rotating a unit
// vector one step at a time, re-anchored with std::cos/sin every kAnchor steps (libm's cos per bin
// was a tenth of the resampling's time); the rotation's error over kAnchor steps is ~1e-13.
std::vector<double> ShiftedHann(int64_t n, size_t bins) {
  constexpr size_t kAnchor = 1024;
  const double step = 2.0 * std::numbers::pi / static_cast<double>(n);
  const double cos_step = std::cos(step), sin_step = std::sin(step);
  std::vector<double> w(bins);
  for (size_t k0 = 0; k0 < bins; k0 += kAnchor) {
    const double angle = step * static_cast<double>((static_cast<int64_t>(k0) + n / 2) % n);
    double c = std::cos(angle), s = std::sin(angle);
    for (size_t k = k0; k < std::min(bins, k0 + kAnchor); ++k) {
      w[k] = 0.5 - 0.5 * c;
      const double next_c = c * cos_step - s * sin_step;
      s = s * cos_step + c * sin_step;
      c = next_c;
    }
  }
  return w;
}

void FourierResample(double rate_hz, double target_hz, std::vector<double>* samples) {
  const int64_t n = static_cast<int64_t>(samples->size());
  const int64_t num = FourierResampledLength(n, rate_hz, target_hz);
  if (num <= 0) {
    samples->clear();
    return;
  }
  std::vector<std::complex<double>> spectrum = RealFft(*samples);
  const size_t bins = static_cast<size_t>(n / 2 + 1);
  const std::vector<double> window = ShiftedHann(n, bins);
  std::vector<double> re(bins), im(bins);
  for (size_t k = 0; k < bins; ++k) {
    re[k] = spectrum[k].real() * window[k];
    im[k] = spectrum[k].imag() * window[k];
  }
  // Nyquist bin of an even-length input carries no imaginary part (FFTPACK's packing drops it).
  if (n % 2 == 0) im[bins - 1] = 0.0;
  im[0] = 0.0;
  const double delta_s = 1.0 / rate_hz;
  const double df = 1.0 / (static_cast<double>(n) * delta_s);
  const double d_large_f = 1.0 / static_cast<double>(num) * target_hz;
  const size_t new_bins = static_cast<size_t>(num / 2 + 1);
  std::vector<std::complex<double>> resampled(new_bins);
  for (size_t k = 0; k < new_bins; ++k) {
    double f = d_large_f * static_cast<double>(k);
    resampled[k] = {InterpUniform(f, df, re), InterpUniform(f, df, im)};
  }
  std::vector<double> out = InverseRealFft(resampled, num);
  const double scale = static_cast<double>(num) / static_cast<double>(n);
  for (double& v : out) v *= scale;
  *samples = std::move(out);
}

}  // namespace

ResampleMethod ChooseResampleMethod(double rate_hz, double target_hz) {
  if (rate_hz == target_hz) return ResampleMethod::kNone;
  if (std::fmod(rate_hz, target_hz) == 0.0) return ResampleMethod::kDecimate;
  return ResampleMethod::kFourier;
}

int64_t FourierResampledLength(int64_t n, double rate_hz, double target_hz) {
  const double factor = rate_hz / target_hz;
  return static_cast<int64_t>(static_cast<double>(n) / factor);
}

Status ResampleSegment(double rate_hz, double target_hz, std::vector<double>* samples) {
  if (!(rate_hz > 0.0) || !(target_hz > 0.0)) {
    return Status::InvalidArgument("resample: rates must be positive");
  }
  if (samples->empty()) return Status::OK();
  switch (ChooseResampleMethod(rate_hz, target_hz)) {
    case ResampleMethod::kNone:
      return Status::OK();
    case ResampleMethod::kDecimate: {
      FilterSectionsZeroPhase(DesignButterworthLowpass(kLowpassCorners, 0.5 * target_hz, rate_hz), samples);
      const size_t step = static_cast<size_t>(std::llround(rate_hz / target_hz));
      std::vector<double> kept;
      kept.reserve(samples->size() / step + 1);
      for (size_t i = 0; i < samples->size(); i += step) kept.push_back((*samples)[i]);
      *samples = std::move(kept);
      return Status::OK();
    }
    case ResampleMethod::kFourier:
      FourierResample(rate_hz, target_hz, samples);
      return Status::OK();
  }
  return Status::Internal("resample: unknown method");
}

}  // namespace rapid
