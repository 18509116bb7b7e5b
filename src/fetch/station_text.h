// The channels an FDSN station service lists (fdsnws-station 1.1, `level=channel&format=text`):
// what `rapid fetch` expands its network/station/location/channel patterns into, each channel
// with its epoch and rate.
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/nano_time.h"
#include "core/status.h"

namespace rapid {

struct ChannelEpoch {
  std::string network, station, location, channel;
  double rate_hz = 0.0;
  NanoTime start = kUnsetTime;
  NanoTime end = kUnsetTime;  // kUnsetTime: open (still recording)

  std::string Id() const { return network + "." + station + "." + location + "." + channel; }
};

// Parses the text answer: '#' header lines, then one '|'-separated row per channel epoch. Columns
// are found by the header's names (Network, Station, Location, Channel, SampleRate, StartTime,
// EndTime; case and spaces ignored); without a header, the specification's order (17 columns:
// SampleRate 15th, StartTime 16th, EndTime 17th). An EndTime empty or after 2200 (2599-12-31,
// as services write open epochs) is an open epoch. Empty lines
// are skipped. InvalidArgument naming the line and what is wrong with it.
Status ParseStationText(std::string_view text, std::vector<ChannelEpoch>* channels);

}  // namespace rapid
