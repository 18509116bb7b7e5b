#include "dsp/resample.h"

#include <algorithm>
#include <cmath>
#include <complex>
#include <numbers>

#include "core/allocator.h"
#include "dsp/butterworth.h"
#include "dsp/fft.h"

namespace rapid {

namespace {

constexpr int kLowpassCorners = 4;

// np.interp on a uniform grid xp[j] = j * dx (j = 0..n-1) of complex values, clamping outside:
// the real and imaginary parts interpolated as two real arrays would be, with one grid position.
std::complex<double> InterpUniform(double x, double dx, const std::complex<double>* fp, size_t n) {
  if (x <= 0.0) return fp[0];
  double pos = x / dx;
  size_t j = static_cast<size_t>(pos);
  if (j >= n - 1) return fp[n - 1];
  double x0 = static_cast<double>(j) * dx;
  double re = (fp[j + 1].real() - fp[j].real()) / dx * (x - x0) + fp[j].real();
  double im = (fp[j + 1].imag() - fp[j].imag()) / dx * (x - x0) + fp[j].imag();
  return {re, im};
}

// The periodic Hann window of length n, ifft-shifted so its peak sits at zero frequency:
// w[k] = 0.5 − 0.5·cos(2π(k + n/2)/n), applied to ranges of bins. libm's cos per bin was a tenth
// of the resampling's time, so bins come in blocks of kBlock: with a = 2π(k0 + n/2)/n at the
// block's start and b = 2πj/n within it, cos(a + b) = cos a·cos b − sin a·sin b from one table of
// cos b and sin b, built once (error about 1e-16; the loop vectorises). A bin's weight does not
// depend on the range it is windowed in.
class ShiftedHann {
 public:
  // For bins below `bins`.
  ShiftedHann(int64_t n, size_t bins) : n_(n), step_(2.0 * std::numbers::pi / static_cast<double>(n)) {
    for (size_t j = 0; j < std::min(bins, kBlock); ++j) {
      cos_b_.push_back(std::cos(step_ * static_cast<double>(j)));
      sin_b_.push_back(std::sin(step_ * static_cast<double>(j)));
    }
  }

  // Multiplies bins [from, to) of *spectrum by the window. REQUIRES: to <= bins.
  void Apply(size_t from, size_t to, std::complex<double>* spectrum) const {
    for (size_t k0 = from / kBlock * kBlock; k0 < to; k0 += kBlock) {
      const double angle = step_ * static_cast<double>((static_cast<int64_t>(k0) + n_ / 2) % n_);
      const double cos_a = std::cos(angle), sin_a = std::sin(angle);
      const size_t first = std::max(from, k0) - k0, end = std::min(to - k0, kBlock);
      for (size_t j = first; j < end; ++j) {
        spectrum[k0 + j] *= 0.5 - 0.5 * (cos_a * cos_b_[j] - sin_a * sin_b_[j]);
      }
    }
  }

 private:
  static constexpr size_t kBlock = 1024;
  int64_t n_;
  double step_;
  std::vector<double> cos_b_, sin_b_;
};

// ObsPy's Trace.resample (no pre-filter, Hann window): the spectrum of the n samples is windowed and
// interpolated linearly onto the bins of `num` output samples, then transformed back.
void FourierResample(double rate_hz, double target_hz, std::vector<double>* samples) {
  const int64_t n = static_cast<int64_t>(samples->size());
  const int64_t num = FourierResampledLength(n, rate_hz, target_hz);
  if (num <= 0) {
    samples->clear();
    return;
  }
  std::vector<std::complex<double>> spectrum = RealFft(*samples);
  const size_t bins = static_cast<size_t>(n / 2 + 1);
  const double delta_s = 1.0 / rate_hz;
  const double df = 1.0 / (static_cast<double>(n) * delta_s);
  const double d_large_f = 1.0 / static_cast<double>(num) * target_hz;
  const size_t new_bins = static_cast<size_t>(num / 2 + 1);
  // The interpolation reads bins up to one past the last output frequency's (all of them when
  // upsampling) and the last bin; only those are windowed.
  const size_t reach = static_cast<size_t>(d_large_f * static_cast<double>(new_bins - 1) / df);
  const size_t windowed = std::min(bins, reach + 2);
  const ShiftedHann window(n, bins);
  window.Apply(0, windowed, spectrum.data());
  if (windowed < bins) window.Apply(bins - 1, bins, spectrum.data());
  // Nyquist bin of an even-length input carries no imaginary part (FFTPACK's packing drops it).
  if (n % 2 == 0) spectrum[bins - 1].imag(0.0);
  spectrum[0].imag(0.0);
  std::vector<std::complex<double>> resampled(new_bins);
  for (size_t k = 0; k < new_bins; ++k) {
    resampled[k] = InterpUniform(d_large_f * static_cast<double>(k), df, spectrum.data(), bins);
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

int64_t FourierResampleBytesBound(int64_t n, int64_t n_out) {
  // Bytes per value of a transform's length L on fft.cc's worst path, a complex Bluestein
  // transform of odd real data: the complex copy of the data 16, Bluestein's two buffers of m
  // complex values (2,3,5-smooth m >= 2L - 1, at most 1.3 % above) 65, the plan's half of the
  // chirp's transform 16.2 and its twiddle tables under 2: 100. The forward transform holds that
  // for L = n. The inverse holds it for L = n_out, with the spectrum (in the copy: 16 per input
  // sample), the forward plan kept in the cache (18) and the interpolated bins (8 per output
  // sample). Besides, the two buffers of m values the largest plan was built in (65 per value) are
  // freed before its transform but stay resident when the heap served them, below the allocator's
  // mmap threshold (core/allocator.h): at most two buffers under the threshold.
  constexpr int64_t kTransformBytesPerValue = 100;
  constexpr int64_t kFixedBytes = int64_t{8} << 20;  // column blocks, chirp tables, heap slack
  const int64_t forward = kTransformBytesPerValue * n;
  const int64_t inverse = (16 + 18) * n + (8 + kTransformBytesPerValue) * n_out;
  const int64_t kept_build_buffers = std::min(65 * std::max(n, n_out), int64_t{2} * kAllocatorMmapThresholdBytes);
  return std::max(forward, inverse) + kept_build_buffers + kFixedBytes;
}

Status ResampleSegment(double rate_hz, double target_hz, std::vector<double>* samples) {
  std::vector<std::vector<double>> one(1);
  one[0] = std::move(*samples);
  Status s = ResampleSegments(rate_hz, target_hz, &one);
  *samples = std::move(one[0]);
  return s;
}

Status ResampleSegments(double rate_hz, double target_hz, std::vector<std::vector<double>>* segments) {
  if (!(rate_hz > 0.0) || !(target_hz > 0.0)) {
    return Status::InvalidArgument("resample: rates must be positive");
  }
  switch (ChooseResampleMethod(rate_hz, target_hz)) {
    case ResampleMethod::kNone:
      return Status::OK();
    case ResampleMethod::kDecimate: {
      std::vector<std::vector<double>*> signals;
      for (std::vector<double>& samples : *segments) signals.push_back(&samples);
      FilterSectionsZeroPhase(DesignButterworthLowpass(kLowpassCorners, 0.5 * target_hz, rate_hz), signals);
      const size_t step = static_cast<size_t>(std::llround(rate_hz / target_hz));
      for (std::vector<double>& samples : *segments) {
        for (size_t i = 0, kept = 0; i < samples.size(); i += step, ++kept) samples[kept] = samples[i];
        samples.resize((samples.size() + step - 1) / step);
      }
      return Status::OK();
    }
    case ResampleMethod::kFourier:
      for (std::vector<double>& samples : *segments) {
        if (!samples.empty()) FourierResample(rate_hz, target_hz, &samples);
      }
      return Status::OK();
  }
  return Status::Internal("resample: unknown method");
}

}  // namespace rapid
