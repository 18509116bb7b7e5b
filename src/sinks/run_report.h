// run.json (output format v1, see docs/output-formats.md): what a run did, how long each stage
// took, what the plan was, and every error with the unit and file it belongs to.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/status.h"
#include "dsp/station_filter.h"

namespace rapid {

struct RunError {
  std::string unit;     // "NET.STA.LOC", or empty when the file could not be attributed
  std::string file;     // input file, or empty
  std::string message;
};

// What the planner chose for one device (--devices lists them).
struct RunDevicePlan {
  std::string name = "cpu";  // "cpu", "cuda:0", …
  int64_t instances = 1;
  int64_t intra_threads = 1;  // CPU: per instance; GPU: 1 (the instance's host thread)
  int64_t batch_size = 64;
  // GPU only: measured free and total memory, the VRAM budget, the planned peak, and the
  // activation bytes per window measured there.
  int64_t free_bytes = 0;
  int64_t total_bytes = 0;
  int64_t budget_bytes = 0;
  int64_t expected_peak_bytes = 0;
  int64_t activation_bytes_per_window = 0;
};

// What the planner chose and the measurements it used. The top-level shape fields summarise
// `devices`: the device names joined by commas, the instances of all devices, the first device's
// threads and batch size (for a CPU-only run: exactly its plan).
struct RunPlan {
  std::string device = "cpu";
  int64_t instances = 1;
  int64_t intra_threads = 1;
  int64_t batch_size = 64;
  std::vector<RunDevicePlan> devices;
  int64_t cores_available = 1;
  int64_t weight_bytes = 0;
  std::string source = "defaults";  // "planner" or "flags"
  std::vector<int> cpus;            // pinned CPUs (empty: not pinned)
  // Measurements the planner used.
  int64_t activation_bytes_per_window = 0;
  double probe_forward_s_per_window = 0.0;
  int64_t memory_available_bytes = 0;
  int64_t host_budget_bytes = 0;
  int64_t expected_peak_host_bytes = 0;
  int64_t preprocess_bytes = 0;  // of which the input's resampling may hold at once (planner.h)
  int64_t queue_capacity_bytes = 0;
  std::vector<std::string> reasons;
};

// What one model instance did during the run.
struct InstanceReport {
  int64_t windows = 0;
  int64_t batches = 0;
  double busy_s = 0.0;       // normalising, running the model, stitching
  double utilisation = 0.0;  // busy_s / wall time of the annotate stage
};

// What one worker rank of an MPI run did (cluster/cluster_run.h).
struct RankReport {
  int rank = 0;
  std::string host;
  int64_t units = 0;     // units it picked
  double startup_s = 0.0;  // from its start to its first request (model load, plan, instances)
  int64_t windows = 0;
  double wall_s = 0.0;   // its picking, from its first unit to its last window
  double windows_per_s = 0.0;
  double busy_fraction = 0.0;  // instances' busy time / (instances × wall)
  int64_t peak_rss_bytes = 0;
  int64_t instances = 0, intra_threads = 0, batch_size = 0;
  std::vector<int> cpus;  // pinned CPUs (empty: not pinned)
  std::string device;
};

struct RunReport {
  std::string rapid_version;
  std::string model;
  std::string model_class;
  std::string weights_path;
  std::string weights_sha256;
  std::string backend;                        // what ran the model on the CPU: "onednn" or "torch"
  std::string input;
  std::string layout;
  std::string preset;                         // "eqcctpro", or empty
  StationFilter filter;                       // filtering before windowing (none when inactive)
  std::map<std::string, double> thresholds;   // label → the threshold the picks were made with
  // Time chunks of --chunk/--overlap (EQCCTPro semantics; they group the eqcctpro output and never
  // change a pick). 0 when not chunked.
  int64_t time_chunks = 0;
  double chunk_s = 0.0;
  double chunk_overlap_s = 0.0;
  int64_t files_total = 0;
  int64_t files_failed = 0;
  int64_t units_total = 0;
  int64_t units_done = 0;
  bool interrupted = false;  // a stop signal ended the run early; its journal is kept for --resume
  int64_t units_failed = 0;
  int64_t blocks = 0;
  int64_t windows = 0;
  int64_t batches = 0;
  int64_t picks = 0;
  int64_t detections = 0;  // rows of detections.csv (models with a detection trace)
  double wall_s = 0.0;
  int64_t queue_high_water_bytes = 0;  // blocks submitted but not yet annotated, at most
  std::map<std::string, double> stage_s;  // read, preprocess, normalise/forward/stitch (summed over instances), annotate_wall, pick, write
  int64_t peak_rss_bytes = 0;
  // RSS once every model instance is loaded, before the pipeline starts: peak − this is what the
  // pipeline itself (queues, batches, activations, stitchers) added.
  int64_t rss_after_load_bytes = 0;
  // Seconds of data annotated, summed over stations (the span of their probability traces); with
  // wall_s, the operator's "station-minutes per second". This run's work only (not resumed units).
  double annotated_station_s = 0.0;
  // Per CUDA device of the run: the most device memory seen in use (dispatch/vram_monitor.h).
  std::map<std::string, int64_t> vram_peak_used_bytes;
  RunPlan plan;
  std::vector<InstanceReport> instances;
  std::vector<RankReport> ranks;  // MPI runs: every worker rank (run.json "ranks"; absent otherwise)
  // MPI runs: messages rank 0 handled and the CPU time it spent on them (run.json "coordinator").
  int64_t coordinator_messages = 0;
  double coordinator_busy_s = 0.0;
  std::vector<RunError> errors;
  std::vector<std::string> notes;  // dropped channels, zero-filled components, short spans
};

std::string RunReportJson(const RunReport& report);

// Writes RunReportJson atomically to `path`.
Status WriteRunReport(const std::string& path, const RunReport& report);

}  // namespace rapid
