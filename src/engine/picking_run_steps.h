// The steps of one `rapid run` (engine/picking_run.h), shared by the single-process run and the
// ranks of an MPI run (cluster/cluster_run.h), which split them: the coordinator prepares the model,
// the input and the outputs and writes them; each worker prepares the model and its instances and
// picks the units it is handed.
// Thread safety: as RunPicking.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "dispatch/cpu_confinement.h"
#include "engine/picking_run.h"
#include "engine/run_plan.h"
#include "engine/time_chunks.h"
#include "engine/unit_producer.h"
#include "engine/unit_tracker.h"
#include "engine/work_units.h"
#include "models/registry.h"
#include "sinks/journal.h"
#include "sinks/pick_spill.h"

namespace rapid {

// Everything a run sets up before any work (a failure there is a configuration error), and the
// results of the units completed so far.
struct PreparedRun {
  CpuConfinement confinement;
  LoadedModel loaded;
  std::vector<TimeChunk> time_chunks;
  std::vector<InputFile> files;
  std::vector<WorkUnit> units;
  // What preprocessing the input may hold at once, for the planner (engine/rate_survey.h), and
  // the plan's line saying why; set by PrepareInput (an MPI worker gets them from rank 0).
  int64_t preprocess_bytes = 0;
  std::string preprocess_reason;
  Executors executors;
  std::vector<std::unique_ptr<Model>> respecified;  // the preset's view of each instance
  std::vector<std::string> cuda_devices;
  Journal journal;
  std::set<std::string> resumed_units;
  // Results of the whole run: units join when complete (journaled), in any order. Their picks
  // wait on disk, so memory does not grow with the number of picks.
  PickSpill picks, detections;  // detections: triggers of the model's detection label
  Status spill_status;          // the first failure to spill; the outputs are then not written
  std::set<std::string> stations, failed_stations;
  std::map<std::string, std::string> instrument_by_station;  // "NET.STA.LOC" → band+instrument code

  void AddUnitResults(JournalUnit&& u, RunReport* report) {
    Status s = picks.Add(std::move(u.picks));
    if (s.ok()) s = detections.Add(std::move(u.detections));
    if (!s.ok() && spill_status.ok()) spill_status = s;
    for (const auto& [station, code] : u.stations) {
      stations.insert(station);
      instrument_by_station.emplace(station, code);
    }
    failed_stations.insert(u.failed_stations.begin(), u.failed_stations.end());
    report->errors.insert(report->errors.end(), u.errors.begin(), u.errors.end());
  }
};

// The model (and --cpus): its report fields and the thresholds. A configuration error stops the run.
Status PrepareModel(const RunOptions& opts, RunReport* report, PreparedRun* run);
// Time chunks, the input's files and work units, the preset's checks, the preprocessing the
// input's rates need. REQUIRES: PrepareModel done.
Status PrepareInput(const RunOptions& opts, RunReport* report, PreparedRun* run);
// The plan and the model instances (this process's resources).
Status PrepareInstances(const RunOptions& opts, RunReport* report, PreparedRun* run);
// The output folder, the spills and the journal (read back with --resume).
Status PrepareOutputs(const RunOptions& opts, RunReport* report, PreparedRun* run);

// Where PickUnits gets its units and where they go once complete.
struct UnitFlow {
  // The next unit to read, or null when there is none left; called on PickUnits' thread between
  // units. The unit must stay valid until the next call.
  std::function<const WorkUnit*()> next;
  // Each complete unit (its traces written; journaled first when `journal` is set), under the
  // tracker's lock, on a pipeline thread.
  UnitTracker::CompleteFn complete;
  Journal* journal = nullptr;
  size_t units_total = 0;  // for the progress line; 0: none
};

struct PickedUnits {
  bool complete = false;  // every unit handed out is in the results
  Status journal;         // the first failure to write a unit's traces or journal entry
  std::vector<JournalUnit> incomplete;  // units a stop left incomplete (not journaled)
  int64_t units_read = 0;
  SelectionSeen selection;  // for CheckSelection (engine/unit_producer.h)
};

// Reads the units `flow` hands out through the pipeline until it has none or a stop; the figures
// go to *report.
PickedUnits PickUnits(const RunOptions& opts, PreparedRun* run, const UnitFlow& flow, RunReport* report);
// The incomplete units' stations count as failed; their errors are reported.
void AddIncompleteUnits(const std::vector<JournalUnit>& incomplete, PreparedRun* run, RunReport* report);
// The outputs from the spills; the journal goes once every unit is in them.
Status WriteOutputs(const RunOptions& opts, PreparedRun* run, const PickedUnits& picked, RunReport* report);

}  // namespace rapid
