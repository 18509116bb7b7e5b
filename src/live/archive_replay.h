// `rapid stream --replay ARCHIVE --speed X`: any archive `rapid run` reads, played as if it arrived
// live — every miniSEED record of its files handed over in the order of its end time (a live
// server sends a record once it is full), at wall time start + (its end − the first end) / X, with
// sequence numbers from 1 in that order. For trying the live path on past data and for
// benchmarks: the records are held in memory, so it is not for years of data.
// Thread safety: Run on one thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/nano_time.h"
#include "core/status.h"

namespace rapid {

class ArchiveReplay {
 public:
  using RecordFn = std::function<void(const std::string& station_id, uint64_t sequence, std::string_view record)>;

  // Lists and reads the archive (ScanInput), indexing every record that decodes. NotFound /
  // IOError naming the path; InvalidArgument when speed <= 0 or no record decodes.
  static Status Open(const std::string& archive, double speed, ArchiveReplay* out);

  // Hands the records over on time until the last one or until `stop` reads true (looked at
  // every 50 ms while waiting). Returns true when every record was handed over.
  bool Run(const std::atomic<bool>& stop, const RecordFn& on_record) const;

  size_t records() const { return records_.size(); }
  NanoTime span_ns() const;  // from the first record's end to the last one's

 private:
  struct Record {
    NanoTime end;  // time just after its last sample
    std::string station_id;
    std::string bytes;
  };
  std::vector<Record> records_;
  double speed_ = 1.0;
};

}  // namespace rapid
