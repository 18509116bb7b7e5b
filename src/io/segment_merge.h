// Joins pieces of waveform (miniSEED records, consecutive time chunks) into continuous segments.
// Thread safety: a pure function; safe to call concurrently.
#pragma once

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

}  // namespace rapid
