// `rapid tune`: finds the fastest configuration of `rapid run` on this machine by running real
// trials of the real pipeline (each a `rapid run` process, tune/trial_runner.h) over the input.
//
// The trials are grouped in contexts — resources a run may have: a CPU subset (the first k of the
// CPUs given, k in 20 % steps, as EQCCTPro sweeps), a station count (the input's first N stations,
// 20 % steps) and, when GPUs are present, a GPU set (the first k GPUs). Contexts are measured most
// resources first (all GPUs, all CPUs, all stations), so the best configuration overall comes
// early and a spent time budget cuts the least useful ones.
// In each context: one trial where the planner chooses (the start, and a measure of the planner),
// then coordinate descent (tune/search.h) over
//   CPU: instances ∈ {cores / t : t = cores … 1} with intra-op threads = cores / instances (every
//        core busy; a trial with cores idle is what a smaller CPU subset measures), × batch size;
//   GPU: instances per device ∈ {1, 2, 3, 4} × batch size;
// then the `confirm_top` best configurations are measured once more (this machine's speed drifts
// by several percent), and configurations are ranked by their mean.
// Every trial is appended to <output>/trials.csv as it finishes; trials already there are not run
// again, so a stopped tune run again resumes where it stopped, with the same decisions.
// <output>/best.toml (rewritten after each context) holds the best configuration overall.
// Thread safety: one call at a time per output folder.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/status.h"
#include "tune/best_config.h"

namespace rapid {

struct TuneOptions {
  std::string rapid_binary;  // the rapid program the trials run
  // Input of every trial. Empty: a synthetic archive of synth_stations × synth_duration_s at
  // synth_rates_hz (rapid synth) is written to <output>/synth and used.
  std::string input;
  int64_t synth_stations = 50;
  int64_t synth_duration_s = 600;
  std::vector<double> synth_rates_hz = {100.0};
  std::string model = "phasenet";
  std::string weights;  // empty: the model's bundled weights
  std::string backend = "onednn";  // of the cpu device, in every trial (backends/backend.h)
  std::string output_dir;
  // Wall time the tune may spend (seconds); a trial is not started when the last one's length
  // would overrun it. Trials read back from trials.csv cost nothing.
  double time_budget_s = 600.0;
  std::vector<int> cpus;          // CPUs to tune on; empty: every CPU this process may use
  std::vector<std::string> gpus;  // CUDA devices to include ("cuda:0"); empty: CPU only
  // Station counts to measure; empty: 20 % steps of the input's stations.
  std::vector<int64_t> station_counts;
  // CPU counts (first k of `cpus`); empty: 20 % steps of their number.
  std::vector<int64_t> cpu_counts;
  // Batch sizes searched, ascending; empty: 1 … 256 (CPU) and 16 … 1024 (GPU), powers of two.
  std::vector<int64_t> batch_sizes;
  int64_t confirm_top = 3;     // configurations of each context measured a second time
  double min_gain = 0.02;      // SearchOptions::min_gain
  double trial_timeout_s = 0;  // 0: ten times the context's planner trial, at least 60 s
  std::string max_ram;         // passed to every trial as --max-ram
  const std::atomic<bool>* stop = nullptr;         // SIGINT/SIGTERM: no further trial starts
  std::function<void(const std::string&)> log;     // one line per trial and context (may be null)
};

struct TuneResult {
  int64_t trials_run = 0;      // run by this call
  int64_t trials_reused = 0;   // answered from trials.csv
  int64_t trials_total = 0;    // rows of trials.csv at the end
  int64_t contexts_done = 0;
  std::vector<std::string> contexts_skipped;  // not (fully) measured: budget spent or stopped
  bool budget_spent = false;
  bool interrupted = false;
  double wall_s = 0.0;
  bool found = false;          // a trial succeeded: `best` is set and best.toml written
  ConfigSummary best;
};

// Runs the tune (see the file comment). Non-OK before any trial: bad options (InvalidArgument),
// unreadable input (ScanInput's errors), trials.csv of another format, unwritable output.
// OK otherwise, also when every trial failed (result->found false) or the budget ran out.
Status RunTune(const TuneOptions& opts, TuneResult* result);

// Resources of a group of trials: the CPUs a run is confined to, its CUDA devices (empty: CPU
// only) and the input's first `stations` stations.
struct TuneContext {
  std::vector<int> cpus;
  std::vector<std::string> gpus;
  int64_t stations = 0;
  std::string GpuList() const;   // "cuda:0,cuda:1"
  std::string Describe() const;  // "CPUs 0-3, GPUs cuda:0, 50 stations"
};

// The contexts RunTune measures, in order (see the file comment): `cpus` are the CPUs to tune on,
// `input_stations` the input's station count; opts.gpus, cpu_counts and station_counts as given.
std::vector<TuneContext> PlanTuneContexts(const TuneOptions& opts, const std::vector<int>& cpus,
                                          int64_t input_stations);

// 20 % steps of n: ceil(n·k/5) for k = 1 … 5, distinct, ascending ({1, 2} for n = 2).
std::vector<int64_t> TwentyPercentSteps(int64_t n);

}  // namespace rapid
