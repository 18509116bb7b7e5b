// Where `rapid stream` writes picks as they become final: DIR/picks/YYYY-MM-DD.csv (picks.csv's
// columns, sinks/picks_csv.h; the day of each pick's peak time, UTC), appended and flushed with
// every batch, a header when a day's file is new; each pick written also goes, as one line of
// JSON (PickJson), to a callback (JSON lines on stdout, Server-Sent Events); and, when asked, DIR/picks/YYYY-MM-DD.xml (QuakeML, sinks/quakeml.h) of each
// day's picks, rewritten atomically by Flush (the day's picks are kept in memory for it; days two
// days older than the newest pick are written a last time and let go). A CSV file's rows are in the
// order the picks became final.
// Restart: Open cuts a row torn by a kill from the end of each file, and takes the rows already
// written from a time on as repeats: a restarted stream gives those picks again (live/resume_log.h),
// and each is dropped once instead of written twice. The QuakeML days start from their CSV rows.
// Thread safety: Write from any thread (serialised here).
#pragma once

#include <chrono>
#include <functional>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "core/nano_time.h"
#include "core/status.h"
#include "picking/picker.h"

namespace rapid {

// One pick as a line of JSON: trace_id, phase, peak_time, peak_value, start_time, end_time, model.
std::string PickJson(const Pick& p, const std::string& model_name);

class PickLog {
 public:
  // `on_pick`: called with PickJson of every pick written, in the order written, under the log's
  // lock (it must not call back); may be empty.
  PickLog(std::string output_dir, std::string model_name, bool quakeml, std::function<void(const std::string&)> on_pick);
  // Creates DIR/picks; cuts torn rows; with `repeats_from`, takes the rows of picks starting at or
  // after it as repeats. IOError naming the folder or file.
  Status Open(NanoTime repeats_from = kUnsetTime);
  // Appends `picks` (any days). IOError naming the file; the picks not written are counted.
  Status Write(std::vector<Pick> picks);
  int64_t written() const;
  int64_t repeats_dropped() const;
  // Rewrites the QuakeML of every day with new picks since the last flush (every call when `now`,
  // else at most every 10 s). IOError naming the file.
  Status Flush(bool now);

 private:
  const std::string dir_, model_;
  const bool quakeml_;
  const std::function<void(const std::string&)> on_pick_;
  std::map<std::string, std::vector<Pick>> day_picks_;  // quakeml: "YYYY-MM-DD" → its picks
  std::set<std::string> dirty_days_;
  std::multiset<std::string> repeats_;  // rows (without the newline) a restart may give again
  std::chrono::steady_clock::time_point last_flush_{};
  mutable std::mutex mu_;
  int64_t written_ = 0, repeats_dropped_ = 0;
};

}  // namespace rapid
