// Where `rapid stream` writes picks as they become final: DIR/picks/YYYY-MM-DD.csv (picks.csv's
// columns, sinks/picks_csv.h; the day of each pick's peak time, UTC), appended and flushed with
// every batch, a header when a day's file is new; and, when asked, one JSON object per pick on
// stdout (JSON lines). A file's rows are in the order the picks became final.
// Thread safety: Write from any thread (serialised here).
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "core/status.h"
#include "picking/picker.h"

namespace rapid {

class PickLog {
 public:
  PickLog(std::string output_dir, std::string model_name, bool jsonl_stdout);
  // Creates DIR/picks. IOError naming the folder.
  Status Open();
  // Appends `picks` (any days). IOError naming the file; the picks not written are counted.
  Status Write(std::vector<Pick> picks);
  int64_t written() const;

 private:
  const std::string dir_, model_;
  const bool jsonl_;
  mutable std::mutex mu_;
  int64_t written_ = 0;
};

}  // namespace rapid
