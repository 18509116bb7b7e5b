// The run journal (<output>/journal.jsonl): what makes a killed run resumable exactly once.
// Line 1 identifies the run (model, weights digests, input); every further line is one completed
// work unit (a station's files) with everything it produced — picks, detections, errors, the
// stations it held — appended and flushed to the kernel when the unit's last block is picked (as
// for every output, the guarantee is against a killed process, not a power loss: no fsync). A unit is in the journal completely or not at all: a line cut short by a kill (the last
// one) does not parse and its unit runs again. `rapid run --resume` reads the journal, skips the
// units in it and writes the final outputs from the journal's results and the new ones; a run that
// finishes removes its journal.
// Thread safety: Append may be called from any thread, one call at a time.
#pragma once

#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/status.h"
#include "picking/picker.h"
#include "sinks/run_report.h"

namespace rapid {

// Identifies a run: resuming with another model, weights or input is refused.
struct JournalHeader {
  std::string model;
  std::string weights_sha256;
  std::string input;
  // What else changes the picks (preset, thresholds, filters), e.g. "preset=eqcctpro P=0.001";
  // empty for a plain run.
  std::string settings;
};

struct JournalUnit {
  std::string unit;                              // the work unit (files_by_unit key)
  std::map<std::string, std::string> stations;   // "NET.STA.LOC" → band+instrument code
  std::vector<std::string> failed_stations;      // stations of this unit that failed
  std::vector<RunError> errors;
  std::vector<Pick> picks;
  std::vector<Pick> detections;
};

// One unit as one line of JSON (no newline), as the journal holds it (an MPI worker sends it to
// the coordinator so). Exact: picks and times round-trip bit for bit.
std::string EncodeJournalUnit(const JournalUnit& unit);
// The unit of such a line; false when it is not a complete unit (a torn last line).
bool DecodeJournalUnit(const std::string& line, JournalUnit* unit);

class Journal {
 public:
  Journal() = default;
  ~Journal();
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  // Receives a complete unit read back; an error stops the reading and Open returns it.
  using UnitFn = std::function<Status(JournalUnit&&)>;

  // Opens `path` for appending. With `resume`, an existing journal is read line by line (never
  // whole, however many picks it holds): `on_unit` receives each complete unit in order (a torn
  // last line is skipped and cut off) and its header must equal `header`. Without `resume`, an
  // existing journal is an error (an unfinished run's work would be lost).
  // InvalidArgument: a journal without --resume, or of another run (naming what differs);
  // IOError naming the path.
  Status Open(const std::string& path, const JournalHeader& header, bool resume, const UnitFn& on_unit);

  // Appends `unit` and flushes it to the kernel. IOError naming the path.
  Status Append(const JournalUnit& unit);

  // The run is complete and its outputs are written: closes and deletes the journal.
  Status Remove();

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
};

}  // namespace rapid
