// The messages of an MPI run (cluster/cluster_run.h), as JSON text: before planning, a worker asks
// rank 0 what the input needs (kFactsRequest, empty; kFacts answers), then asks for a
// unit (kRequest, empty), rank 0 answers with an assignment (kAssign), the worker sends each unit
// it completes as its journal line (kResult; sinks/journal.h EncodeJournalUnit), the units a stop
// left incomplete (kIncomplete), and at its end its figures (kReport).
// Thread safety: pure functions.
#pragma once

#include <string>
#include <vector>

#include "engine/unit_producer.h"
#include "io/input_scan.h"
#include "sinks/run_report.h"

namespace rapid {

enum ClusterTag : int {
  kTagRequest = 1,
  kTagAssign = 2,
  kTagResult = 3,
  kTagIncomplete = 4,
  kTagReport = 5,
  kTagFactsRequest = 6,
  kTagFacts = 7,
};

// What rank 0 learnt of the input that a worker's plan needs: the preprocessing its rates need
// (engine/picking_run_steps.h PreparedRun::preprocess_bytes) and the plan's line saying why.
struct InputFacts {
  int64_t preprocess_bytes = 0;
  std::string preprocess_reason;
};
std::string EncodeInputFacts(const InputFacts& f);
bool DecodeInputFacts(const std::string& text, InputFacts* f);

// Rank 0's answer to a request: a unit and its files; no more units; or the configuration error
// that stops the run.
struct UnitAssignment {
  enum class Kind { kUnit, kDone, kError };
  Kind kind = Kind::kDone;
  std::string unit;
  std::vector<InputFile> files;  // in the unit's order (engine/work_units.h)
  std::string error;
};
std::string EncodeAssignment(const UnitAssignment& a);
bool DecodeAssignment(const std::string& text, UnitAssignment* a);

// A worker's end: the configuration error that kept it from starting, or its figures — its row of
// run.json's "ranks", the RunReport fields its picking filled (counts, stage times, instances,
// errors and notes not tied to a unit, interrupted) and what its --start/--end selection saw.
struct WorkerReport {
  std::string error;
  RankReport rank;
  RunReport figures;
  SelectionSeen selection;
};
std::string EncodeWorkerReport(const WorkerReport& w);
bool DecodeWorkerReport(const std::string& text, WorkerReport* w);

// Adds a worker's figures to the run's: counts and stage times summed, instances appended, the
// largest queue high water, errors and notes appended, its rank row added.
void MergeWorkerFigures(const WorkerReport& w, RunReport* report);

}  // namespace rapid
