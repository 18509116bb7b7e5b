// Reads the SeisComP Data Structure (SDS), the archive layout most data centres keep:
//   <root>/YEAR/NET/STA/CHAN.D/NET.STA.LOC.CHAN.D.YEAR.DOY
// one file per channel and UTC day (DOY zero-padded to 3 digits; an empty location gives two dots
// in a row, "XX.ABC..HHZ.D.2024.060"). A record that crosses midnight lies in the day file of its
// start time, so a day file may hold a few samples of the next day, never of the previous one.
// Thread safety: pure functions of the file system; safe to call concurrently.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/nano_time.h"
#include "core/status.h"
#include "io/input_scan.h"
#include "io/trace.h"

namespace rapid {

// The parts of a day-file name.
struct SdsDayName {
  ChannelId id;     // codes as in the name; location may be empty
  int64_t year = 0;
  int64_t day_of_year = 0;  // 1..365, or 366 in a leap year

  // 00:00:00 UTC of that day.
  NanoTime DayStart() const;
};

// Parses "NET.STA.LOC.CHAN.D.YEAR.DOY": seven dot-separated fields, NET, STA and CHAN non-empty,
// LOC possibly empty, the type "D", YEAR four digits, DOY three digits naming a day that exists in
// that year. No field may hold a space or '/'. false otherwise (*out unspecified).
bool ParseSdsDayName(std::string_view name, SdsDayName* out);

// Selects the day files under `root` whose UTC day [00:00, next 00:00) overlaps [start, end]
// (both ends inclusive, as --start/--end are; either may be kUnsetTime for an open end). Only the
// YEAR folders that can hold such days are entered, so a short selection in a long archive lists
// little. Each InputFile has chunk_start/chunk_end = its day [00:00, next 00:00). Files are sorted
// by (NET.STA.LOC, channel, day), then path. Because a record crossing midnight is filed under
// the day it starts, data just after `start` may sit in the previous day's file and is not selected
// when `start` lies on (or just after) midnight.
// Non-year entries of `root` are ignored (an archive root often holds other folders). Below a
// YEAR folder, a file that is not a well-formed day file in the folder its name implies (wrong
// YEAR/NET/STA/CHAN.D folder, unparsable name), a file outside any CHAN.D folder, and a folder of
// another SDS type (CHAN.L, CHAN.E, …) are not selected and each adds one line to *notes naming
// the path and the reason. Hidden entries (".*", e.g. a writer's temporary file) are skipped.
// OK: *files (overwritten) is non-empty. NotFound: `root` does not exist, or no day file overlaps
// the selection (the message names `root`). InvalidArgument: `root` is not a directory, or
// start > end. IOError: a folder could not be read. *notes is appended to in every case.
// REQUIRES: files != nullptr, notes != nullptr.
Status ScanSds(const std::string& root, NanoTime start, NanoTime end, std::vector<InputFile>* files,
               std::vector<std::string>* notes);

// True when `dir` looks like an SDS root: it holds a four-digit YEAR folder with at least one
// well-formed day file at YEAR/NET/STA/CHAN.D/. Stops at the first one found.
bool IsSdsRoot(const std::string& dir);

}  // namespace rapid
