#include "dsp/resample_stream.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/hz_text.h"

namespace rapid {

namespace {

// `seconds` of samples at `hz` as a whole number of samples, or -1 when that is not one (a 0.1 Hz
// channel's 600 s are 60 samples; 600 s at 39.99998 Hz are not a whole number).
int64_t WholeSamples(int64_t seconds, double hz) {
  const double n = static_cast<double>(seconds) * hz;
  const double rounded = std::round(n);
  return std::abs(n - rounded) <= 1e-6 && rounded >= 0 && rounded < 1e15 ? static_cast<int64_t>(rounded) : -1;
}

// Output samples of a whole segment of n input samples (what ResampleSegment returns).
int64_t WholeOutputLength(ResampleMethod method, int64_t n, double rate_hz, double target_hz) {
  switch (method) {
    case ResampleMethod::kNone:
      return n;
    case ResampleMethod::kDecimate: {
      const int64_t step = std::llround(rate_hz / target_hz);
      return (n + step - 1) / step;
    }
    case ResampleMethod::kFourier:
      return FourierResampledLength(n, rate_hz, target_hz);
  }
  return 0;
}

}  // namespace

int64_t ResamplePieces::WholeMaxInputSamples(double rate_hz, double target_hz) const {
  const double by_output = static_cast<double>(fourier_whole_max_output_samples + 1) * (rate_hz / target_hz);
  int64_t n = static_cast<int64_t>(std::min(static_cast<double>(fourier_whole_max_samples), by_output));
  while (n > 0 && FourierResampledLength(n, rate_hz, target_hz) > fourier_whole_max_output_samples) --n;
  return n;
}

ResampleStream::ResampleStream(double rate_hz, double target_hz, ResamplePieces pieces)
    : rate_hz_(rate_hz),
      target_hz_(target_hz),
      method_(ChooseResampleMethod(rate_hz, target_hz)),
      fourier_whole_max_(pieces.WholeMaxInputSamples(rate_hz, target_hz)) {
  // Pieces and margins must be whole numbers of input and of output samples, so that every piece
  // boundary is a sample of both.
  piece_ = WholeSamples(pieces.piece_s, rate_hz);
  margin_ = WholeSamples(pieces.margin_s, rate_hz);
  piecewise_ok_ = piece_ > 0 && margin_ >= 0 && WholeSamples(pieces.piece_s, target_hz) > 0 &&
                  WholeSamples(pieces.margin_s, target_hz) >= 0;
}

void ResampleStream::Append(const double* samples, int64_t count) {
  buffer_.insert(buffer_.end(), samples, samples + count);
  appended_ += count;
}

template <typename T>
Status ResampleStream::Drain(bool closed, std::vector<T>* out) {
  if (method_ == ResampleMethod::kNone) {
    out->insert(out->end(), buffer_.begin(), buffer_.end());
    emitted_ += static_cast<int64_t>(buffer_.size());
    buffer_from_ = appended_;
    buffer_.clear();
    return Status::OK();
  }
  const double out_per_in = target_hz_ / rate_hz_;
  if (method_ == ResampleMethod::kFourier && !piecewise_ok_ && appended_ > fourier_whole_max_) {
    buffer_.clear();  // the segment is given up: what more comes is refused too, and not held
    buffer_from_ = appended_;
    return Status::InvalidArgument("a continuous segment at " + HzText(rate_hz_) + " reached " +
                                   std::to_string(appended_) + " samples, more than the " +
                                   std::to_string(fourier_whole_max_) + " resampled to " + HzText(target_hz_) +
                                   " whole (its memory grows with the segment), and this rate cannot be cut into "
                                   "pieces of whole seconds of whole samples; split the input or resample it first");
  }
  // Full pieces whose right margin has arrived (Fourier: once the segment is too long to be
  // resampled whole).
  const bool pieces = piecewise_ok_ && (method_ != ResampleMethod::kFourier || appended_ > fourier_whole_max_);
  // Up to kPiecesAtOnce ready pieces are resampled together (decimation filters them in the lanes
  // of one vector, dsp/butterworth.h), which also bounds the input copied at once.
  constexpr int64_t kPiecesAtOnce = 8;
  while (pieces && appended_ >= (next_piece_ + 1) * piece_ + margin_) {
    std::vector<std::vector<double>> slices;
    std::vector<int64_t> froms;
    for (int64_t p = next_piece_; p < next_piece_ + kPiecesAtOnce && appended_ >= (p + 1) * piece_ + margin_; ++p) {
      froms.push_back(std::max<int64_t>(0, p * piece_ - margin_));
      slices.emplace_back(buffer_.begin() + (froms.back() - buffer_from_),
                          buffer_.begin() + ((p + 1) * piece_ + margin_ - buffer_from_));
    }
    RAPID_RETURN_IF_ERROR(ResampleSegments(rate_hz_, target_hz_, &slices));
    const int64_t count = std::llround(static_cast<double>(piece_) * out_per_in);
    for (size_t i = 0; i < slices.size(); ++i, ++next_piece_) {
      const int64_t skip = std::llround(static_cast<double>(next_piece_ * piece_ - froms[i]) * out_per_in);
      out->insert(out->end(), slices[i].begin() + skip, slices[i].begin() + skip + count);
      emitted_ += count;
    }
    // Keep the left margin of the next piece.
    const int64_t keep_from = next_piece_ * piece_ - margin_;
    buffer_.erase(buffer_.begin(), buffer_.begin() + (keep_from - buffer_from_));
    buffer_from_ = keep_from;
  }
  if (!closed) return Status::OK();
  // The rest: the whole segment when no piece was cut (buffer_ holds all of it), else the last
  // piece with its left margin.
  std::vector<double> slice = std::move(buffer_);
  buffer_.clear();
  RAPID_RETURN_IF_ERROR(ResampleSegment(rate_hz_, target_hz_, &slice));
  const int64_t skip =
      next_piece_ == 0 ? 0 : std::llround(static_cast<double>(next_piece_ * piece_ - buffer_from_) * out_per_in);
  const int64_t total = WholeOutputLength(method_, appended_, rate_hz_, target_hz_);
  const int64_t count = std::clamp<int64_t>(total - emitted_, 0, std::max<int64_t>(0, static_cast<int64_t>(slice.size()) - skip));
  out->insert(out->end(), slice.begin() + skip, slice.begin() + skip + count);
  emitted_ += count;
  buffer_from_ = appended_;
  return Status::OK();
}

template <typename T>
Status ResampleStream::Feed(std::vector<double>* samples, int64_t from, std::vector<T>* out) {
  const int64_t count = static_cast<int64_t>(samples->size()) - from;
  if (method_ == ResampleMethod::kNone && buffer_.empty()) {
    out->insert(out->end(), samples->begin() + from, samples->end());
    appended_ += count;
    emitted_ += count;
    buffer_from_ = appended_;
    return Status::OK();
  }
  if (buffer_.empty() && from == 0) {
    buffer_.swap(*samples);  // a whole hour at 250 Hz is 7 MB: taken over, not copied
    appended_ += count;
  } else {
    Append(samples->data() + from, count);
  }
  return Drain(false, out);
}

template Status ResampleStream::Feed(std::vector<double>* samples, int64_t from, std::vector<float>* out);
template Status ResampleStream::Feed(std::vector<double>* samples, int64_t from, std::vector<double>* out);
template Status ResampleStream::Drain(bool closed, std::vector<float>* out);
template Status ResampleStream::Drain(bool closed, std::vector<double>* out);

}  // namespace rapid
