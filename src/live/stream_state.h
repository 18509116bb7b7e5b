// The state file of `rapid stream --state` (JSON, written atomically):
//   {"format": "rapid-stream-state/2", "seedlink": "HOST:PORT",
//    "stations": {"NET_STA": last},                  // resume the station after this sequence number
//    "instruments": {"NET.STA.LOC.XY": {"data_from_ns": G, "picks_from_ns": S}}}
// Saved every few seconds while streaming: each station's `last` is just before the first record
// a restart needs, and "instruments" say where each instrument's data and picks take up
// (live/resume_log.h), so a run killed at any moment is continued without a gap or a repeated
// pick. Saved at a clean stop: `last` is the last record received and "instruments" is empty (every
// station's tail was finished as at the end of an archive). Format 1 (stations only) is read too.
// Thread safety: functions of their arguments.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "core/status.h"
#include "live/resume_log.h"

namespace rapid {

struct StreamState {
  std::map<std::string, uint64_t> last_sequences;         // "NET_STA" → resume after this
  std::map<std::string, InstrumentResume> instruments;    // "NET.STA.LOC.XY" → where it takes up
};

// A missing file is a first start (empty state). Corruption naming the file when it is not a state.
Status ReadStreamState(const std::string& path, StreamState* state);
Status WriteStreamState(const std::string& path, const std::string& server, const StreamState& state);

}  // namespace rapid
