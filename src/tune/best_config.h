// What the trials say: configurations with their mean throughput, the best one overall (best.toml),
// and the best one for given resources (`rapid tune --query`).
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "tune/trials.h"

namespace rapid {

// One configuration (ConfigKey) and its successful measurements.
struct ConfigSummary {
  Trial config;                     // its first successful trial (settings and context)
  int64_t measurements = 0;         // successful trials of it
  double windows_per_s = 0.0;       // mean over them
  double station_minutes_per_s = 0.0;
  double wall_s = 0.0;
  int64_t peak_rss_bytes = 0;       // highest over them
  int64_t planned_ram_bytes = 0;
  int64_t vram_peak_bytes = 0;
};

// Every configuration with at least one successful trial, best mean windows/s first (ties: fewer
// instances, then smaller batch — less memory for the same speed).
std::vector<ConfigSummary> SummariseConfigs(const std::vector<Trial>& trials);

// The best configuration overall: the best of SummariseConfigs among trials of the largest station
// count measured (the workload closest to a real one; small station counts are there for
// --query). NotFound when no trial succeeded.
Status BestOverall(const std::vector<Trial>& trials, ConfigSummary* best);

// The fastest configuration for a machine with `cpus` CPUs and `gpus` GPUs picking `stations`
// stations: among successful trials using at most that many CPUs and GPUs, those of the measured
// station count nearest to `stations` (a tie: the larger count), the best mean windows/s.
// NotFound saying what was measured when nothing fits.
Status BestFor(const std::vector<Trial>& trials, int64_t cpus, int64_t gpus, int64_t stations, ConfigSummary* best);

// best.toml: `rapid run --config` flags (model, weights, devices, cpus, instances, intra-threads,
// batch-size) for `best`, with comment lines saying what was measured and how to use it.
std::string BestToml(const ConfigSummary& best, const std::string& heading);

}  // namespace rapid
