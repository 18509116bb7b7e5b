#include "picking/picker.h"

#include <algorithm>
#include <tuple>

namespace rapid {

PickStream::PickStream(std::string trace_id, std::string phase, NanoTime start, double rate_hz, double threshold)
    : trace_id_(std::move(trace_id)),
      phase_(std::move(phase)),
      start_(start),
      rate_hz_(rate_hz),
      on_threshold_(threshold),
      off_threshold_(threshold / 2.0) {}

void PickStream::Emit(std::vector<Pick>* picks) {
  picks->push_back({trace_id_, phase_, SampleTime(start_, on_index_, rate_hz_), SampleTime(start_, peak_index_, rate_hz_),
                    SampleTime(start_, last_index_, rate_hz_), peak_value_});
  on_ = false;
}

void PickStream::Feed(const float* trace, int64_t n, int64_t offset, std::vector<Pick>* picks) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = trace[i];
    if (on_) {
      if (v > off_threshold_) {
        last_index_ = offset + i;
        if (v > peak_value_) peak_index_ = offset + i, peak_value_ = v;
        continue;
      }
      Emit(picks);  // this sample may start the next trigger
    }
    if (v > on_threshold_) {
      on_ = true;
      on_index_ = peak_index_ = last_index_ = offset + i;
      peak_value_ = v;
    }
  }
  next_index_ = offset + n;
}

void PickStream::Close(std::vector<Pick>* picks) {
  if (on_) Emit(picks);
}

std::vector<Pick> PickTrace(const std::string& trace_id, const std::string& phase, const float* trace, int64_t n,
                            NanoTime start, double rate_hz, double threshold) {
  std::vector<Pick> picks;
  PickStream stream(trace_id, phase, start, rate_hz, threshold);
  stream.Feed(trace, n, 0, &picks);
  stream.Close(&picks);
  return picks;
}

bool PickOrder(const Pick& a, const Pick& b) {
  return std::tie(a.trace_id, a.phase, a.peak_time, a.start_time) <
         std::tie(b.trace_id, b.phase, b.peak_time, b.start_time);
}

void SortPicks(std::vector<Pick>* picks) { std::sort(picks->begin(), picks->end(), PickOrder); }

}  // namespace rapid

