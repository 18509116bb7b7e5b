// Which streams `rapid stream` asks a SeedLink server for: `--select NET_STA[:LOCCHA]`, with `*`
// (any run of characters) and `?` (one character) in every part, and the commands that ask for
// them in SeedLink 3.1 and 4.0.
//   TX_*            every station of network TX, every location and channel
//   4O_AT01:00HH?   4O.AT01, location 00, channels HH?
//   TX_PB*:HH?      channels HH? at any location;  TX_PB35:--HHZ  the empty location
// LOCCHA is LLCCC (location and channel), CCC (any location) or `*`; `--` is the empty location,
// as in SeedLink 3.1's SELECT. Thread safety: values only.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace rapid {

struct StreamSelector {
  std::string network, station;  // patterns, never empty
  std::string location = "*";    // pattern; "" is the empty location
  std::string channel = "*";     // pattern of three characters, or "*"

  // "NET_STA" with its wildcards: SeedLink 4.0's station pattern.
  std::string StationPattern() const { return network + "_" + station; }
  // SeedLink 3.1 SELECT argument ("" when every location and channel is wanted): LLCCC, CCC,
  // `--CCC` for the empty location.
  std::string SelectV3() const;
  // SeedLink 4.0 SELECT argument ("" when every stream is wanted): LOC_B_S_SS, e.g. "00_H_H_?",
  // "*_H_H_Z", "_H_H_Z" (empty location).
  std::string SelectV4() const;
  // Whether a record of these codes is selected (location "" is the empty location).
  bool Matches(std::string_view network, std::string_view station, std::string_view location,
               std::string_view channel) const;
};

// Parses one --select value. InvalidArgument names the value and what is wrong.
Status ParseStreamSelector(const std::string& text, StreamSelector* out);

// Glob match of the whole `text`: `*` any run (also empty), `?` exactly one character.
bool WildcardMatch(std::string_view pattern, std::string_view text);

}  // namespace rapid
