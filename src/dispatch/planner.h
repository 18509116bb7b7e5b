// Resource planner core: measurements + budgets → plan (instances, intra-op threads, batch size,
// queue capacity, in-flight batches), decided once before any work (STYLE.md item 10).
// MakePlan is a pure function: no I/O, no clock, no globals. The caller measures the machine
// (resource_probe.h) and the model (model_probe.h) and passes the numbers in.
// Thread safety: pure function; distinct calls may run concurrently.
//
// Memory model (all sizes in bytes; `window bytes` = window_input_bytes + window_output_bytes):
//   host peak = process_baseline                        (libraries + the already-loaded probe model)
//             + reserved_host                           (stages the planner does not size)
//             + preprocess                              (the input's resampling, sized by the caller)
//             + (CPU instances − 1) × weight            (the probe model becomes CPU instance 0)
//             + Σ CPU devices: instances × batch × activation_per_window
//             + Σ devices: instances × in_flight_per_instance × batch × window bytes
//             + host_queue_count × queue_capacity
//   queue_capacity = queue_depth_batches × Σ devices (instances × batch) × max(input, output) window bytes,
//                    raised towards min_queue_bytes as far as the budget leaves room (read-ahead)
//   GPU peak  = instances × (weight + batch × activation_per_window on that device)
//
// Rules:
//  * Host budget: --max-ram if given (lowered to baseline + available if larger), else
//    baseline + default_ram_fraction × memory_available_bytes.
//  * GPU budget per device: --max-vram if given (lowered to the device's free bytes), else
//    default_vram_fraction × free bytes.
//  * GPUs are planned first, in input order: the largest ladder batch that fits one instance in
//    the VRAM budget (and the host budget), then a second instance if it also fits — the batch
//    drives GPU throughput; a second instance overlaps one batch's copies with another's compute.
//  * CPU: cores_for_cpu = cores_available − host_cores_per_gpu × GPU devices (at least 1).
//    Instances × intra threads = cores_for_cpu, preferring one thread per instance: threads =
//    ceil(cores / max_auto_cpu_instances), instances = cores / threads. (DESIGN.md: on 2 cores,
//    2 × 1 beat 1 × 2; separate instances scale better than intra-op threads, but each costs
//    weights + a batch of activations, so beyond max_auto_cpu_instances threads grow instead.)
//    Batch: the largest ladder batch in [cpu_min_batch_size, cpu_max_batch_size] whose host peak
//    fits; if none fits, one fewer instance (threads regrow to use the cores) and retry; at one
//    instance the ladder continues below cpu_min_batch_size down to 1.
//  * Overrides (instances, intra_threads, batch_size; 0 = choose) are used as given; a choice
//    left to the planner adapts around them. The result is still checked against the budgets:
//    if an override cannot fit, MakePlan fails instead of silently changing it.
//    instances × intra_threads above the cores is allowed (only slower) and noted in reasons.
//  * Failure: ResourceExhausted when even one instance at batch 1 (or the overridden shape)
//    does not fit; the message gives what is needed (with its parts) and the budget given.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace rapid {

enum class DeviceKind { kCpu, kCuda };

// One device the run was asked to use (--devices).
struct DeviceMeasurement {
  DeviceKind kind = DeviceKind::kCpu;
  std::string name = "cpu";                 // "cpu", "cuda:0", … (used in messages and the plan)
  int64_t free_bytes = 0;                   // GPU: free device memory, measured after the CUDA
                                            // context exists; CPU: unused (host memory is below)
  int64_t total_bytes = 0;                  // GPU: device memory; CPU: unused
  int64_t activation_bytes_per_window = 0;  // GPU: measured there (caching allocator peak / probe
                                            // batch); 0 = use the model's CPU measurement
};

// What the model costs, measured once (model_probe.h).
struct ModelFootprint {
  int64_t weight_bytes = 0;
  int64_t activation_bytes_per_window = 0;  // workspace for one window in a forward pass
  int64_t window_input_bytes = 0;           // channels × in_samples × 4
  int64_t window_output_bytes = 0;          // labels × in_samples × 4
};

// Budgets, overrides and tuning. Performance settings only: no field changes the picks.
struct PlannerOptions {
  // Host RAM the whole process may reach, bytes (--max-ram); 0 = default_ram_fraction of what is
  // available plus what the process already holds. Lower: smaller batches/fewer instances.
  int64_t max_ram_bytes = 0;
  // Share of available host memory used when max_ram_bytes is 0. Higher: bigger batches and
  // queues, less left for the page cache and other processes.
  double default_ram_fraction = 0.7;
  // VRAM per GPU device, bytes (--max-vram); 0 = default_vram_fraction of its free memory.
  int64_t max_vram_bytes = 0;
  // Share of a GPU's free memory used by default. Higher: bigger batches, less margin for
  // allocator fragmentation and other processes on the GPU.
  double default_vram_fraction = 0.8;

  // Overrides (--instances per device, --intra-threads per CPU instance, --batch-size); 0 = choose.
  int64_t instances = 0;
  int64_t intra_threads = 0;
  int64_t batch_size = 0;

  // Preferred batch sizes, descending. Coarse steps keep batches comparable across runs.
  std::vector<int64_t> batch_ladder = {256, 128, 64, 32, 16, 8, 4, 2, 1};
  // Largest automatic CPU batch. Measured end to end on the 2-core dev machine with PhaseNet
  // (50 synthetic stations × 1 h, 2 instances × 1 thread, OpenBLAS): batch 8 ≈ 2160 windows/s,
  // 16 ≈ 2130, 32 ≈ 2140; smaller batches hold less memory. `rapid tune` measures the best batch
  // of a machine; `rapid run --config best.toml` applies it.
  int64_t cpu_max_batch_size = 8;
  // Below this batch, per-call overhead dominates on CPU: drop an instance before going smaller.
  int64_t cpu_min_batch_size = 8;
  // Automatic CPU instances stop here; further cores become intra-op threads. More instances:
  // better scaling, but weights + activations per instance.
  int64_t max_auto_cpu_instances = 8;
  // Automatic GPU instances per device (1 or 2 are sensible). More: better copy/compute overlap,
  // weights and activations once more per instance.
  int64_t max_auto_gpu_instances = 2;
  // Cores left to the pipeline (reader, preprocessing, feeding) per GPU device when CPU and GPU
  // devices run together. More: GPUs stay fed, fewer CPU instances.
  int64_t host_cores_per_gpu = 1;

  // Batch buffers each instance holds (the pipeline's instance threads have one input and one
  // output buffer: the batch being run). Each costs batch × window bytes.
  int64_t in_flight_per_instance = 1;
  // Host queue depth, in rounds of (every instance's batch). Deeper: absorbs slow files and
  // bursty stations; costs memory linearly.
  int64_t queue_depth_batches = 2;
  // Read-ahead floor: the queue gets at least this many bytes when the budget leaves room, so the
  // producer stays a few block pieces ahead of the instances (a PhaseNet piece of ~200 000 samples
  // is ~5 MB of samples and stitcher traces; 64 MiB keeps ~12 queued: measured, the same windows/s
  // as 256 MiB on 50 stations × 1 h, and a short run and a long one reach the same peak).
  int64_t min_queue_bytes = int64_t{64} << 20;
  // Bounded host queues that get queue_capacity_bytes each (the pipeline has one: the annotator's
  // queue of block pieces).
  int64_t host_queue_count = 1;
  // Host bytes kept for stages the planner does not size (reader buffers, stitchers, sinks).
  // Raise for many stations or long windows.
  int64_t reserved_host_bytes = int64_t{64} << 20;
};

struct PlanInputs {
  std::vector<DeviceMeasurement> devices;  // at least one; at most one CPU device
  ModelFootprint model;
  int64_t cores_available = 1;         // UsableCores(): min(affinity count, ceil(cgroup CPU quota))
  int64_t memory_available_bytes = 0;  // UsableMemoryBytes(): min(MemAvailable, cgroup limit − usage)
  int64_t process_baseline_bytes = 0;  // RSS now (CurrentRssBytes()), with the probe model loaded
  // What preprocessing the input may hold at once beyond reserved_host_bytes (the Fourier
  // resampling of whole segments, StationStream::PreprocessBytesBound at the rates surveyed); 0
  // when it needs nothing more.
  int64_t preprocess_bytes = 0;
  PlannerOptions options;
};

struct DevicePlan {
  std::string name;
  DeviceKind kind = DeviceKind::kCpu;
  int64_t instances = 0;
  int64_t intra_threads = 0;        // CPU: intra-op threads per instance; GPU: 1 (its host thread)
  int64_t batch_size = 0;           // windows per batch for this device's instances
  int64_t in_flight_batches = 0;    // instances × in_flight_per_instance
  int64_t device_budget_bytes = 0;  // GPU: VRAM budget; CPU: 0
  int64_t device_peak_bytes = 0;    // GPU: expected peak VRAM; CPU: 0
  int64_t host_bytes = 0;           // host bytes this device adds (extra weights, activations,
                                    // in-flight buffers); queues are counted once, in Plan
};

struct Plan {
  std::vector<DevicePlan> devices;   // same order as PlanInputs::devices
  int64_t cpu_cores_used = 0;        // Σ CPU instances × intra threads
  int64_t in_flight_batches = 0;     // Σ devices
  int64_t queue_capacity_bytes = 0;  // each of host_queue_count bounded host queues
  int64_t host_queue_count = 0;
  int64_t host_budget_bytes = 0;         // the RAM budget planned against
  int64_t expected_peak_host_bytes = 0;  // per the memory model above; ≤ host_budget_bytes
  std::vector<std::string> reasons;      // one line per decision, for the log and run.json
};

// Derives the plan from measurements and budgets (rules in the file comment).
// OK: *out holds a plan whose expected host peak and every GPU peak fit their budgets.
// InvalidArgument: no device, two CPU devices, a GPU with no free memory, non-positive window
// bytes or cores, negative sizes, a ladder that is empty or not descending, fractions outside (0, 1].
// ResourceExhausted: the budgets cannot hold one instance at batch 1 (or the overridden shape);
// the message names the device, what it needs and what it was given.
Status MakePlan(const PlanInputs& in, Plan* out);

// Several plans in one process (rapid serve with N models, planned one after another): each may
// grow by `share` = 1/N of what the one budget leaves above the memory held when it is planned
// (`held_bytes`): of --max-ram (max_ram_bytes becomes held + share × (max_ram − held)), or of the
// default fraction of available memory (default_ram_fraction × share). The process, every model
// loaded and every queue full, stays within the budget a single plan would have had.
// REQUIRES: 0 < share <= 1 (1: unchanged).
void ShareHostBudget(double share, int64_t held_bytes, PlannerOptions* o);

}  // namespace rapid
