// The picks of a run, kept on disk as units complete and read back in SortPicks order when the
// outputs are written, so a run's memory does not grow with the number of picks (a year of a few
// hundred stations is millions of picks).
// Each unit's picks are one sorted run in the file; reading merges the runs. Runs are opened
// lazily, in the order of their first pick, so runs of distinct stations (the usual case) are read
// one after the other and memory stays at a run's read buffer or two.
// Thread safety: one thread at a time.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "core/status.h"
#include "picking/picker.h"

namespace rapid {

class PickSpill {
 public:
  PickSpill() = default;
  ~PickSpill();  // closes and removes the file
  PickSpill(const PickSpill&) = delete;
  PickSpill& operator=(const PickSpill&) = delete;

  // Creates (or truncates) the spill file at `path`. IOError naming the path.
  Status Open(const std::string& path);

  // Appends `picks` (sorted here) as one run. IOError naming the file.
  Status Add(std::vector<Pick> picks);

  int64_t size() const { return picks_; }

  // Calls `fn` for every pick, in SortPicks order; stops at the first error `fn` returns.
  // IOError / Corruption when the file cannot be read back.
  Status ForEach(const std::function<Status(const Pick&)>& fn) const;

 private:
  struct Run {
    int64_t offset = 0;  // byte offset of its first record
    int64_t bytes = 0;
    Pick first;  // its smallest pick: the merge opens runs in this order
  };
  class Cursor;

  std::string path_;
  std::FILE* file_ = nullptr;
  int64_t end_ = 0;  // bytes written
  int64_t picks_ = 0;
  std::vector<Run> runs_;
};

}  // namespace rapid
