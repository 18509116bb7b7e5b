// trials.csv of `rapid tune` (columns in docs/output-formats.md): one row per trial — a configuration
// run once, as a real `rapid run` process, over the tune's input — with what it measured. Rows are
// appended as trials finish, so an interrupted tune keeps every finished trial and, run again,
// skips the trials already present (TrialKey) and goes on where it stopped.
// Thread safety: values; TrialsFile from one thread.
#pragma once

#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "core/status.h"

namespace rapid {

struct Trial {
  int64_t trial = 0;  // 1, 2, … in the order run
  // What was run (the key, with `repeat` and `source`).
  std::string model;
  std::string weights;            // file as given to rapid run; empty: the model's bundled weights
  std::string backend = "onednn"; // rapid run --backend (backends/backend.h)
  std::string input;              // the tune's input
  int64_t stations = 0;           // the input's first N stations (rapid run --max-stations)
  int64_t chunks = 0;             // time chunks of the input (timechunk folders, SDS days); 0: none
  double chunk_s = 0.0;           // their length
  std::string cpus;               // CPU list the run was confined to ("0-1")
  int64_t cpu_count = 0;
  std::string gpus;               // CUDA devices ("cuda:0,cuda:1"); empty: CPU only
  int64_t gpu_count = 0;
  std::string source;             // "planner" (the planner chose; the settings below are its
                                  // choice), "search", or "confirm" (a repeat of a top configuration)
  int64_t instances = 0;          // per device
  int64_t threads_per_instance = 0;
  int64_t batch_size = 0;
  int64_t repeat = 0;             // 0 the first measurement of this configuration, 1 the next, …
  // What it measured (from the process and its run.json).
  int64_t windows = 0;
  double wall_s = 0.0;            // process start to exit: model load, planning, reading, writing
  double picker_s = 0.0;          // the picking pipeline's wall time (run.json annotate_wall)
  double windows_per_s = 0.0;     // windows / picker_s: the throughput compared between trials
  double station_minutes_per_s = 0.0;  // minutes of station data annotated / wall_s
  int64_t peak_rss_bytes = 0;     // the process's peak resident memory (wait4 ru_maxrss)
  int64_t rss_growth_bytes = 0;   // peak − RSS once the instances were loaded
  int64_t vram_peak_bytes = 0;    // Σ devices: most device memory seen in use (sampled)
  int64_t planned_ram_bytes = 0;  // the planner's expected host peak for this configuration
  int64_t planned_vram_bytes = 0; // Σ devices: its expected device peak
  bool success = false;
  std::string error;              // why it failed (exit code and the run's last error line)
  std::string comment;
};

// The resources and input of a trial (model, weights, backend, input, stations, cpus, gpus): trials with
// equal ContextKey compete for "the fastest with these resources".
std::string ContextKey(const Trial& t);

// Identifies a trial for skipping: everything that chose what was run, not what it measured.
std::string TrialKey(const Trial& t);

// The configuration of a trial without its repeat and source: trials with equal ConfigKey measured
// the same thing (a planner trial and a search trial of its choice included).
std::string ConfigKey(const Trial& t);

// Column names, in file order.
const std::vector<std::string>& TrialColumns();

std::vector<std::string> TrialFields(const Trial& t);
// InvalidArgument naming the column when a number does not parse or the count is wrong.
Status TrialFromFields(const std::vector<std::string>& fields, Trial* t);

class TrialsFile {
 public:
  TrialsFile() = default;
  ~TrialsFile();
  TrialsFile(const TrialsFile&) = delete;
  TrialsFile& operator=(const TrialsFile&) = delete;

  // Opens `path` for appending, creating it with the header; an existing file's rows go to *rows.
  // A last row cut short (a killed tune) is dropped and cut from the file. InvalidArgument naming
  // the path when the header differs (another format) or a row does not parse; IOError naming it
  // when it cannot be read or written.
  Status Open(const std::string& path, std::vector<Trial>* rows);

  // Appends one row and flushes it to the kernel. IOError naming the path.
  Status Append(const Trial& t);

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
};

// Reads every row of a trials.csv (for --query and rapid report). Errors as TrialsFile::Open;
// NotFound naming the path when it does not exist.
Status ReadTrials(const std::string& path, std::vector<Trial>* rows);

}  // namespace rapid
