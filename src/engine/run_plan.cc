#include "engine/run_plan.h"

#include <algorithm>

#include "dispatch/model_probe.h"
#include "dispatch/planner.h"
#include "dispatch/resource_probe.h"
#include "models/device.h"

namespace rapid {

namespace {

// Windows in a CUDA device's start-up probe forward: large enough for a stable activation
// measurement (batch 1 under-reports, see model_probe.h) at the larger batches GPUs run.
constexpr int64_t kCudaProbeBatch = 32;

// Windows in the host instance's probe forward: the batch a CPU instance will run (--batch-size,
// else the planner's largest automatic CPU batch), at most kCudaProbeBatch. Measured at the batch
// it is multiplied by, the activation figure is not spread over windows a CPU batch never holds;
// and the probe runs 2·batch + 1 windows, which at 32 took 1.1 s of a 2.0 s EQCCT run over
// 50 stations × 1 min.
int64_t HostProbeBatch(int64_t requested_batch) {
  const int64_t batch = requested_batch > 0 ? requested_batch : PlannerOptions().cpu_max_batch_size;
  return std::min(batch, kCudaProbeBatch);
}

// A CUDA device's free and total memory and the model's activation bytes per window there,
// measured with a probe instance (released before returning, so its memory is free again).
Status MeasureCudaDevice(const LoadedModel& loaded, const std::string& device, DeviceMeasurement* out) {
  out->kind = DeviceKind::kCuda;
  out->name = device;
  {
    LoadedModel probe;
    RAPID_RETURN_IF_ERROR(LoadModel(loaded.name, loaded.weights_path, &probe, device));
    RAPID_RETURN_IF_ERROR(MeasureCudaActivation(probe.model.get(), CudaIndex(device), kCudaProbeBatch,
                                                &out->activation_bytes_per_window));
  }
  // Free memory with no instance loaded (the caching allocator may keep the probe's blocks: they
  // are counted as free to this process's later instances, which reuse them).
  return CudaMemoryInfo(CudaIndex(device), &out->free_bytes, &out->total_bytes);
}

}  // namespace

Status PlanRun(const PlanRequest& opts, const LoadedModel& loaded, RunPlan* plan) {
  MachineResources machine;
  RAPID_RETURN_IF_ERROR(ProbeMachine(&machine));
  ModelMeasurement measured;
  RAPID_RETURN_IF_ERROR(MeasureModel(loaded.model.get(), HostProbeBatch(opts.batch_size), &measured));
  PlanInputs in;
  for (const std::string& device : opts.devices) {
    DeviceMeasurement d;
    if (device != "cpu") RAPID_RETURN_IF_ERROR(MeasureCudaDevice(loaded, device, &d));
    in.devices.push_back(d);
  }
  in.model = FootprintOf(measured);
  in.cores_available = UsableCores(machine);
  if (!opts.cpus.empty()) in.cores_available = std::min<int64_t>(in.cores_available, static_cast<int64_t>(opts.cpus.size()));
  in.memory_available_bytes = UsableMemoryBytes(machine);
  in.process_baseline_bytes = CurrentRssBytes();
  in.preprocess_bytes = opts.preprocess_bytes;
  in.options.max_ram_bytes = opts.max_ram_bytes;
  in.options.max_vram_bytes = opts.max_vram_bytes;
  in.options.instances = opts.instances;
  in.options.intra_threads = opts.intra_threads;
  in.options.batch_size = opts.batch_size;
  ShareHostBudget(opts.ram_share, in.process_baseline_bytes, &in.options);
  Plan chosen;
  RAPID_RETURN_IF_ERROR(MakePlan(in, &chosen));
  plan->devices.clear();
  plan->device.clear();
  plan->instances = 0;
  for (size_t i = 0; i < chosen.devices.size(); ++i) {
    const DevicePlan& d = chosen.devices[i];
    RunDevicePlan r;
    r.name = d.name;
    r.instances = d.instances;
    r.intra_threads = d.intra_threads;
    r.batch_size = d.batch_size;
    r.free_bytes = in.devices[i].free_bytes;
    r.total_bytes = in.devices[i].total_bytes;
    r.budget_bytes = d.device_budget_bytes;
    r.expected_peak_bytes = d.device_peak_bytes;
    r.activation_bytes_per_window = in.devices[i].activation_bytes_per_window;
    plan->devices.push_back(r);
    plan->device += (plan->device.empty() ? "" : ",") + d.name;
    plan->instances += d.instances;
  }
  plan->intra_threads = plan->devices.front().intra_threads;
  plan->batch_size = plan->devices.front().batch_size;
  plan->cores_available = in.cores_available;
  plan->cpus = opts.cpus;
  plan->weight_bytes = measured.weight_bytes;
  plan->activation_bytes_per_window = measured.activation_bytes_per_window;
  plan->probe_forward_s_per_window = measured.forward_s_per_window;
  plan->memory_available_bytes = in.memory_available_bytes;
  plan->host_budget_bytes = chosen.host_budget_bytes;
  plan->expected_peak_host_bytes = chosen.expected_peak_host_bytes;
  plan->preprocess_bytes = in.preprocess_bytes;
  plan->queue_capacity_bytes = chosen.queue_capacity_bytes;
  plan->reasons = chosen.reasons;
  plan->source = (opts.instances > 0 || opts.intra_threads > 0 || opts.batch_size > 0) ? "flags" : "planner";
  return Status::OK();
}

Status LoadExecutors(const RunPlan& plan, const LoadedModel& loaded, Executors* out) {
  bool reused = false;
  for (const RunDevicePlan& d : plan.devices) {
    for (int64_t k = 0; k < d.instances; ++k) {
      if (d.name == "cpu" && !reused) {
        out->instances.push_back(loaded.model.get());
        reused = true;
      } else {
        LoadedModel copy;
        // The files resolved before, on the backend the first instance runs on (a CUDA device's is torch).
        RAPID_RETURN_IF_ERROR(LoadModel(loaded.name, loaded.weights_path, &copy, d.name, loaded.backend));
        out->instances.push_back(copy.model.get());
        out->owned.push_back(std::move(copy.model));
      }
      out->batch_sizes.push_back(d.batch_size);
      out->threads.push_back(d.intra_threads);
    }
  }
  return Status::OK();
}

}  // namespace rapid
