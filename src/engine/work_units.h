// Listing the work units of an input: the files found (io/input_scan.h) grouped by the station
// their names give (WorkUnitOfFile), each unit's files ordered by time group, so a producer reads
// one station at a time and one time group (a timechunk folder, an SDS day) at a time.
// Thread safety: pure function.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "io/input_scan.h"

namespace rapid {

struct WorkUnit {
  std::string name;  // "NET.STA.LOC"; empty for files whose names say nothing (read together)
  // Borrowed from the listing's files, ordered by (chunk_start, path): files of one time group
  // (equal chunk_start) are consecutive.
  std::vector<const InputFile*> files;
};

// The units of `files` in name order. With `layout` kChunks, files outside the timechunk folders
// (an arrivals.csv beside them) are not part of the layout: each is a note. `max_units` > 0 keeps
// the first units (a note says how many were left out). *notes is appended to.
std::vector<WorkUnit> ListWorkUnits(const std::vector<InputFile>& files, InputLayout layout, int64_t max_units,
                                    std::vector<std::string>* notes);

// The end of the time group that starts at files[begin] (one past its last file).
size_t TimeGroupEnd(const std::vector<const InputFile*>& files, size_t begin);

}  // namespace rapid
