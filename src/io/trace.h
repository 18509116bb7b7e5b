// Waveform values shared by the reader, the writer and every later stage: a channel's identity and
// one continuous run of its samples.
// Thread safety: plain values; distinct objects may be used from distinct threads.
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <vector>

#include "core/nano_time.h"

namespace rapid {

// SEED channel identity. Codes are stored without padding; an empty location stays empty.
struct ChannelId {
  std::string network;
  std::string station;
  std::string location;
  std::string channel;

  // "NET.STA.LOC", e.g. "4O.BP01." when the location is empty (the picks.csv trace_id).
  std::string StationKey() const { return network + "." + station + "." + location; }
  // "NET.STA.LOC.CHA".
  std::string ToString() const { return StationKey() + "." + channel; }

  // Orders by network, station, location, channel.
  auto operator<=>(const ChannelId&) const = default;
  bool operator==(const ChannelId&) const = default;
};

// Continuous samples of one channel at one rate: sample i lies at start + i / rate_hz.
// Times are derived from `start` and the index, never accumulated, so they carry no drift.
struct TraceSegment {
  ChannelId id;
  NanoTime start = kUnsetTime;  // time of samples[0]
  double rate_hz = 0;           // > 0 for any segment a reader returns
  std::vector<double> samples;

  // Time of sample `i` (may lie outside [0, size)), rounded to the nanosecond. REQUIRES: rate_hz > 0.
  NanoTime SampleTimeAt(int64_t i) const { return SampleTime(start, i, rate_hz); }
  // Time of the last sample; `start` when there are no samples. REQUIRES: rate_hz > 0.
  NanoTime LastSampleTime() const {
    return samples.empty() ? start : SampleTimeAt(static_cast<int64_t>(samples.size()) - 1);
  }
};

}  // namespace rapid
