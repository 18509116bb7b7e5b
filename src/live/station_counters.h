// Per-station counters of a live stream, for its /metrics (live/live_http.h): records fed, records
// dropped (repeats, late data) and the end of the newest data received, by SeedLink station.
// Thread safety: every method from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "core/nano_time.h"
#include "live/live_http.h"

namespace rapid {

class StationCounters {
 public:
  // A record of `station` ("NET_STA") fed, its data ending at `data_end`; `dropped` of its
  // samples' records were dropped by the station feed.
  void Record(const std::string& station, NanoTime data_end, int64_t dropped) {
    std::lock_guard<std::mutex> lock(mu_);
    Counts& c = stations_[station];
    c.records += 1;
    c.dropped += dropped;
    c.newest = std::max(c.newest, data_end);
  }
  // The stations' status now (lag: the wall clock minus the newest data's end) and the totals.
  void Fill(LiveStreamMetrics* m) const {
    const NanoTime now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                             std::chrono::system_clock::now().time_since_epoch()).count();
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [station, c] : stations_) {
      m->stations.push_back({station, static_cast<double>(now - c.newest) / 1e9, c.records, c.dropped});
      m->records_total += c.records;
      m->dropped_records_total += c.dropped;
    }
  }

 private:
  struct Counts {
    int64_t records = 0, dropped = 0;
    NanoTime newest = kUnsetTime;
  };
  mutable std::mutex mu_;
  std::map<std::string, Counts> stations_;
};

}  // namespace rapid
