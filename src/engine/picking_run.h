// One `rapid run`: lists the work units of the input (engine/work_units.h), reads them one station
// and one time group at a time into the picking pipeline (engine/picking_pipeline.h), journals
// each unit as it completes (engine/unit_tracker.h), and writes the outputs from the pick spills
// (sinks/run_outputs.h) and run.json.
// Thread safety: one call at a time per process (it may pin the calling thread, --cpus).
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/nano_time.h"
#include "core/status.h"
#include "dsp/station_filter.h"
#include "engine/run_plan.h"
#include "io/input_scan.h"
#include "sinks/run_report.h"

namespace rapid {

struct RunOptions {
  std::string input;                       // file, directory, glob or chunk-layout root
  InputLayout layout = InputLayout::kAuto;
  std::string model = "phasenet";
  std::string weights;                     // empty: the model's bundled weights
  std::string output_dir;
  bool save_probabilities = false;
  // Progress on stderr: kAuto = a self-updating line on a terminal, a log line every 10 s otherwise.
  enum class Progress { kAuto, kOff };
  Progress progress = Progress::kAuto;
  // Pick formats written besides picks.csv (which is always written): "quakeml" (picks.xml),
  // "eqcctpro" (eqcctpro/<chunk>/<STA>_outputs/X_prediction_results.csv).
  bool write_quakeml = false;
  bool write_eqcctpro = false;
  NanoTime start = kUnsetTime;             // keep only samples at or after this time
  NanoTime end = kUnsetTime;               // keep only samples at or before this time
  // --chunk/--overlap: time chunks over [start, end] (engine/time_chunks.h). Each station is still
  // one continuous stream, so chunks never change a pick; they set the eqcctpro output's chunks.
  // REQUIRES for chunk_ns > 0: start and end set.
  int64_t chunk_ns = 0;
  int64_t overlap_ns = 0;
  // Devices, budgets and hand-made performance choices (engine/run_plan.h). A non-empty
  // plan.cpus confines the whole run: the calling thread (and so every thread it starts) for the
  // run's duration, each instance pinned to its share.
  PlanRequest plan;
  int64_t max_batch_wait_ms = 0;  // see AnnotateOptions::max_batch_wait_ms
  // Only the first N work units (stations, in NET.STA.LOC order); 0: all.
  int64_t max_stations = 0;
  // Continue the unfinished run whose journal is in output_dir (sinks/journal.h); without it, such
  // a journal is a configuration error.
  bool resume = false;
  // --preset eqcctpro: EQCCTPro's native EQCCT pipeline (engine/eqcctpro_windows.h) instead of
  // SeisBench's semantics, for model "eqcct" on the timechunk layout; its window tables go to
  // output_dir/eqcctpro/<chunk>/<STA>_outputs/X_prediction_results.csv.
  bool eqcctpro_preset = false;
  // Filtering before windowing (dsp/station_filter.h). Without the preset: each continuous segment
  // read is demeaned, tapered over filter.taper_s at each end and band-passed, at its own rate,
  // before resampling. With the preset: EQCCTPro's filter (EqcctproDefaultFilter) as the caller
  // adjusted it.
  StationFilter filter;
  // Label → threshold, over the model's (and the preset's): --p-threshold, --s-threshold.
  std::map<std::string, double> thresholds;
  // Graceful stop: once it reads true, no further unit is started; what was submitted finishes,
  // completed units are journaled and the outputs hold them (report->interrupted). May be null.
  const std::atomic<bool>* stop = nullptr;
};

// What RunPicking did: stopped on a configuration error found before any work (unknown model, bad
// weights, missing input, unwritable output, an unfinished journal without --resume) — nothing is
// written; or finished, in which case status() says whether every output could be written (bad
// input files and failed units are in report->errors either way).
class RunOutcome {
 public:
  static RunOutcome ConfigurationError(Status s) { return RunOutcome(true, std::move(s)); }
  static RunOutcome Finished(Status outputs) { return RunOutcome(false, std::move(outputs)); }
  bool configuration_error() const { return configuration_error_; }
  // OK: finished and every output written.
  const Status& status() const { return status_; }

 private:
  RunOutcome(bool configuration_error, Status s) : configuration_error_(configuration_error), status_(std::move(s)) {}
  bool configuration_error_;
  Status status_;
};

// Runs the whole job and writes picks.csv, run.json and (optionally) probabilities/ and the other
// formats into opts.output_dir.
RunOutcome RunPicking(const RunOptions& opts, RunReport* report);

}  // namespace rapid
