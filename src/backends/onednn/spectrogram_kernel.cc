// kSpectrogram on the oneDNN backend: torch.stft's centred frames, a periodic Hann window and
// RAPID's own real FFT (dsp/fft.h, double precision), magnitudes times the node's scale.
#include <algorithm>
#include <cmath>
#include <complex>
#include <numbers>
#include <vector>

#include "backends/onednn/loop_kernels.h"
#include "dsp/fft.h"

namespace rapid::onednn {

namespace {

// Input: L × C channels-last. Output: frames × frequencies rows of C floats, the value at (frame
// f, frequency k) scale·|Σ_j w[j]·x[f·hop − n_fft/2 + j]·e^{−2πi jk/n_fft}| with x zero outside
// [0, L) (torch's center=True with constant padding) and w the periodic Hann window of n_fft.
class Spectrogram : public LoopKernel {
 public:
  Spectrogram(const GraphNode& n, View in, View out)
      : in_(in), out_(out), hop_(n.stride), scale_(n.scale), frame_(static_cast<size_t>(n.kernel)) {
    // Computed once: 0.5 − 0.5·cos(2πj/n_fft) (periodic: the window of n_fft + 1 points, its last
    // dropped, as torch.hann_window(periodic=True)).
    for (int64_t j = 0; j < n.kernel; ++j) {
      const double phase = 2.0 * std::numbers::pi * static_cast<double>(j) / static_cast<double>(n.kernel);
      window_.push_back(0.5 - 0.5 * std::cos(phase));
    }
  }

  void Run() override {
    const int64_t channels = in_.channels, n_fft = static_cast<int64_t>(frame_.size()), bins = out_.width;
    for (int64_t f = 0; f < out_.length; ++f) {
      const int64_t first = f * hop_ - n_fft / 2;
      // The frame's samples inside the input, j in [begin, end); the rest are torch's zero padding.
      const int64_t begin = std::clamp<int64_t>(-first, 0, n_fft);
      const int64_t end = std::clamp<int64_t>(in_.length - first, begin, n_fft);
      std::fill(frame_.begin(), frame_.begin() + begin, 0.0);
      std::fill(frame_.begin() + end, frame_.end(), 0.0);
      float* y = out_.data + f * bins * channels;
      for (int64_t c = 0; c < channels; ++c) {
        const float* x = in_.data + c;
        for (int64_t j = begin; j < end; ++j) {
          frame_[static_cast<size_t>(j)] = window_[static_cast<size_t>(j)] * x[(first + j) * channels];
        }
        const std::vector<std::complex<double>> spectrum = RealFft(frame_);
        for (int64_t k = 0; k < bins; ++k) {
          const std::complex<double> z = spectrum[static_cast<size_t>(k)] * scale_;
          y[k * channels + c] = static_cast<float>(std::sqrt(z.real() * z.real() + z.imag() * z.imag()));
        }
      }
    }
  }

 private:
  View in_, out_;
  int64_t hop_;
  double scale_;
  std::vector<double> window_;
  std::vector<double> frame_;  // scratch: one windowed frame
};

}  // namespace

std::unique_ptr<LoopKernel> MakeSpectrogramKernel(const GraphNode& n, View input, View output) {
  return std::make_unique<Spectrogram>(n, input, output);
}

}  // namespace rapid::onednn
