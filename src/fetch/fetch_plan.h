// What `rapid fetch` asks a dataselect service for, and where each answer goes: one slice per
// channel and time chunk (EQCCTPro's timechunk layout) or per channel and UTC day (SDS), grouped
// into bulk POST requests of bounded size.
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/nano_time.h"
#include "fetch/station_text.h"

namespace rapid {

enum class FetchLayout { kChunks, kSds };

// One channel over one span, and the file (relative to the output folder) that holds it.
struct FetchSlice {
  ChannelEpoch channel;
  NanoTime start = kUnsetTime, end = kUnsetTime;
  std::string path;
};

// kChunks: the chunks of engine/time_chunks.h over [start, end] (chunk i starting overlap_ns early),
// each channel whose epoch meets a chunk in <t0>_<t1>/<STA>/NET.STA.LOC.CHA__<t0>__<t1>.mseed (t0, t1:
// the chunk's span, "20241215T115800Z"), as EQCCTPro's create_dataset writes and `rapid run` reads.
// kSds: each UTC day of [start, end] in YEAR/NET/STA/CHA.D/NET.STA.LOC.CHA.D.YEAR.DOY, the slice the
// day clipped to [start, end] (chunk_ns and overlap_ns unused). A channel's slice is clipped to its
// epoch. REQUIRES: start < end; for kChunks, 0 <= overlap_ns < chunk_ns.
std::vector<FetchSlice> PlanSlices(const std::vector<ChannelEpoch>& channels, NanoTime start, NanoTime end, int64_t chunk_ns,
                                   int64_t overlap_ns, FetchLayout layout);

// The slices, in order, grouped into requests of at most `max_samples` samples (rate × seconds,
// summed; a slice larger than that is a request of its own) and `max_lines` slices; indices into
// `slices`.
std::vector<std::vector<size_t>> GroupRequests(const std::vector<FetchSlice>& slices, double max_samples, size_t max_lines);

// The dataselect POST body of `which`: one "NET STA LOC CHA START END" line per slice (an empty
// location as "--", times ISO-8601 UTC with microseconds).
std::string DataselectBody(const std::vector<FetchSlice>& slices, const std::vector<size_t>& which);

}  // namespace rapid
