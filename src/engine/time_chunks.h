// Time chunks with EQCCTPro semantics (--start, --end, --chunk, --overlap) and the duration
// strings the command line accepts ("10m", "1.5h", "500ms").
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/nano_time.h"
#include "core/status.h"

namespace rapid {

// One planned chunk: [start, end], both inclusive, as --start/--end are.
struct TimeChunk {
  int64_t index = 0;  // 0, 1, 2, … in time order
  NanoTime start = kUnsetTime;
  NanoTime end = kUnsetTime;

  bool operator==(const TimeChunk&) const = default;
};

// The most chunks one plan may hold (a 1-minute chunk over ~19 years); beyond it the caller most
// likely mistyped a unit, and the plan would cost gigabytes.
constexpr int64_t kMaxTimeChunks = 10'000'000;

// Chunk i spans [start + i·chunk_ns − overlap_ns, start + (i+1)·chunk_ns], clipped to
// [start, end]: the first chunk is not extended before `start`, and the last one ends at `end`
// (it may be shorter than chunk_ns). There are ceil((end − start) / chunk_ns) chunks, so every
// instant of [start, end] lies in at least one chunk, and consecutive chunks share overlap_ns.
// OK: *chunks (overwritten) holds the chunks in index order. InvalidArgument: start or end unset,
// end <= start, chunk_ns <= 0, overlap_ns < 0, overlap_ns >= chunk_ns, or more than
// kMaxTimeChunks chunks (the message names the values); *chunks is then empty.
Status PlanTimeChunks(NanoTime start, NanoTime end, int64_t chunk_ns, int64_t overlap_ns,
                      std::vector<TimeChunk>* chunks);

// As above for arguments already checked; empty when they are invalid.
std::vector<TimeChunk> PlanTimeChunks(NanoTime start, NanoTime end, int64_t chunk_ns, int64_t overlap_ns);

// Parses a non-negative duration: a number, optionally with a decimal fraction ("1.5", ".5"),
// followed by a unit ns, us, ms, s, m or min, h, d — or no unit, meaning seconds ("30").
// The result is rounded to the nearest nanosecond. nullopt for an empty string, a sign, spaces,
// an unknown unit ("10x"), a missing number ("h"), or a value beyond int64 nanoseconds.
std::optional<int64_t> ParseDurationNs(std::string_view text);

// The shortest exact form in the largest unit that divides `ns`: 600e9 → "10m", 5400e9 → "90m",
// 90e9 → "90s", 1500000 → "1500us", 0 → "0s". ParseDurationNs(FormatDuration(ns)) == ns for ns >= 0;
// a negative duration gets a leading '-'.
std::string FormatDuration(int64_t ns);

}  // namespace rapid
