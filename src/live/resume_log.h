// Where a restarted `rapid stream` takes up each instrument so that its picks continue the
// stopped run's exactly, even after a SIGKILL (docs/realtime.md, "Restart"). The run's picks are
// written as they become final; the pipeline reports, per piece, the time S before which every
// pick of the instrument is written and at which no trigger is open (FinalPicks::settled_until),
// and the block's window grid. A restart feeds the instrument's data from a window start G of
// that grid whose window ends by S — every window covering S or later then starts at or after G
// and sees the same samples — and picks from S on (PickingPipeline::OpenStream's picks_from):
// its picks are exactly the run's from S on, and those the killed run wrote after S are found
// again in the CSV (live/pick_log.h drops the repeats). To feed from G, the SeedLink stations are
// asked again for their records from the earliest one still holding data at or after G on any
// channel; this log remembers, per channel, the records fed and their sequence numbers until no
// restart needs them.
// Memory: per channel, the records since G (bounded by kRecordsKeptPerChannel).
// Thread safety: every method from any thread.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>

#include "core/nano_time.h"

namespace rapid {

struct InstrumentResume {
  NanoTime data_from = kUnsetTime;   // feed the data from here (a window start of its block)
  NanoTime picks_from = kUnsetTime;  // pick from here
};

// The newest window start of the grid (windows at windows_start + k·stride samples, each
// in_samples long at rate_hz) whose window ends at or before `settled_until`; windows_start when
// no window does yet.
NanoTime RestartDataFrom(NanoTime windows_start, NanoTime settled_until, double rate_hz, int64_t in_samples,
                         int64_t stride_samples);

class ResumeLog {
 public:
  static constexpr size_t kRecordsKeptPerChannel = 50000;  // a day of 512-byte 100 Hz records

  // The model's window grid: length and stride in samples at rate_hz.
  ResumeLog(double rate_hz, int64_t in_samples, int64_t stride_samples)
      : rate_hz_(rate_hz), in_samples_(in_samples), stride_samples_(stride_samples) {}

  // A stream of `instrument` ("NET.STA.LOC.XY", from SeedLink station "NET_STA") opened; `resumed`:
  // where it was restarted (unset fields: a fresh start).
  void Opened(uint64_t stream, const std::string& instrument, const std::string& station, InstrumentResume resumed);
  // One channel's samples [start, end) fed to the stream, from the record with sequence `seq`.
  void Received(uint64_t stream, const std::string& channel, NanoTime start, NanoTime end, uint64_t seq);
  // What the pipeline settled on the stream (FinalPicks).
  void Settled(uint64_t stream, NanoTime windows_start, NanoTime settled_until);

  // Every instrument's resume point, and per SeedLink station the sequence number of the record a
  // restart must be sent first (the earliest received of those holding data at or after an
  // instrument's data_from). Records no restart needs any more are forgotten.
  void Snapshot(std::map<std::string, InstrumentResume>* instruments, std::map<std::string, uint64_t>* first_sequences);

 private:
  struct Record {
    NanoTime start, end;
    uint64_t seq;
    uint64_t arrival;  // order received (sequence numbers of 3.1 wrap)
  };
  struct Stream {
    std::string instrument, station;
    InstrumentResume resumed;
    NanoTime windows_start = kUnsetTime, settled_until = kUnsetTime;
    std::map<std::string, std::deque<Record>> channels;
  };
  InstrumentResume ResumeOf(const Stream& s) const;

  const double rate_hz_;
  const int64_t in_samples_, stride_samples_;
  std::mutex mu_;
  std::map<uint64_t, Stream> streams_;
  uint64_t arrivals_ = 0;
};

}  // namespace rapid
