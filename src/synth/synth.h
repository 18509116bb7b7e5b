// Synthetic archives for tests and benchmarks: stations with seeded noise and planted P and S
// arrivals, written as real miniSEED 2 (Steim-2) in the EQCCTPro timechunk layout
//   <chunk start>_<chunk end>/<STA>/<NET>.<STA>.<LOC>.<CHA>__<chunk start>__<chunk end>.mseed
// plus arrivals.csv (`trace_id,phase,time`). Every sample is a pure function of (seed, station,
// channel, absolute sample index), so overlapping chunks hold identical samples and any chunking
// of the same archive describes one continuous stream per station.
// Thread safety: pure functions apart from the files written.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/nano_time.h"
#include "core/status.h"
#include "io/trace.h"

namespace rapid {

struct SynthOptions {
  int64_t stations = 3;
  NanoTime start = 1704067200LL * kNanosPerSecond;  // 2024-01-01T00:00:00Z
  int64_t duration_s = 600;
  int64_t chunk_s = 3600;          // chunk length; chunk i covers [start + i·chunk − overlap, start + (i+1)·chunk]
  int64_t overlap_s = 0;
  std::vector<double> rates_hz = {100.0};  // cycled over stations
  uint64_t seed = 1;
  int64_t event_interval_s = 60;   // one event per interval and station
};

struct PlantedArrival {
  std::string trace_id;  // "NET.STA.LOC"
  std::string phase;     // "P" or "S"
  NanoTime time;
};

// The largest archive the command line accepts: beyond these a value is mistyped, not a test
// (a year of 100 000 stations is already petabytes).
constexpr int64_t kMaxSynthStations = 100'000;
constexpr int64_t kMaxSynthDurationS = int64_t{1000} * 86400;

// The arrivals the archive plants (sorted by trace_id, time).
std::vector<PlantedArrival> PlannedArrivals(const SynthOptions& opts);

// The samples of station `station` (0-based), component `component` ('Z','N','E') at `rate_hz`
// for sample indices [first, first + count) counted from opts.start, as integer counts.
std::vector<double> SynthSamples(const SynthOptions& opts, int64_t station, char component, double rate_hz,
                                 int64_t first, int64_t count);

// Writes the archive under `dir` (created). `files_written` (may be null) counts the miniSEED
// files. InvalidArgument for non-positive sizes; IOError naming the path on write failure.
Status WriteSynthArchive(const std::string& dir, const SynthOptions& opts, int64_t* files_written);

// Sampling rates as --rates takes them: "100,200,250" → {100, 200, 250}. InvalidArgument naming
// the item that is not a positive number.
Status ParseRatesHz(const std::string& text, std::vector<double>* rates_hz);

// Station name of index i: "S0001"… and its trace id "SY.S0001.00".
std::string SynthStationName(int64_t station);

}  // namespace rapid
