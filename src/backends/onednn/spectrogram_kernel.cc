// kSpectrogram on the oneDNN backend: torch.stft's centred frames, a periodic Hann window and
// RAPID's own FFT in double precision (dsp/column_fft.h: kFftColumns frames and channels at once,
// each a column of a split block), magnitudes times the node's scale.
#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

#include "backends/onednn/loop_kernels.h"
#include "core/vector_loops.h"
#include "dsp/column_fft.h"

namespace rapid::onednn {

namespace {

// Input: L × C channels-last. Output: frames × frequencies rows of C floats, the value at (frame
// f, frequency k) scale·|Σ_j w[j]·x[f·hop − n_fft/2 + j]·e^{−2πi jk/n_fft}| with x zero outside
// [0, L) (torch's center=True with constant padding) and w the periodic Hann window of n_fft.
// |scale·z| of the kFftColumns values re + i·im of one row of a block, as one vector loop (a scalar
// square root per value took a twelfth of a CRED window).
RAPID_VECTOR_LOOPS void Magnitudes(const double* re, const double* im, double scale, double* out) {
  for (size_t lane = 0; lane < kFftColumns; ++lane) {
    const double r = re[lane] * scale, i = im[lane] * scale;
    out[lane] = std::sqrt(r * r + i * i);
  }
}

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
      LoadFrames(first, count, a);
      StoreMagnitudes(fft_.Run(a, b), first, count);
    }
  }

 private:
  // The windowed frames of columns [first, first + count) into the lanes of `block`, the lanes
  // past count and all imaginary parts zero.
  void LoadFrames(int64_t first, int64_t count, SplitBlock block) const {
    const int64_t channels = in_.channels, n_fft = static_cast<int64_t>(window_.size());
    const int64_t lanes = static_cast<int64_t>(kFftColumns);
    std::fill_n(block.re, n_fft * lanes, 0.0);
    std::fill_n(block.im, n_fft * lanes, 0.0);
    for (int64_t lane = 0; lane < count; ++lane) {
      const int64_t column = first + lane;
      const int64_t start = (column / channels) * hop_ - n_fft / 2;  // the sample of row 0
      const float* x = in_.data + column % channels;
      // Rows whose sample lies in [0, L); the others keep torch's zero padding.
      const int64_t from = std::max<int64_t>(0, -start), to = std::min(n_fft, in_.length - start);
      for (int64_t j = from; j < to; ++j) {
        block.re[j * lanes + lane] = window_[static_cast<size_t>(j)] * x[(start + j) * channels];
      }
    }
  }

  // scale·|X| of the lanes [0, count) of `spectrum` into their (frame, frequency, channel) places.
  void StoreMagnitudes(SplitBlock spectrum, int64_t first, int64_t count) const {
    const int64_t channels = in_.channels, bins = out_.width, lanes = static_cast<int64_t>(kFftColumns);
    double magnitude[kFftColumns];
    for (int64_t k = 0; k < bins; ++k) {
      Magnitudes(spectrum.re + k * lanes, spectrum.im + k * lanes, scale_, magnitude);
      for (int64_t lane = 0; lane < count; ++lane) {
        const int64_t column = first + lane;
        float* y = out_.data + ((column / channels) * bins + k) * channels + column % channels;
        *y = static_cast<float>(magnitude[lane]);
      }
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
