// Resampling of one continuous segment that arrives in parts (streaming), with the rules of
// resample.h. A segment short enough is resampled whole, exactly as ResampleSegment does
// (SeisBench parity): for decimation, one that ends before reaching piece + margin samples; for
// Fourier resampling, one of at most kFourierWholeMaxSamples that resamples to at most
// kFourierWholeMaxOutputSamples (ObsPy's whole-trace FFT has no local equivalent: near a
// segment's ends, and for odd lengths throughout, pieces differ from it by more than the pick
// tolerance). A longer one is resampled in pieces of ResamplePieces::piece_s at fixed positions
// from the segment start, each computed with margin_s of extra input on both sides and cut to
// its own span, so memory stays bounded and the output depends only on the samples, never on how
// they were split into parts. Piecewise output differs from resampling the whole segment at once
// only by the filters' far tails (decimation: < 1e-12 relative; Fourier: see docs/decisions.md and
// tests/resample_stream_test.cc for the measured bounds).
// Thread safety: one object per thread.
#pragma once

#include <cstdint>
#include <vector>

#include "core/status.h"
#include "dsp/resample.h"

namespace rapid {

// How long segments are cut: pieces of piece_s seconds of input, each resampled with margin_s
// seconds more on both sides; the Fourier method resamples a segment of up to
// fourier_whole_max_samples input samples whole when it resamples to at most
// fourier_whole_max_output_samples (WholeMaxInputSamples). The defaults are `rapid run`'s
// (SeisBench parity); a live stream cuts short pieces and no Fourier segment whole (LowLatency),
// so a resampled channel's output lags its input by at most piece + margin.
struct ResamplePieces {
  // A day at up to 50 Hz (4.32 M samples) plus the extra records day files often carry; 36 MB of
  // input held per channel while the segment lasts.
  static constexpr int64_t kFourierWholeMaxSamples = 4'500'000;
  // A day at 100 Hz plus as much: the resampling's transient memory grows with its output (up to
  // about 110 bytes per output sample for lengths with a large prime factor,
  // FourierResampleBytesBound), so a long segment at a low rate (10 days at 5 Hz would resample to
  // 86 M samples: up to 10 GB) goes in pieces.
  static constexpr int64_t kFourierWholeMaxOutputSamples = 9'000'000;
  int64_t piece_s = 600;
  int64_t margin_s = 60;
  int64_t fourier_whole_max_samples = kFourierWholeMaxSamples;
  int64_t fourier_whole_max_output_samples = kFourierWholeMaxOutputSamples;

  // The most input samples at rate_hz that the Fourier method resamples to target_hz whole.
  int64_t WholeMaxInputSamples(double rate_hz, double target_hz) const;

  // Pieces of `seconds` with margins of `seconds`, Fourier segments never whole.
  static ResamplePieces LowLatency(int64_t seconds) { return {seconds, seconds, 0}; }
};

class ResampleStream {
 public:
  ResampleStream(double rate_hz, double target_hz, ResamplePieces pieces = ResamplePieces());

  // Appends the next samples of the segment.
  void Append(const double* samples, int64_t count);

  // Appends to *out the resampled samples that later input can no longer change; with `closed`
  // (the segment has ended; no Append may follow) everything that remains. InvalidArgument when
  // the segment outgrows what the Fourier method resamples whole (WholeMaxInputSamples) at a rate
  // that cannot be cut into pieces (a piece_s or margin_s that is not a whole number of samples at
  // both rates, e.g. 39.99998 Hz from a blockette 100): holding it would grow without bound. The
  // segment's samples are then dropped, and so are any appended to it later. Output sample j of the
  // segment lies at segment start + j / target_hz. Resampling is computed in double; T = float
  // rounds the output (what the model reads), T = double keeps it.
  template <typename T>
  Status Drain(bool closed, std::vector<T>* out);

  // Append of (*samples)[from, end), then Drain(false): the samples that are final so far go to
  // *out. Without a copy through the input buffer when no resampling is needed, and taking over
  // *samples' memory when it is all to be buffered (*samples is then left in a valid but
  // unspecified state). REQUIRES: 0 <= from <= samples->size().
  template <typename T>
  Status Feed(std::vector<double>* samples, int64_t from, std::vector<T>* out);

  int64_t emitted() const { return emitted_; }    // output samples drained so far
  int64_t appended() const { return appended_; }  // input samples appended so far
  int64_t buffered() const { return static_cast<int64_t>(buffer_.size()); }

 private:
  double rate_hz_, target_hz_;
  ResampleMethod method_;
  int64_t fourier_whole_max_;
  bool piecewise_ok_;          // pieces and margins are whole numbers of input and output samples
  int64_t piece_ = 0, margin_ = 0;  // in input samples
  std::vector<double> buffer_;  // input samples [buffer_from_, appended_)
  int64_t buffer_from_ = 0;
  int64_t appended_ = 0;
  int64_t next_piece_ = 0;      // pieces [0, next_piece_) drained
  int64_t emitted_ = 0;
};

}  // namespace rapid
