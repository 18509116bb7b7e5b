// Joins one station's channels, arriving a record at a time and not in step (SeedLink sends each
// channel's records as they are filled), into parts for the picking pipeline, which needs every
// channel's data for a part's span in that part (engine/station_stream.h): a part is released up
// to the time every channel of the station has reached. A channel whose data end more than
// `max_channel_lag` before the start of the station's newest record (silent, or never sent; a
// record arrives only once full, so its start is where the station has surely got) stops holding
// the others back and is treated as absent for what is released (the pipeline zero-fills an
// absent component, as for an archive without it); its data that arrive later for that span are
// dropped as late. At the
// start nothing is released until some channel is max_channel_lag past the first sample (the
// other channels may still be on their way).
// Records wholly before what the channel already has (repeats, late data) are dropped and counted;
// a record overlapping it keeps only its new samples. Memory: at most max_channel_lag of samples
// per channel beyond what every channel has reached.
// Thread safety: one object per thread.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/nano_time.h"
#include "io/trace.h"

namespace rapid {

class LiveStationFeed {
 public:
  explicit LiveStationFeed(NanoTime max_channel_lag_ns) : max_lag_ns_(max_channel_lag_ns) {}

  // Adds one channel's samples (a decoded record). False when nothing of it was new (dropped).
  bool Add(TraceSegment segment);
  // The data released now: per channel, the samples before the time every active channel has
  // reached, in time order. Empty when nothing can be released yet.
  std::vector<TraceSegment> TakeReady();
  // Everything buffered (the stream ends).
  std::vector<TraceSegment> TakeAll();

  int64_t dropped_records() const { return dropped_; }
  int64_t buffered_samples() const;
  // Time before which everything was released (kUnsetTime: nothing yet).
  NanoTime released_until() const { return released_until_; }

 private:
  struct Channel {
    std::vector<TraceSegment> pending;  // in time order, contiguous runs merged
    NanoTime next = kUnsetTime;         // time of the sample after the last one received
    NanoTime last_record_start = kUnsetTime;
    double rate_hz = 0;
  };
  std::vector<TraceSegment> Release(NanoTime until);

  const NanoTime max_lag_ns_;
  std::map<std::string, Channel> channels_;  // by channel code
  NanoTime released_until_ = kUnsetTime;
  NanoTime first_start_ = kUnsetTime;  // earliest sample added
  int64_t dropped_ = 0;
};

}  // namespace rapid
