// Executor set-up of a run: measures the machine and the model on every device the run was asked
// to use, lets the planner (dispatch/planner.h) choose instances, threads and batch sizes per
// device, records that in RunPlan (run.json "plan"), and loads the model instances it asks for.
// Thread safety: call from one thread, before the pipeline starts (the probes read process RSS).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "models/registry.h"
#include "sinks/run_report.h"

namespace rapid {

// Model instances of a run with the batch size and intra-op threads of each (annotator order).
struct Executors {
  std::vector<std::unique_ptr<Model>> owned;
  std::vector<Model*> instances;
  std::vector<int64_t> batch_sizes;
  std::vector<int64_t> threads;
};

// What a run asks of the planner: where to run, the budgets, and any choice made by hand.
struct PlanRequest {
  std::vector<std::string> devices = {"cpu"};  // "cpu", "cuda:N" (models/device.h)
  std::string cpu_backend = "onednn";          // the backend of "cpu" (backends/backend.h)
  std::vector<int> cpus;                       // the CPUs the run keeps to; empty: any
  int64_t max_ram_bytes = 0;   // 0: the planner's default share of available memory
  int64_t max_vram_bytes = 0;  // per GPU device; 0: the planner's default share of its free memory
  // By hand (0: the planner chooses): instances per device, threads per forward call, windows
  // per forward call.
  int64_t instances = 0;
  int64_t intra_threads = 0;
  int64_t batch_size = 0;
  // Share of the host memory budget this plan may grow into (several models in one process:
  // 1/N each; dispatch/planner.h ShareHostBudget). Cores are not divided: the models' instances
  // share them, as they share them in time when requests come for one model at a time.
  double ram_share = 1.0;
  // What preprocessing the input may hold at once (dispatch/planner.h PlanInputs::preprocess_bytes).
  int64_t preprocess_bytes = 0;
};

// `loaded` is the run's model on the CPU (its spec and host footprint are measured there; it
// becomes the first CPU instance). On each CUDA device of opts.devices a probe instance measures
// the device's free memory and activation bytes per window. ResourceExhausted when a budget cannot
// hold one instance; NotFound when a CUDA device cannot be queried.
Status PlanRun(const PlanRequest& request, const LoadedModel& loaded, RunPlan* plan);

// Loads the instances `plan` asks for, device by device; `loaded`'s model (borrowed, it must
// outlive *out) is the first CPU instance. Errors of LoadModel (e.g. a device out of memory)
// unchanged.
Status LoadExecutors(const RunPlan& plan, const LoadedModel& loaded, Executors* out);

}  // namespace rapid
