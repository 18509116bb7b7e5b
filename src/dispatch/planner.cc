#include "dispatch/planner.h"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <optional>

#include "dispatch/resource_probe.h"  // FormatBytes only

namespace rapid {
namespace {

// Sizes saturate instead of overflowing: an absurd override (--batch-size 1e12) must produce
// "does not fit", never a wrapped negative that fits.
constexpr int64_t kSaturated = std::numeric_limits<int64_t>::max() / 4;

int64_t Mul(int64_t a, int64_t b) {
  if (a == 0 || b == 0) return 0;
  if (a > kSaturated / b) return kSaturated;
  return a * b;
}
int64_t Add(int64_t a, int64_t b) { return std::min(kSaturated, a + b); }

std::string Percent(double fraction) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%g%%", fraction * 100);
  return buf;
}

std::string Shape(int64_t instances, int64_t batch) {
  return std::to_string(instances) + (instances == 1 ? " instance" : " instances") + " at batch " +
         std::to_string(batch);
}

int64_t WindowBytes(const ModelFootprint& m) { return m.window_input_bytes + m.window_output_bytes; }

// The host side of the memory model in planner.h, with its parts for error messages.
struct HostCost {
  int64_t baseline = 0, reserved = 0, preprocess = 0, weights = 0, activations = 0, in_flight = 0, queues = 0;
  int64_t queue_capacity = 0;

  int64_t Total() const {
    return Add(Add(Add(baseline, reserved), Add(preprocess, weights)), Add(activations, Add(in_flight, queues)));
  }
  std::string Parts() const {
    return "baseline " + FormatBytes(baseline) + " + reserved " + FormatBytes(reserved) +
           (preprocess > 0 ? " + preprocessing " + FormatBytes(preprocess) : "") + " + extra weights " +
           FormatBytes(weights) + " + activations " + FormatBytes(activations) + " + in-flight buffers " +
           FormatBytes(in_flight) + " + queues " + FormatBytes(queues);
  }
};

HostCost ComputeHostCost(const PlanInputs& in, const std::vector<DevicePlan>& planned) {
  const ModelFootprint& m = in.model;
  const PlannerOptions& o = in.options;
  HostCost c;
  c.baseline = in.process_baseline_bytes;
  c.reserved = o.reserved_host_bytes;
  c.preprocess = in.preprocess_bytes;
  int64_t cpu_instances = 0, windows_per_round = 0;
  for (const DevicePlan& d : planned) {
    const int64_t windows = Mul(d.instances, d.batch_size);
    windows_per_round = Add(windows_per_round, windows);
    c.in_flight = Add(c.in_flight, Mul(Mul(windows, o.in_flight_per_instance), WindowBytes(m)));
    if (d.kind == DeviceKind::kCpu) {
      cpu_instances += d.instances;
      c.activations = Add(c.activations, Mul(windows, m.activation_bytes_per_window));
    }
  }
  c.weights = Mul(std::max<int64_t>(0, cpu_instances - 1), m.weight_bytes);
  c.queue_capacity =
      Mul(Mul(o.queue_depth_batches, windows_per_round), std::max(m.window_input_bytes, m.window_output_bytes));
  c.queues = Mul(o.host_queue_count, c.queue_capacity);
  return c;
}

Status Validate(const PlanInputs& in) {
  const PlannerOptions& o = in.options;
  if (in.devices.empty()) return Status::InvalidArgument("planner: no device to plan for");
  int cpus = 0;
  for (const DeviceMeasurement& d : in.devices) {
    if (d.kind == DeviceKind::kCpu) ++cpus;
    if (d.kind == DeviceKind::kCuda && d.free_bytes <= 0) {
      return Status::InvalidArgument("planner: " + d.name + " reports no free memory");
    }
    if (d.activation_bytes_per_window < 0)
      return Status::InvalidArgument("planner: negative activation bytes for " + d.name);
  }
  if (cpus > 1) return Status::InvalidArgument("planner: the CPU device is listed more than once");
  const ModelFootprint& m = in.model;
  if (m.window_input_bytes <= 0 || m.window_output_bytes <= 0) {
    return Status::InvalidArgument("planner: window input/output bytes must be positive");
  }
  if (m.weight_bytes < 0 || m.activation_bytes_per_window < 0 || in.memory_available_bytes < 0 ||
      in.process_baseline_bytes < 0 || in.preprocess_bytes < 0 || o.max_ram_bytes < 0 || o.max_vram_bytes < 0 ||
      o.reserved_host_bytes < 0) {
    return Status::InvalidArgument("planner: negative byte count in the inputs");
  }
  if (in.cores_available < 1) return Status::InvalidArgument("planner: cores_available must be at least 1");
  if (o.instances < 0 || o.intra_threads < 0 || o.batch_size < 0) {
    return Status::InvalidArgument("planner: instances, intra threads and batch size must be ≥ 0 (0 = choose)");
  }
  if (!(o.default_ram_fraction > 0 && o.default_ram_fraction <= 1) ||
      !(o.default_vram_fraction > 0 && o.default_vram_fraction <= 1)) {
    return Status::InvalidArgument("planner: default RAM/VRAM fractions must lie in (0, 1]");
  }
  const auto& ladder = o.batch_ladder;
  if (ladder.empty() || ladder.back() < 1 ||
      std::adjacent_find(ladder.begin(), ladder.end(), [](int64_t a, int64_t b) { return a <= b; }) != ladder.end()) {
    return Status::InvalidArgument("planner: batch ladder must be non-empty, positive and strictly descending");
  }
  if (o.cpu_max_batch_size < 1 || o.cpu_min_batch_size < 1 || o.max_auto_cpu_instances < 1 ||
      o.max_auto_gpu_instances < 1 || o.host_cores_per_gpu < 0 || o.in_flight_per_instance < 1 ||
      o.queue_depth_batches < 0 || o.host_queue_count < 0 || o.min_queue_bytes < 0) {
    return Status::InvalidArgument("planner: a tuning option is out of range");
  }
  return Status::OK();
}

class Planner {
 public:
  Planner(const PlanInputs& in, Plan* out) : in_(in), o_(in.options), out_(out) {}

  Status Run() {
    SetHostBudget();
    out_->devices.resize(in_.devices.size());
    int64_t gpus = 0;
    for (size_t i = 0; i < in_.devices.size(); ++i) {
      if (in_.devices[i].kind != DeviceKind::kCuda) continue;
      ++gpus;
      RAPID_RETURN_IF_ERROR(PlanGpu(in_.devices[i], &out_->devices[i]));
      planned_.push_back(out_->devices[i]);
    }
    for (size_t i = 0; i < in_.devices.size(); ++i) {
      if (in_.devices[i].kind != DeviceKind::kCpu) continue;
      RAPID_RETURN_IF_ERROR(PlanCpu(in_.devices[i], gpus, &out_->devices[i]));
      planned_.push_back(out_->devices[i]);
    }
    Summarise();
    return Status::OK();
  }

 private:
  void SetHostBudget() {
    const int64_t reachable = Add(in_.process_baseline_bytes, in_.memory_available_bytes);
    if (o_.max_ram_bytes > 0) {
      host_budget_ = o_.max_ram_bytes;
      host_budget_source_ = "--max-ram";
      if (host_budget_ > reachable) {
        host_budget_ = reachable;
        Reason("--max-ram " + FormatBytes(o_.max_ram_bytes) + " exceeds what this process can reach (" +
               FormatBytes(reachable) + " = held " + FormatBytes(in_.process_baseline_bytes) + " + available " +
               FormatBytes(in_.memory_available_bytes) + "); planning against the latter");
      } else {
        Reason("host RAM budget " + FormatBytes(host_budget_) + " from --max-ram");
      }
    } else {
      host_budget_ =
          Add(in_.process_baseline_bytes,
              static_cast<int64_t>(o_.default_ram_fraction * static_cast<double>(in_.memory_available_bytes)));
      host_budget_source_ = "default " + Percent(o_.default_ram_fraction) + " of available memory; set --max-ram";
      Reason("host RAM budget " + FormatBytes(host_budget_) + " = held " + FormatBytes(in_.process_baseline_bytes) +
             " + " + Percent(o_.default_ram_fraction) + " of available " + FormatBytes(in_.memory_available_bytes));
    }
    out_->host_budget_bytes = host_budget_;
  }

  // Host peak if `candidate` joins the devices planned so far.
  HostCost HostWith(const DevicePlan& candidate) const {
    std::vector<DevicePlan> all = planned_;
    all.push_back(candidate);
    return ComputeHostCost(in_, all);
  }

  DevicePlan MakeDevice(const DeviceMeasurement& d, int64_t instances, int64_t threads, int64_t batch) const {
    DevicePlan p;
    p.name = d.name;
    p.kind = d.kind;
    p.instances = instances;
    p.intra_threads = threads;
    p.batch_size = batch;
    p.in_flight_batches = instances * o_.in_flight_per_instance;
    const int64_t windows = Mul(instances, batch);
    p.host_bytes = Mul(Mul(windows, o_.in_flight_per_instance), WindowBytes(in_.model));
    if (d.kind == DeviceKind::kCpu) {
      p.host_bytes = Add(p.host_bytes, Mul(windows, in_.model.activation_bytes_per_window));
      p.host_bytes = Add(p.host_bytes, Mul(instances - 1, in_.model.weight_bytes));
    }
    return p;
  }

  bool HostFits(const DevicePlan& p) const { return HostWith(p).Total() <= host_budget_; }

  Status HostExhausted(const DevicePlan& p, const std::string& what) const {
    const HostCost c = HostWith(p);
    return Status::ResourceExhausted(p.name + ": " + what + " needs " + FormatBytes(c.Total()) + " of host RAM (" +
                                     c.Parts() + "), but the RAM budget is " + FormatBytes(host_budget_) + " (" +
                                     host_budget_source_ + ")");
  }

  // ---- GPU ----
  Status PlanGpu(const DeviceMeasurement& d, DevicePlan* out) {
    const int64_t act =
        d.activation_bytes_per_window > 0 ? d.activation_bytes_per_window : in_.model.activation_bytes_per_window;
    int64_t budget = 0;
    std::string source;
    if (o_.max_vram_bytes > 0) {
      budget = std::min(o_.max_vram_bytes, d.free_bytes);
      source =
          budget < o_.max_vram_bytes ? "--max-vram lowered to the free " + FormatBytes(d.free_bytes) : "--max-vram";
    } else {
      budget = static_cast<int64_t>(o_.default_vram_fraction * static_cast<double>(d.free_bytes));
      source = Percent(o_.default_vram_fraction) + " of free " + FormatBytes(d.free_bytes);
    }
    auto peak = [&](int64_t instances, int64_t batch) {
      return Mul(instances, Add(in_.model.weight_bytes, Mul(batch, act)));
    };
    auto fits = [&](int64_t instances, int64_t batch) {
      return peak(instances, batch) <= budget && HostFits(MakeDevice(d, instances, 1, batch));
    };

    const std::vector<int64_t> batches = o_.batch_size > 0 ? std::vector<int64_t>{o_.batch_size} : o_.batch_ladder;
    const int64_t first_instances = o_.instances > 0 ? o_.instances : 1;
    for (int64_t batch : batches) {
      if (!fits(first_instances, batch)) continue;
      int64_t instances = first_instances;
      if (o_.instances == 0) {
        while (instances < o_.max_auto_gpu_instances && fits(instances + 1, batch)) ++instances;
      }
      *out = MakeDevice(d, instances, 1, batch);
      out->device_budget_bytes = budget;
      out->device_peak_bytes = peak(instances, batch);
      Reason(d.name + ": VRAM budget " + FormatBytes(budget) + " (" + source + "); activations " + FormatBytes(act) +
             "/window" + (d.activation_bytes_per_window > 0 ? " measured on the device" : " (CPU measurement)"));
      std::string why = o_.batch_size > 0 ? "--batch-size" : "the largest ladder batch that fits";
      std::string inst =
          o_.instances > 0 ? "--instances"
          : instances < o_.max_auto_gpu_instances
              ? "another would need " + FormatBytes(peak(instances + 1, batch)) + " of VRAM or more host RAM"
              : "the most planned per GPU; overlaps copies with compute";
      Reason(d.name + ": " + Shape(instances, batch) + " (batch: " + why + "; instances: " + inst + "), peak " +
             FormatBytes(out->device_peak_bytes) + " of VRAM");
      return Status::OK();
    }
    const int64_t batch = batches.back();
    const std::string what =
        Shape(first_instances, batch) + (o_.batch_size > 0 || o_.instances > 0 ? " (as overridden)" : "");
    if (peak(first_instances, batch) > budget) {
      return Status::ResourceExhausted(
          d.name + ": " + what + " needs " + FormatBytes(peak(first_instances, batch)) + " of GPU memory (weights " +
          FormatBytes(in_.model.weight_bytes) + " + activations " + FormatBytes(act) +
          "/window, per instance), but the VRAM budget is " + FormatBytes(budget) + " (" + source + ")");
    }
    return HostExhausted(MakeDevice(d, first_instances, 1, batch), what);
  }

  // ---- CPU ----
  Status PlanCpu(const DeviceMeasurement& d, int64_t gpus, DevicePlan* out) {
    int64_t cores = in_.cores_available;
    if (gpus > 0) {
      cores = std::max<int64_t>(1, cores - o_.host_cores_per_gpu * gpus);
      Reason("cpu: " + std::to_string(cores) + " of " + std::to_string(in_.cores_available) +
             " cores for CPU instances (" + std::to_string(o_.host_cores_per_gpu) + " per GPU kept for feeding)");
    }
    // Default split: one thread per instance up to max_auto_cpu_instances.
    int64_t start_instances = 0;
    std::string split_why;
    if (o_.instances > 0) {
      start_instances = o_.instances;
      split_why = "--instances";
    } else if (o_.intra_threads > 0) {
      start_instances = std::max<int64_t>(1, cores / o_.intra_threads);
      split_why = "cores / --intra-threads";
    } else {
      const int64_t threads = (cores + o_.max_auto_cpu_instances - 1) / o_.max_auto_cpu_instances;
      start_instances = cores / threads;
      split_why = threads == 1 ? "one thread per instance scales best"
                               : "instances capped at " + std::to_string(o_.max_auto_cpu_instances) +
                                     "; remaining cores become intra-op threads";
    }
    auto threads_for = [&](int64_t instances) {
      return o_.intra_threads > 0 ? o_.intra_threads : std::max<int64_t>(1, cores / instances);
    };

    std::vector<int64_t> main_batches, small_batches;
    if (o_.batch_size > 0) {
      main_batches = {o_.batch_size};
    } else {
      for (int64_t b : o_.batch_ladder) {
        if (b > o_.cpu_max_batch_size) continue;
        (b >= o_.cpu_min_batch_size ? main_batches : small_batches).push_back(b);
      }
      if (main_batches.empty() && small_batches.empty()) small_batches = {o_.batch_ladder.back()};
    }
    const int64_t last_instances = o_.instances > 0 ? o_.instances : 1;

    std::optional<DevicePlan> chosen;
    for (int64_t instances = start_instances; instances >= last_instances && !chosen; --instances) {
      for (int64_t batch : main_batches) {
        DevicePlan p = MakeDevice(d, instances, threads_for(instances), batch);
        if (HostFits(p)) {
          chosen = p;
          break;
        }
      }
    }
    for (size_t i = 0; i < small_batches.size() && !chosen; ++i) {
      DevicePlan p = MakeDevice(d, last_instances, threads_for(last_instances), small_batches[i]);
      if (HostFits(p)) chosen = p;
    }
    if (!chosen) {
      const int64_t batch = !small_batches.empty() ? small_batches.back() : main_batches.back();
      const bool forced = o_.batch_size > 0 || o_.instances > 0;
      return HostExhausted(MakeDevice(d, last_instances, threads_for(last_instances), batch),
                           Shape(last_instances, batch) + (forced ? " (as overridden)" : ""));
    }
    *out = *chosen;

    const int64_t threads_used = out->instances * out->intra_threads;
    Reason("cpu: " + std::to_string(out->instances) + " instances × " + std::to_string(out->intra_threads) +
           " intra-op threads on " + std::to_string(cores) + " cores (" + split_why + ")" +
           (out->instances < start_instances
                ? "; fewer instances than " + std::to_string(start_instances) +
                      " because more did not fit the RAM budget at batch ≥ " + std::to_string(o_.cpu_min_batch_size)
                : ""));
    if (threads_used > cores) {
      Reason("cpu: warning: " + std::to_string(threads_used) + " threads on " + std::to_string(cores) +
             " cores (oversubscribed by the overrides; correct but slower)");
    }
    std::string batch_why = "--batch-size";
    if (o_.batch_size == 0) {
      const int64_t top = main_batches.empty() ? small_batches.front() : main_batches.front();
      batch_why = out->batch_size == top
                      ? "the largest automatic CPU batch, cap " + std::to_string(o_.cpu_max_batch_size)
                      : "larger batches do not fit the RAM budget";
    }
    Reason("cpu: batch " + std::to_string(out->batch_size) + " (" + batch_why + "); activations " +
           FormatBytes(in_.model.activation_bytes_per_window) + "/window, weights " +
           FormatBytes(in_.model.weight_bytes) + " per instance");
    return Status::OK();
  }

  void Summarise() {
    HostCost c = ComputeHostCost(in_, planned_);
    // The read-ahead floor, as far as the budget leaves room for it.
    if (o_.host_queue_count > 0 && o_.min_queue_bytes > c.queue_capacity && host_budget_ > c.Total()) {
      const int64_t room_per_queue = (host_budget_ - c.Total()) / o_.host_queue_count;
      const int64_t raised = std::min(o_.min_queue_bytes, Add(c.queue_capacity, room_per_queue));
      c.queues = Add(c.queues, Mul(o_.host_queue_count, raised - c.queue_capacity));
      c.queue_capacity = raised;
    }
    out_->queue_capacity_bytes = c.queue_capacity;
    out_->host_queue_count = o_.host_queue_count;
    out_->expected_peak_host_bytes = c.Total();
    for (const DevicePlan& d : out_->devices) {
      out_->in_flight_batches += d.in_flight_batches;
      if (d.kind == DeviceKind::kCpu) out_->cpu_cores_used += d.instances * d.intra_threads;
    }
    Reason(std::to_string(o_.host_queue_count) + " host queues of " + FormatBytes(c.queue_capacity) + " each (" +
           std::to_string(o_.queue_depth_batches) + " rounds of every instance's batch); " +
           std::to_string(out_->in_flight_batches) + " batches in flight");
    Reason("expected host peak " + FormatBytes(c.Total()) + " of budget " + FormatBytes(host_budget_) + " (" +
           c.Parts() + ")");
  }

  void Reason(std::string line) { out_->reasons.push_back(std::move(line)); }

  const PlanInputs& in_;
  const PlannerOptions& o_;
  Plan* out_;
  int64_t host_budget_ = 0;
  std::string host_budget_source_;
  std::vector<DevicePlan> planned_;  // devices decided so far, in planning order (GPUs first)
};

}  // namespace

Status MakePlan(const PlanInputs& in, Plan* out) {
  RAPID_RETURN_IF_ERROR(Validate(in));
  Plan plan;
  RAPID_RETURN_IF_ERROR(Planner(in, &plan).Run());
  *out = std::move(plan);
  return Status::OK();
}

void ShareHostBudget(double share, int64_t held_bytes, PlannerOptions* o) {
  if (share >= 1.0) return;
  if (o->max_ram_bytes > 0) {
    const int64_t above = std::max<int64_t>(0, o->max_ram_bytes - held_bytes);
    o->max_ram_bytes = held_bytes + static_cast<int64_t>(share * static_cast<double>(above));
  }
  o->default_ram_fraction *= share;
}

}  // namespace rapid
