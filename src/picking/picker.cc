#include "picking/picker.h"

#include <algorithm>
#include <tuple>

namespace rapid {

std::vector<Trigger> FindTriggers(const float* trace, int64_t n, double on_threshold, double off_threshold) {
  std::vector<Trigger> triggers;
  int64_t i = 0;
  while (i < n) {
    if (!(trace[i] > on_threshold)) {
      ++i;
      continue;
    }
    int64_t off = i;
    while (off + 1 < n && trace[off + 1] > off_threshold) ++off;
    triggers.push_back({i, off});
    i = off + 1;
  }
  return triggers;
}

std::vector<Pick> PickTrace(const std::string& trace_id, const std::string& phase, const float* trace, int64_t n,
                            NanoTime start, double rate_hz, double threshold) {
  std::vector<Pick> picks;
  for (const Trigger& t : FindTriggers(trace, n, threshold, threshold / 2.0)) {
    int64_t peak = t.on;
    for (int64_t i = t.on; i <= t.off; ++i) {
      if (trace[i] > trace[peak]) peak = i;
    }
    picks.push_back({trace_id, phase, SampleTime(start, t.on, rate_hz), SampleTime(start, peak, rate_hz),
                     SampleTime(start, t.off, rate_hz), trace[peak]});
  }
  return picks;
}

void SortPicks(std::vector<Pick>* picks) {
  std::sort(picks->begin(), picks->end(), [](const Pick& a, const Pick& b) {
    return std::tie(a.trace_id, a.phase, a.peak_time, a.start_time) <
           std::tie(b.trace_id, b.phase, b.peak_time, b.start_time);
  });
}

}  // namespace rapid

