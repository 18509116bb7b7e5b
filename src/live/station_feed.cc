#include "live/station_feed.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace rapid {
namespace {

constexpr NanoTime kEverything = std::numeric_limits<NanoTime>::max();

// Samples of `s` from index `from` on, as a segment of their own.
TraceSegment Tail(const TraceSegment& s, int64_t from) {
  TraceSegment t;
  t.id = s.id;
  t.rate_hz = s.rate_hz;
  t.start = s.SampleTimeAt(from);
  t.samples.assign(s.samples.begin() + from, s.samples.end());
  return t;
}

// First index of `s` whose time is at or after `t` (half a sample's tolerance: sample times are
// rounded to the nanosecond).
int64_t FirstAtOrAfter(const TraceSegment& s, NanoTime t) {
  const double k = static_cast<double>(t - s.start) / 1e9 * s.rate_hz;
  return std::clamp<int64_t>(static_cast<int64_t>(std::ceil(k - 0.5)), 0, static_cast<int64_t>(s.samples.size()));
}

}  // namespace

bool LiveStationFeed::Add(TraceSegment segment) {
  if (segment.samples.empty() || !(segment.rate_hz > 0)) return false;
  Channel& ch = channels_[segment.id.channel];
  NanoTime floor = ch.next;
  if (released_until_ != kUnsetTime && (floor == kUnsetTime || released_until_ > floor)) floor = released_until_;
  if (floor != kUnsetTime) {
    const int64_t skip = FirstAtOrAfter(segment, floor);
    if (skip == static_cast<int64_t>(segment.samples.size())) {
      dropped_ += 1;
      return false;
    }
    if (skip > 0) segment = Tail(segment, skip);
  }
  ch.rate_hz = segment.rate_hz;
  ch.last_record_start = segment.start;
  first_start_ = first_start_ == kUnsetTime ? segment.start : std::min(first_start_, segment.start);
  const NanoTime next = segment.SampleTimeAt(static_cast<int64_t>(segment.samples.size()));
  if (!ch.pending.empty()) {
    TraceSegment& last = ch.pending.back();
    const double gap = static_cast<double>(segment.start - ch.next) / 1e9 * segment.rate_hz;
    if (std::abs(gap) <= 0.5 && std::abs(1.0 - last.rate_hz / segment.rate_hz) <= 1e-4) {
      last.samples.insert(last.samples.end(), segment.samples.begin(), segment.samples.end());
      ch.next = last.SampleTimeAt(static_cast<int64_t>(last.samples.size()));
      return true;
    }
  }
  ch.pending.push_back(std::move(segment));
  ch.next = next;
  return true;
}

std::vector<TraceSegment> LiveStationFeed::Release(NanoTime until) {
  std::vector<TraceSegment> part;
  for (auto& [code, ch] : channels_) {
    std::vector<TraceSegment> keep;
    for (TraceSegment& s : ch.pending) {
      const int64_t cut = until == kEverything ? static_cast<int64_t>(s.samples.size()) : FirstAtOrAfter(s, until);
      if (cut > 0) {
        TraceSegment head = s;
        head.samples.resize(static_cast<size_t>(cut));
        part.push_back(std::move(head));
      }
      if (cut < static_cast<int64_t>(s.samples.size())) keep.push_back(Tail(s, cut));
    }
    ch.pending = std::move(keep);
  }
  if (until != kEverything) released_until_ = until;
  return part;
}

std::vector<TraceSegment> LiveStationFeed::TakeReady() {
  // How far the station has got, by the start of the newest record of any channel: a channel is
  // behind when its data end before that by more than the lag (records of a few seconds or of half
  // a minute alike: a record arrives only once full).
  NanoTime ahead = kUnsetTime, furthest = kUnsetTime;
  for (const auto& [code, ch] : channels_) {
    if (ch.next == kUnsetTime) continue;
    ahead = ahead == kUnsetTime ? ch.last_record_start : std::max(ahead, ch.last_record_start);
    furthest = furthest == kUnsetTime ? ch.next : std::max(furthest, ch.next);
  }
  if (ahead == kUnsetTime) return {};
  // At the start, channels not seen yet may still come: wait until one is max_channel_lag ahead.
  if (released_until_ == kUnsetTime && ahead - first_start_ < max_lag_ns_) return {};
  NanoTime until = furthest;  // the earliest end among the channels still in step
  for (const auto& [code, ch] : channels_) {
    if (ch.next != kUnsetTime && ahead - ch.next <= max_lag_ns_) until = std::min(until, ch.next);
  }
  if (released_until_ != kUnsetTime && until <= released_until_) return {};
  return Release(until);
}

std::vector<TraceSegment> LiveStationFeed::TakeAll() { return Release(kEverything); }

int64_t LiveStationFeed::buffered_samples() const {
  int64_t n = 0;
  for (const auto& [code, ch] : channels_) {
    for (const TraceSegment& s : ch.pending) n += static_cast<int64_t>(s.samples.size());
  }
  return n;
}

}  // namespace rapid
