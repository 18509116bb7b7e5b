// Joins pieces of waveform (miniSEED records, consecutive time chunks) into continuous segments.
// Thread safety: a pure function; safe to call concurrently.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "io/trace.h"

namespace rapid {

// How much timing jitter and rate mismatch the reader and the merge accept before splitting a
// trace. Behaviour settings only.
struct ReaderOptions {
  // A piece joins the segment before it when its first sample lies within this many sample
  // periods of the expected next sample time. Larger values bridge more clock jitter but may
  // join across a real (short) gap, shifting the later samples by up to this much.
  double time_tolerance_samples = 0.5;
  // Two pieces may join when |1 - rate_a / rate_b| <= this. The joined segment keeps the rate of
  // its first piece; larger values accept more drift over a long segment.
  double rate_tolerance_relative = 1e-4;
};

// Merges `pieces` into continuous segments.
// Pieces are grouped by ChannelId and rate (within opts.rate_tolerance_relative) and taken in
// start-time order. A piece whose first sample lies within opts.time_tolerance_samples of the
// current segment's expected next sample is appended; one that starts inside the segment is
// aligned to the segment's sample grid and its overlapping samples are dropped (when they differ
// from the samples already there, the existing ones are kept and a problem is added); one that
// starts later (a gap) or off the grid starts a new segment. No sample is ever invented or moved.
// Sample times of a joined segment are its first piece's start + index / rate.
// Returns the segments sorted by (ChannelId, start, rate_hz); empty pieces vanish. Pieces with a
// non-positive or non-finite rate or an unset start are dropped with a problem.
// `problems` (may be null) receives human-readable messages naming the channel and time; it is
// appended to, never cleared.
std::vector<TraceSegment> MergeSegments(std::vector<TraceSegment> pieces, const ReaderOptions& opts,
                                        std::vector<std::string>* problems);

// Samples of one piece in place, in the sample type its source holds (a miniSEED record's
// decoded buffer), so a piece joins a segment with one conversion and no copy of its own.
struct SampleSpan {
  enum class Type { kInt32, kFloat32, kFloat64 };
  const void* data = nullptr;  // `count` values of `type`; borrowed for the call that takes it
  Type type = Type::kFloat64;
  int64_t count = 0;
};

// Appends the span's values to *out, as doubles.
void AppendSamples(SampleSpan samples, std::vector<double>* out);

// The merge MergeSegments performs, fed one piece at a time: MergeSegments sorts its pieces and
// adds them here. A caller whose pieces already arrive in that order per channel (the records of
// a miniSEED file almost always do) merges them as they come; when one arrives out of order and
// Add refuses it, it falls back to MergeSegments over all the pieces.
// Thread safety: one object per thread.
class SegmentMerger {
 public:
  // `opts` is borrowed; `problems` as in MergeSegments.
  SegmentMerger(const ReaderOptions& opts, std::vector<std::string>* problems);
  ~SegmentMerger();
  SegmentMerger(const SegmentMerger&) = delete;
  SegmentMerger& operator=(const SegmentMerger&) = delete;

  // Merges one piece. False, and nothing changes, when an earlier piece of `id` started later
  // (out of order), unless the piece only repeats samples already merged (RepeatsNewestSegment):
  // then it is dropped, as MergeSegments would drop it (a record sent twice, e.g. appended again
  // after a reconnection, needs no fallback). The segments are MergeSegments' and so are the
  // problems, but for one detail: a differing overlap between the repeat's start and the latest
  // piece's may report fewer overlapping samples (sorted, the repeat had extended the segment).
  // `expected_samples`: reserved when the piece starts a segment (a segment grown record by record
  // is copied about once more and faults in twice its memory); 0: none. Callers give a channel's
  // total with its first piece only: reserving what is left at every segment would, for a channel
  // with a gap at every record, reserve its remainder once per record.
  // REQUIRES: rate_hz finite and > 0; start set.
  bool Add(const ChannelId& id, NanoTime start, double rate_hz, SampleSpan samples, int64_t expected_samples = 0);
  // As above for a piece the merger may take over (no copy when it starts a segment, unless it must
  // grow to reserve `expected_samples`).
  bool Add(TraceSegment piece, int64_t expected_samples = 0);

  // The merged segments, sorted as MergeSegments returns them; the merger is empty afterwards.
  std::vector<TraceSegment> Take();

 private:
  struct Channel;
  // The channel of `id` (created when new).
  Channel* ChannelFor(const ChannelId& id);
  // Whether a piece out of time order only repeats samples the newest segment of its rate group
  // holds: inside it, on its sample grid (as Extend aligns a piece) and equal. MergeSegments,
  // taking the piece in time order, drops it as an identical overlap, with no problem reported.
  bool RepeatsNewestSegment(Channel* channel, NanoTime start, double rate_hz, SampleSpan samples);
  // The slot in channel->current of the rate group matching `rate_hz`; null: none.
  size_t* GroupFor(Channel* channel, double rate_hz);
  void StartSegment(Channel* channel, size_t* group, TraceSegment seg);
  bool Extend(TraceSegment* seg, NanoTime start, SampleSpan samples, const ChannelId& id);
  void Report(std::string message);

  const ReaderOptions& opts_;
  std::vector<std::string>* problems_;
  std::vector<TraceSegment> out_;
  std::map<ChannelId, Channel> channels_;
  const ChannelId* last_id_ = nullptr;  // the channel of the latest Add (records come in runs)
  Channel* last_channel_ = nullptr;
};

}  // namespace rapid
