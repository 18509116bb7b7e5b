// One trial: a `rapid run` process over the tune's input with one configuration, measured from the
// outside (wall time, peak RSS) and from its run.json (windows, pipeline time, plan, VRAM).
// Thread safety: distinct calls may run concurrently (each in its own folder).
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "tune/trials.h"

namespace rapid {

struct TrialRunOptions {
  std::string rapid_binary;  // the rapid program to run
  std::string folder;        // the trial's output folder (emptied first): run.json, picks.csv, log.txt
  double timeout_s = 0.0;    // kill a trial running longer (0: no limit)
  std::string max_ram;       // passed on as --max-ram when set
};

// The command line of `trial`: rapid run on its input, model, weights, backend, stations, CPUs and
// devices, with --instances, --batch-size (and on a CPU --intra-threads) unless its source is "planner".
std::vector<std::string> TrialArguments(const TrialRunOptions& opts, const Trial& trial);

// Runs `*trial` (its model, weights, backend, input, stations, cpus, gpus; its instances, threads and batch
// size unless its source is "planner") and fills its measurements, success, error and comment.
// A run that fails (exit 1 or 3, a signal, a timeout) is a failed trial, not an error: OK with
// trial->success false and trial->error saying why. IOError when the process cannot be started
// or the folder made. *interrupted is set when the run was stopped by SIGINT/SIGTERM (exit 130, or
// killed by the signal before its handlers were installed):
// the trial then measured nothing and must not be recorded.
Status RunTrial(const TrialRunOptions& opts, Trial* trial, bool* interrupted);

}  // namespace rapid
