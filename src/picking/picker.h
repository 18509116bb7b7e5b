// Picker stage: trigger on/off picking on a probability trace (ObsPy's trigger_onset as
// SeisBench's picks_from_annotations uses it).
// Thread safety: PickTrace is a pure function; a PickStream is used by one thread at a time.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/nano_time.h"

namespace rapid {

struct Pick {
  std::string trace_id;  // "NET.STA.LOC"
  std::string phase;     // label, e.g. "P"
  NanoTime start_time = kUnsetTime;  // trigger on
  NanoTime peak_time = kUnsetTime;
  NanoTime end_time = kUnsetTime;    // trigger off
  float peak_value = 0.0f;
};

// Picks of one label's trace fed in consecutive parts (the pieces of a block, engine/annotator.h),
// identical to picking the whole trace at once. A trigger starts at the first sample strictly above
// `threshold` and ends at the last sample of the contiguous run strictly above threshold / 2 that
// contains it; samples above the threshold inside a trigger start no new one; NaN is below every
// threshold; a trigger still on when the trace ends closes at its last sample. One pick per
// trigger; its peak is the first maximum within the trigger. Sample i of the trace lies at
// SampleTime(start, i, rate_hz).
class PickStream {
 public:
  PickStream(std::string trace_id, std::string phase, NanoTime start, double rate_hz, double threshold);
  // Feeds samples [offset, offset + n) of the trace. REQUIRES: offset continues the previous part.
  void Feed(const float* trace, int64_t n, int64_t offset, std::vector<Pick>* picks);
  // The trace has ended.
  void Close(std::vector<Pick>* picks);
  // Index before which every trigger has been emitted and at which none is open: the open
  // trigger's first sample, else the next sample to feed. A PickStream started there in its
  // initial state and fed the same samples from there gives the same picks as this one.
  int64_t settled_index() const { return on_ ? on_index_ : next_index_; }

 private:
  void Emit(std::vector<Pick>* picks);
  std::string trace_id_, phase_;
  NanoTime start_;
  double rate_hz_, on_threshold_, off_threshold_;
  bool on_ = false;
  int64_t on_index_ = 0, peak_index_ = 0, last_index_ = 0, next_index_ = 0;
  float peak_value_ = 0.0f;
};

// PickStream over a whole trace starting at `start`.
std::vector<Pick> PickTrace(const std::string& trace_id, const std::string& phase, const float* trace, int64_t n,
                            NanoTime start, double rate_hz, double threshold);

// The picks.csv order: trace_id, phase, peak_time (then start_time).
bool PickOrder(const Pick& a, const Pick& b);
void SortPicks(std::vector<Pick>* picks);

}  // namespace rapid
