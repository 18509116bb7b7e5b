// What the `rapid serve` tests share: request bodies from the bundled sample and from `rapid synth`,
// and readings of the server's /metrics.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "test_util.h"

namespace rapid::testing {

inline const std::map<std::string, std::string> kMseed = {{"Content-Type", "application/vnd.fdsn.mseed"}};

// The stations of the bundled sample's first chunk, sorted.
std::vector<std::string> Stations();
// The station's files of that chunk, concatenated (a body of several files).
std::string StationBody(const std::string& station);
// One body of every miniSEED file `rapid synth` writes with `args` (one station) into dir/name.
std::string SynthBody(const TempDir& dir, const std::string& name, std::vector<std::string> args);

// The value of an unlabelled metric in Prometheus text; -1 when absent.
int64_t MetricValue(const std::string& text, const std::string& name);
// The request memory the server at `port` holds now (/metrics).
int64_t RequestMemoryHeld(int port);
// The same once it has come back to 0, or after 10 s: an answer gives its request's memory back
// just after it is written, which may be after the client has it.
int64_t RequestMemoryHeldOnceSettled(int port);

}  // namespace rapid::testing
