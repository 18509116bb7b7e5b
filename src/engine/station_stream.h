// Preprocess stage, streaming: turns one instrument's channel data, arriving in time order in any
// number of parts (time chunks, day files), into "block pieces" ready for the annotator, holding
// only a bounded tail of data between parts. The result depends only on the samples, never on how
// they were split into parts, so picks are identical whatever the chunking.
//
// Semantics: SeisBench's annotate() with its default strict=False, station by station
// (docs/decisions.md "Component spans and the sample grid"):
//  - each channel segment is resampled to the model rate at its own start time
//    (dsp/resample_stream.h), then placed on the model-rate grid counted from the epoch: sample 0
//    goes to grid index rint(start_s × rate) (NumPy's half-to-even on the double timestamp), and the
//    segment remembers its shift (start − grid time of that index);
//  - a block is a maximal span of grid indices that some component covers (segments joined when
//    their closed spans touch or overlap); components without data in part of it read zeros there;
//  - a block shorter than one window is not annotated (a note says so);
//  - the block's output times are its grid times plus the mean shift of its segments
//    (StationBlock::time_shift_ns, final when the block ends, on its last piece; earlier pieces
//    carry the mean over the segments joined so far).
//
// A block longer than `piece_windows` windows is handed out in pieces cut on its window grid:
// piece k holds windows [k·W, (k+1)·W) (the last piece: every remaining grid window, including the
// final end-aligned one) and the samples they read. Pieces of one block share `block_id` and are
// numbered in time order; the annotator stitches them back into one continuous trace
// (see StationBlock and Annotator).
//
// A sample is final once every component's data up to it are known: a component's data are known
// up to the end of what its open segment has produced, or, when it has no open segment, up to the
// earliest sample of the latest Push (later parts never bring data before that; data that do are
// dropped with a note). Close() makes everything final. This assumes each part holds every
// channel's data for its span, as a time group of files does; a producer that pushes channels one
// record at a time (a live stream) must not rely on it: a channel lagging behind another's record
// would be taken to have a gap.
// Thread safety: one object per thread.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "dsp/resample_stream.h"
#include "engine/station_block.h"
#include "io/trace.h"
#include "models/model_spec.h"

namespace rapid {

// Index of the model-rate grid point nearest `t`, the grid counted from the epoch as SeisBench's
// _align_fractional_samples does: rint(double(t ns) / 1e9 × rate_hz), ties to even.
int64_t AlignedGridIndex(NanoTime t, double rate_hz);
// Time of grid index `k` (exact when 1e9 / rate_hz is a whole number of nanoseconds).
NanoTime GridTime(int64_t k, double rate_hz);

class StationStream {
 public:
  // Windows per piece when a block is cut (≈ 200 000 samples for PhaseNet: bounded memory, and a
  // piece large enough that the per-piece cost is negligible).
  static int64_t DefaultPieceWindows(const ModelSpec& spec);

  // `spec` is borrowed. `piece_windows` <= 0: blocks are never cut. Block ids start at
  // `first_block_id` (give each stream of a run a distinct range, e.g. unit index << 32).
  // `resample`: how channels at another rate than the model's are resampled in pieces.
  StationStream(const ModelSpec& spec, int64_t piece_windows, uint64_t first_block_id,
                ResamplePieces resample = ResamplePieces());
  ~StationStream();
  StationStream(const StationStream&) = delete;
  StationStream& operator=(const StationStream&) = delete;

  // Adds the next part of this instrument's data: merged segments (io/segment_merge.h) of one or
  // more channels, each later than what earlier parts delivered for that channel (samples at or
  // before the last sample already received are dropped: they are the overlap of consecutive
  // chunks). A segment that does not continue its channel's previous one within half a sample
  // starts a new segment (a gap); so does one arriving after a part whose earliest sample lies
  // beyond the channel's next expected sample. Appends finished pieces to *pieces and
  // human-readable notes to *notes. InvalidArgument when resampling fails.
  Status Push(std::vector<TraceSegment> segments, std::vector<StationBlock>* pieces,
              std::vector<std::string>* notes);

  // No more data: hands out everything that remains.
  Status Close(std::vector<StationBlock>* pieces, std::vector<std::string>* notes);

  // Samples held between parts (native and model rate), for tests of the memory bound.
  int64_t HeldSamples() const;

  // At most the bytes a stream holds at once beyond its pieces for an instrument whose channels
  // are at rate_hz and hold at most max_channel_samples each, when that is more than a few pieces'
  // worth: Fourier resampling (dsp/resample.h) of whole segments of up to
  // `resample`.WholeMaxInputSamples: each channel's input and model-rate output, one resampling's
  // transient (FourierResampleBytesBound) and the FFT plan cache. 0 for other rates (decimated or
  // used as they are, in pieces of bounded size). REQUIRES: rate_hz > 0.
  static int64_t PreprocessBytesBound(const ModelSpec& spec, double rate_hz, int64_t max_channel_samples,
                                      const ResamplePieces& resample);
  // The same without the FFT plan cache, which the process holds once (dsp/fft.h
  // kFftPlanCacheBytes) however many streams resample.
  static int64_t ResampleBytesBound(const ModelSpec& spec, double rate_hz, int64_t max_channel_samples,
                                    const ResamplePieces& resample);

 private:
  struct Run;      // model-rate samples of one segment of one component, on the grid
  struct Channel;  // one channel's current segment and its resampler
  struct Block;    // the block being cut

  Status AddSegment(TraceSegment seg, std::vector<std::string>* notes);
  Status CloseChannel(Channel* ch);
  // Grid index below which every component's data are known (INT64_MAX once closed).
  int64_t KnownUntil() const;
  // Joins to the open block every run that touches it; returns its last grid index.
  int64_t JoinRuns();
  // Opens, cuts and closes blocks as far as the data received allow.
  void Sweep(std::vector<StationBlock>* pieces, std::vector<std::string>* notes);
  void FinishBlock(std::vector<StationBlock>* pieces, std::vector<std::string>* notes);
  StationBlock CutPiece(int64_t from, int64_t length, int64_t windows, bool last);
  void DropBefore(int64_t block_sample);
  NanoTime MeanShiftNs() const;  // over the runs joined to the open block

  const ModelSpec& spec_;
  const int64_t piece_windows_;
  const ResamplePieces resample_;
  uint64_t next_block_id_;
  std::string trace_id_;
  std::map<std::string, std::unique_ptr<Channel>> channels_;  // open segments, by channel code
  std::vector<std::deque<Run>> runs_;                         // by component index, in time order
  std::vector<std::string> feeding_channel_;                  // channel code feeding each component
  NanoTime settled_ = kUnsetTime;  // no later part brings data before this time
  bool closed_ = false;
  std::unique_ptr<Block> block_;
};

}  // namespace rapid
