// Picker stage: trigger on/off picking on a probability trace (ObsPy's trigger_onset as
// SeisBench's picks_from_annotations uses it).
// Thread safety: pure functions.
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

// A trigger is [on, off] sample indices: `on` is the first sample of a run of samples strictly
// above `on_threshold`; `off` is the last sample of the contiguous run strictly above
// `off_threshold` that contains `on`. Runs above on_threshold inside an earlier trigger start no
// new one. NaN samples are below every threshold.
struct Trigger {
  int64_t on, off;
};
std::vector<Trigger> FindTriggers(const float* trace, int64_t n, double on_threshold, double off_threshold);

// Picks of one label's trace starting at `start` with rate `rate_hz`: one per trigger with
// on = threshold, off = threshold / 2; the peak is the first maximum within [on, off].
std::vector<Pick> PickTrace(const std::string& trace_id, const std::string& phase, const float* trace, int64_t n,
                            NanoTime start, double rate_hz, double threshold);

// Orders picks by trace_id, phase, peak_time (the picks.csv order).
void SortPicks(std::vector<Pick>* picks);

}  // namespace rapid
