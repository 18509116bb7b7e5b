// The producer of `rapid run`: reads the work units into the picking pipeline, one station and
// one time group at a time, while the model instances annotate what was read before — as
// SeisBench-style streams (StationStream), or with `--preset eqcctpro` as EQCCTPro's windows, one
// stream per chunk (engine/eqcctpro_windows.h). A bad file is an error of that file (of that
// station's chunk, with the preset); errors, notes and stations go to the unit tracker and report.
// Thread safety: one thread (the producer's); the pipeline's callbacks run elsewhere.
#pragma once

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "core/nano_time.h"
#include "engine/picking_pipeline.h"
#include "engine/picking_run.h"
#include "engine/unit_tracker.h"
#include "engine/work_units.h"
#include "io/mseed_reader.h"
#include "sinks/run_report.h"

namespace rapid {

// The span of the data read, to say what --start/--end left out when they leave nothing.
struct DataSpan {
  NanoTime lo = kUnsetTime, hi = kUnsetTime;
  void Add(NanoTime first, NanoTime last) {
    lo = lo == kUnsetTime ? first : std::min(lo, first);
    hi = hi == kUnsetTime ? last : std::max(hi, last);
  }
  void Add(const TraceSegment& seg) {
    if (!seg.samples.empty()) Add(seg.start, seg.LastSampleTime());
  }
  bool empty() const { return lo == kUnsetTime; }
  std::string Text() const { return FormatIsoMicros(lo) + " – " + FormatIsoMicros(hi); }
};

// What --start/--end left of the data read: whether any sample was kept, and what the files held.
struct SelectionSeen {
  bool any_selected = false;
  DataSpan all_data;
  void Merge(const SelectionSeen& other) {
    any_selected = any_selected || other.any_selected;
    if (!other.all_data.empty()) all_data.Add(other.all_data.lo, other.all_data.hi);
  }
};

// The error of a run whose --start/--end left no data at all (the units of all its ranks seen).
void CheckSelection(const RunOptions& opts, const SelectionSeen& seen, RunReport* report);

class UnitProducer {
 public:
  UnitProducer(const RunOptions& opts, PickingPipeline* pipeline, UnitTracker* tracker, RunReport* report)
      : opts_(opts), pipeline_(pipeline), tracker_(tracker), report_(report),
        selecting_(opts.start != kUnsetTime || opts.end != kUnsetTime) {}

  void ReadUnit(const WorkUnit& unit);
  // --preset eqcctpro: each time group of the unit (a timechunk folder) on its own, as EQCCTPro
  // reads it (engine/eqcctpro_windows.h), into one pipeline stream per chunk.
  void ReadUnitEqcctpro(const WorkUnit& unit);
  SelectionSeen selection() const { return {any_selected_, all_data_}; }
  double read_s = 0.0, preprocess_s = 0.0;

 private:
  std::vector<TraceSegment> ReadTimeGroup(const WorkUnit& unit, size_t begin, size_t end, JournalUnit* read);
  // --start/--end: drops the samples outside, remembering what the data covered.
  void Select(TraceSegment* seg);
  // --taper/--bandpass without the preset: each segment demeaned, tapered and band-passed.
  void Filter(const std::string& unit, TraceSegment* seg);
  // One chunk of the preset: the traces EQCCTPro reads from `paths` (in its order), or an error
  // naming the file that made EQCCTPro give up on the station.
  Status ReadEqcctproChunk(const WorkUnit& unit, const std::vector<std::string>& paths, std::vector<TraceSegment>* traces);

  const RunOptions& opts_;
  PickingPipeline* pipeline_;
  UnitTracker* tracker_;
  RunReport* report_;
  const bool selecting_;
  const ReaderOptions reader_opts_;
  DataSpan all_data_, unit_data_;  // with --start/--end: what the files hold, before the selection
  bool any_selected_ = false, unit_selected_ = false;
  std::set<std::string> filter_notes_;  // said once per run
};

}  // namespace rapid
