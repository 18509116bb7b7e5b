// kSpectrogram on the oneDNN backend: torch.stft's centred frames, a periodic Hann window and
// RAPID's own FFT in double precision (dsp/column_fft.h: kFftColumns frames and channels at once,
// each a column of a split block), magnitudes times the node's scale.
#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

#include "backends/onednn/loop_kernels.h"
#include "dsp/column_fft.h"

namespace rapid::onednn {

namespace {

// Input: L × C channels-last. Output: frames × frequencies rows of C floats, the value at (frame
// f, frequency k) scale·|Σ_j w[j]·x[f·hop − n_fft/2 + j]·e^{−2πi jk/n_fft}| with x zero outside
// [0, L) (torch's center=True with constant padding) and w the periodic Hann window of n_fft.
class Spectrogram : public LoopKernel {
 public:
  Spectrogram(const GraphNode& n, View in, View out)
      : in_(in),
        out_(out),
        hop_(n.stride),
        scale_(n.scale),
        fft_(static_cast<size_t>(n.kernel)),
        scratch_(4 * kFftColumns * static_cast<size_t>(n.kernel)) {
    // Computed once: 0.5 − 0.5·cos(2πj/n_fft) (periodic: the window of n_fft + 1 points, its last
    // dropped, as torch.hann_window(periodic=True)).
    for (int64_t j = 0; j < n.kernel; ++j) {
      const double phase = 2.0 * std::numbers::pi * static_cast<double>(j) / static_cast<double>(n.kernel);
      window_.push_back(0.5 - 0.5 * std::cos(phase));
    }
  }

  // Columns are (frame, channel) pairs, frame-major, kFftColumns of them per transform.
  void Run() override {
    const size_t rows = fft_.rows();
    const SplitBlock a{scratch_.data(), scratch_.data() + rows * kFftColumns};
    const SplitBlock b{a.im + rows * kFftColumns, a.im + 2 * rows * kFftColumns};
    const int64_t columns = out_.length * in_.channels, lanes = static_cast<int64_t>(kFftColumns);
    for (int64_t first = 0; first < columns; first += lanes) {
      const int64_t count = std::min(lanes, columns - first);
      for (int64_t lane = 0; lane < count; ++lane) LoadFrame(first + lane, static_cast<size_t>(lane), a);
      const SplitBlock spectrum = fft_.Run(a, b);
      for (int64_t lane = 0; lane < count; ++lane) StoreMagnitudes(spectrum, static_cast<size_t>(lane), first + lane);
    }
  }

 private:
  // The windowed frame of `column` into lane `lane` of `block` (imaginary parts zero).
  void LoadFrame(int64_t column, size_t lane, SplitBlock block) const {
    const int64_t channels = in_.channels, n_fft = static_cast<int64_t>(window_.size());
    const int64_t first = (column / channels) * hop_ - n_fft / 2;
    const float* x = in_.data + column % channels;
    for (int64_t j = 0; j < n_fft; ++j) {
      const int64_t t = first + j;  // outside [0, L): torch's zero padding
      const double value = t >= 0 && t < in_.length ? window_[static_cast<size_t>(j)] * x[t * channels] : 0.0;
      block.re[static_cast<size_t>(j) * kFftColumns + lane] = value;
      block.im[static_cast<size_t>(j) * kFftColumns + lane] = 0.0;
    }
  }

  void StoreMagnitudes(SplitBlock spectrum, size_t lane, int64_t column) const {
    const int64_t channels = in_.channels, bins = out_.width;
    float* y = out_.data + (column / channels) * bins * channels + column % channels;
    for (int64_t k = 0; k < bins; ++k) {
      const double re = spectrum.re[static_cast<size_t>(k) * kFftColumns + lane] * scale_;
      const double im = spectrum.im[static_cast<size_t>(k) * kFftColumns + lane] * scale_;
      y[k * channels] = static_cast<float>(std::sqrt(re * re + im * im));
    }
  }

  View in_, out_;
  int64_t hop_;
  double scale_;
  ColumnFft fft_;
  std::vector<double> window_;
  std::vector<double> scratch_;  // two split blocks of n_fft × kFftColumns
};

}  // namespace

std::unique_ptr<LoopKernel> MakeSpectrogramKernel(const GraphNode& n, View input, View output) {
  return std::make_unique<Spectrogram>(n, input, output);
}

}  // namespace rapid::onednn
