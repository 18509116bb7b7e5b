#include "dispatch/planner.h"

#include <gtest/gtest.h>

#include <string>

#include "dispatch/resource_probe.h"

namespace rapid {
namespace {

constexpr int64_t kMiB = int64_t{1} << 20, kGiB = kMiB << 10;

// PhaseNet-like made-up measurements: 3 × 3001 float32 in, 3 × 3001 out.
constexpr int64_t kWindowBytes = 3 * 3001 * 4;
constexpr int64_t kWeight = 1 * kMiB;
constexpr int64_t kActivation = 2 * kMiB;
constexpr int64_t kBaseline = 300 * kMiB;
constexpr int64_t kReserved = 64 * kMiB;  // PlannerOptions default

// Host bytes one extra CPU window costs with default options: activations, 2 in-flight copies
// of input + output, and 3 queues × 2 rounds of its input.
constexpr int64_t kCpuBytesPerWindow = kActivation + 2 * 2 * kWindowBytes + 3 * 2 * kWindowBytes;

// The tests of the planner's arithmetic use these options, spelled out so that the expectations
// below follow from them (PlannerTest.DefaultsAreThePipelines checks the defaults themselves).
void ArithmeticOptions(PlannerOptions* o) {
  o->cpu_max_batch_size = 128;
  o->in_flight_per_instance = 2;
  o->host_queue_count = 3;
  o->min_queue_bytes = 0;
}

PlanInputs CpuInputs(int64_t cores, int64_t available_bytes) {
  PlanInputs in;
  ArithmeticOptions(&in.options);
  in.devices = {DeviceMeasurement{}};  // cpu
  in.model = {kWeight, kActivation, kWindowBytes, kWindowBytes};
  in.cores_available = cores;
  in.memory_available_bytes = available_bytes;
  in.process_baseline_bytes = kBaseline;
  return in;
}

DeviceMeasurement Gpu(const std::string& name, int64_t free_bytes, int64_t activation_bytes) {
  DeviceMeasurement d;
  d.kind = DeviceKind::kCuda;
  d.name = name;
  d.free_bytes = free_bytes;
  d.total_bytes = free_bytes + kGiB;
  d.activation_bytes_per_window = activation_bytes;
  return d;
}

bool AnyReasonContains(const Plan& p, const std::string& text) {
  for (const std::string& r : p.reasons) {
    if (r.find(text) != std::string::npos) return true;
  }
  return false;
}

TEST(PlannerTest, DefaultsAreThePipelines) {
  // One bounded queue (the annotator's block pieces), one batch buffer per instance, the measured
  // CPU batch cap, and the read-ahead floor when the budget allows it.
  PlanInputs in = CpuInputs(2, 24 * kGiB);
  in.options = PlannerOptions();
  Plan p;
  ASSERT_TRUE(MakePlan(in, &p).ok());
  EXPECT_EQ(p.devices[0].instances, 2);
  EXPECT_EQ(p.devices[0].batch_size, 8);
  EXPECT_EQ(p.in_flight_batches, 2);
  EXPECT_EQ(p.host_queue_count, 1);
  EXPECT_EQ(p.queue_capacity_bytes, int64_t{64} << 20);
  EXPECT_EQ(p.expected_peak_host_bytes, kBaseline + kReserved + kWeight + 16 * kActivation + 16 * 2 * kWindowBytes +
                                            (int64_t{64} << 20));
  // A budget with less room gets less read-ahead, never more than it holds.
  in.options.max_ram_bytes = kBaseline + kReserved + kWeight + 16 * (kActivation + 2 * kWindowBytes) + (int64_t{8} << 20);
  ASSERT_TRUE(MakePlan(in, &p).ok());
  EXPECT_LE(p.expected_peak_host_bytes, in.options.max_ram_bytes);
  EXPECT_LT(p.queue_capacity_bytes, int64_t{64} << 20);
  EXPECT_GE(p.queue_capacity_bytes, 2 * 16 * kWindowBytes);
}

TEST(PlannerTest, TwoCores24GiBUsesOneThreadPerInstanceAndTheCpuBatchCap) {
  Plan p;
  ASSERT_TRUE(MakePlan(CpuInputs(2, 24 * kGiB), &p).ok());
  ASSERT_EQ(p.devices.size(), 1u);
  const DevicePlan& cpu = p.devices[0];
  EXPECT_EQ(cpu.kind, DeviceKind::kCpu);
  EXPECT_EQ(cpu.instances, 2);
  EXPECT_EQ(cpu.intra_threads, 1);
  EXPECT_EQ(cpu.batch_size, 128);
  EXPECT_EQ(cpu.in_flight_batches, 4);
  EXPECT_EQ(p.in_flight_batches, 4);
  EXPECT_EQ(p.cpu_cores_used, 2);
  EXPECT_EQ(p.host_budget_bytes, kBaseline + static_cast<int64_t>(0.7 * 24 * kGiB));
  // The memory model, spelled out: queues hold 2 rounds of 2 × 128 input windows.
  EXPECT_EQ(p.host_queue_count, 3);
  EXPECT_EQ(p.queue_capacity_bytes, 2 * 256 * kWindowBytes);
  EXPECT_EQ(p.expected_peak_host_bytes, kBaseline + kReserved + kWeight + 256 * kActivation +
                                            2 * 256 * 2 * kWindowBytes + 3 * p.queue_capacity_bytes);
  EXPECT_EQ(p.expected_peak_host_bytes, kBaseline + kReserved + kWeight + 256 * kCpuBytesPerWindow);
  EXPECT_LE(p.expected_peak_host_bytes, p.host_budget_bytes);
  EXPECT_TRUE(AnyReasonContains(p, "one thread per instance"));
  EXPECT_TRUE(AnyReasonContains(p, "largest automatic CPU batch"));
}

TEST(PlannerTest, SixteenCoresCapInstancesAndGrowThreads) {
  Plan p;
  ASSERT_TRUE(MakePlan(CpuInputs(16, 64 * kGiB), &p).ok());
  EXPECT_EQ(p.devices[0].instances, 8);
  EXPECT_EQ(p.devices[0].intra_threads, 2);
  EXPECT_EQ(p.devices[0].batch_size, 128);
  EXPECT_EQ(p.cpu_cores_used, 16);

  ASSERT_TRUE(MakePlan(CpuInputs(12, 64 * kGiB), &p).ok());
  EXPECT_EQ(p.devices[0].instances, 6);
  EXPECT_EQ(p.devices[0].intra_threads, 2);
  ASSERT_TRUE(MakePlan(CpuInputs(1, 64 * kGiB), &p).ok());
  EXPECT_EQ(p.devices[0].instances, 1);
  EXPECT_EQ(p.devices[0].intra_threads, 1);
}

TEST(PlannerTest, TinyRamBudgetForcesSmallerBatchThenFewerInstances) {
  PlanInputs in = CpuInputs(2, 24 * kGiB);
  // Room for 2 instances × 24 windows: batch 32 does not fit, 16 does.
  in.options.max_ram_bytes = kBaseline + kReserved + kWeight + 2 * 24 * kCpuBytesPerWindow;
  Plan p;
  ASSERT_TRUE(MakePlan(in, &p).ok());
  EXPECT_EQ(p.devices[0].instances, 2);
  EXPECT_EQ(p.devices[0].batch_size, 16);
  EXPECT_LE(p.expected_peak_host_bytes, in.options.max_ram_bytes);
  EXPECT_TRUE(AnyReasonContains(p, "larger batches do not fit"));

  // Room for 12 windows: 2 × 8 does not fit, so one instance (with both cores) at batch 8.
  in.options.max_ram_bytes = kBaseline + kReserved + 12 * kCpuBytesPerWindow;
  ASSERT_TRUE(MakePlan(in, &p).ok());
  EXPECT_EQ(p.devices[0].instances, 1);
  EXPECT_EQ(p.devices[0].intra_threads, 2);
  EXPECT_EQ(p.devices[0].batch_size, 8);
  EXPECT_TRUE(AnyReasonContains(p, "more did not fit"));

  // Room for 5 windows: below the preferred minimum, one instance at batch 4.
  in.options.max_ram_bytes = kBaseline + kReserved + 5 * kCpuBytesPerWindow;
  ASSERT_TRUE(MakePlan(in, &p).ok());
  EXPECT_EQ(p.devices[0].instances, 1);
  EXPECT_EQ(p.devices[0].batch_size, 4);
}

// N models in one process: each grows into 1/N of what is left above the memory held, so all of
// them together stay within the one budget.
TEST(PlannerTest, SharedHostBudgetSplitsWhatIsLeftAboveTheHeldMemory) {
  PlannerOptions o;
  o.max_ram_bytes = 10 * kGiB;
  ShareHostBudget(0.5, 2 * kGiB, &o);
  EXPECT_EQ(o.max_ram_bytes, 6 * kGiB);  // 2 held + half of the 8 above
  EXPECT_DOUBLE_EQ(o.default_ram_fraction, 0.35);
  PlannerOptions whole;
  whole.max_ram_bytes = 10 * kGiB;
  ShareHostBudget(1.0, 2 * kGiB, &whole);
  EXPECT_EQ(whole.max_ram_bytes, 10 * kGiB);
  EXPECT_DOUBLE_EQ(whole.default_ram_fraction, 0.7);
  // Planned with the share, the plan's peak stays within it.
  PlanInputs in = CpuInputs(2, 24 * kGiB);
  in.options.max_ram_bytes = kBaseline + kReserved + kWeight + 2 * 24 * kCpuBytesPerWindow;
  ShareHostBudget(0.5, in.process_baseline_bytes, &in.options);
  Plan p;
  ASSERT_TRUE(MakePlan(in, &p).ok());
  EXPECT_LE(p.expected_peak_host_bytes, in.options.max_ram_bytes);
}

TEST(PlannerTest, ImpossibleRamBudgetSaysWhatIsNeeded) {
  PlanInputs in = CpuInputs(2, 24 * kGiB);
  in.options.max_ram_bytes = kBaseline + kReserved + kMiB;  // less than one window's activations
  Plan p;
  const Status s = MakePlan(in, &p);
  ASSERT_EQ(s.code(), Status::Code::kResourceExhausted) << s.ToString();
  const std::string needed = FormatBytes(kBaseline + kReserved + kCpuBytesPerWindow);
  EXPECT_NE(s.message().find("cpu: 1 instance at batch 1 needs " + needed), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("budget is " + FormatBytes(in.options.max_ram_bytes) + " (--max-ram)"), std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("activations 2.00 MiB"), std::string::npos) << s.message();

  // The default budget fails the same way when little memory is available.
  in.options.max_ram_bytes = 0;
  in.memory_available_bytes = 32 * kMiB;  // 70% of it is below the reserve
  EXPECT_EQ(MakePlan(in, &p).code(), Status::Code::kResourceExhausted);
}

// The input's preprocessing (sized by the caller from its rates) is planned like the reserve: the
// same budget that held 2 × 16 windows holds fewer beside it, and one that cannot hold it says so.
TEST(PlannerTest, PreprocessingBytesTakeTheirShareOfTheBudget) {
  PlanInputs in = CpuInputs(2, 24 * kGiB);
  in.options.max_ram_bytes = kBaseline + kReserved + kWeight + 2 * 24 * kCpuBytesPerWindow;
  in.preprocess_bytes = 20 * kCpuBytesPerWindow;  // leaves room for 28 windows: 2 × 8, not 2 × 16
  Plan p;
  ASSERT_TRUE(MakePlan(in, &p).ok());
  EXPECT_EQ(p.devices[0].instances, 2);
  EXPECT_EQ(p.devices[0].batch_size, 8);
  EXPECT_LE(p.expected_peak_host_bytes, in.options.max_ram_bytes);
  EXPECT_TRUE(AnyReasonContains(p, "+ preprocessing " + FormatBytes(in.preprocess_bytes) + " +"));

  in.preprocess_bytes = in.options.max_ram_bytes;
  const Status s = MakePlan(in, &p);
  ASSERT_EQ(s.code(), Status::Code::kResourceExhausted) << s.ToString();
  EXPECT_NE(s.message().find("preprocessing " + FormatBytes(in.preprocess_bytes)), std::string::npos) << s.message();

  in.preprocess_bytes = -1;
  EXPECT_EQ(MakePlan(in, &p).code(), Status::Code::kInvalidArgument);
  in.preprocess_bytes = 0;
  ASSERT_TRUE(MakePlan(in, &p).ok());
  EXPECT_FALSE(AnyReasonContains(p, "preprocessing"));
}

TEST(PlannerTest, OverridesAreUsedAsGiven) {
  PlanInputs in = CpuInputs(2, 24 * kGiB);
  in.options.instances = 1;
  in.options.intra_threads = 2;
  in.options.batch_size = 32;
  Plan p;
  ASSERT_TRUE(MakePlan(in, &p).ok());
  EXPECT_EQ(p.devices[0].instances, 1);
  EXPECT_EQ(p.devices[0].intra_threads, 2);
  EXPECT_EQ(p.devices[0].batch_size, 32);
  EXPECT_TRUE(AnyReasonContains(p, "--batch-size"));

  // A batch above the automatic CPU cap is allowed when asked for.
  in.options = PlannerOptions();
  in.options.batch_size = 512;
  ASSERT_TRUE(MakePlan(in, &p).ok());
  EXPECT_EQ(p.devices[0].batch_size, 512);
  EXPECT_EQ(p.devices[0].instances, 2);

  // Only --intra-threads: instances fill the remaining cores.
  PlanInputs eight = CpuInputs(8, 24 * kGiB);
  eight.options.intra_threads = 2;
  ASSERT_TRUE(MakePlan(eight, &p).ok());
  EXPECT_EQ(p.devices[0].instances, 4);
  EXPECT_EQ(p.devices[0].intra_threads, 2);

  // Oversubscription is slower, not wrong: allowed and noted.
  in.options = PlannerOptions();
  in.options.instances = 4;
  in.options.intra_threads = 2;
  ASSERT_TRUE(MakePlan(in, &p).ok());
  EXPECT_EQ(p.cpu_cores_used, 8);
  EXPECT_TRUE(AnyReasonContains(p, "oversubscribed"));
}

TEST(PlannerTest, OverridesAreStillCheckedAgainstTheBudget) {
  PlanInputs in = CpuInputs(2, 24 * kGiB);
  in.options.max_ram_bytes = kBaseline + kReserved + kWeight + 2 * 24 * kCpuBytesPerWindow;
  in.options.instances = 2;
  in.options.batch_size = 256;
  Plan p;
  const Status s = MakePlan(in, &p);
  ASSERT_EQ(s.code(), Status::Code::kResourceExhausted);
  EXPECT_NE(s.message().find("2 instances at batch 256 (as overridden)"), std::string::npos) << s.message();

  // With instances left to the planner, a forced batch makes it drop instances instead.
  in.options.instances = 0;
  in.options.batch_size = 32;
  ASSERT_TRUE(MakePlan(in, &p).ok());
  EXPECT_EQ(p.devices[0].instances, 1);
  EXPECT_EQ(p.devices[0].intra_threads, 2);
  EXPECT_EQ(p.devices[0].batch_size, 32);
}

TEST(PlannerTest, CgroupQuotaOfOneAndAHalfCoresAndMemoryLimit) {
  MachineResources m;
  m.cores_affinity = 8;
  m.cpu_quota_cores = 1.5;
  m.memory_available_bytes = 24 * kGiB;
  m.cgroup_memory_limit_bytes = 2 * kGiB;
  m.cgroup_memory_usage_bytes = kGiB / 2;
  PlanInputs in = CpuInputs(UsableCores(m), UsableMemoryBytes(m));
  Plan p;
  ASSERT_TRUE(MakePlan(in, &p).ok());
  EXPECT_EQ(p.devices[0].instances, 2);
  EXPECT_EQ(p.devices[0].intra_threads, 1);
  EXPECT_EQ(p.host_budget_bytes, kBaseline + static_cast<int64_t>(0.7 * (3 * kGiB / 2)));
  EXPECT_EQ(p.devices[0].batch_size, 128);  // 2 × 128 × ~2.4 MiB fits in ~1 GiB
}

TEST(PlannerTest, MaxRamAboveWhatIsReachableIsLowered) {
  PlanInputs in = CpuInputs(2, 4 * kGiB);
  in.options.max_ram_bytes = 100 * kGiB;
  Plan p;
  ASSERT_TRUE(MakePlan(in, &p).ok());
  EXPECT_EQ(p.host_budget_bytes, kBaseline + 4 * kGiB);
  EXPECT_TRUE(AnyReasonContains(p, "exceeds what this process can reach"));
}

TEST(PlannerTest, TwoGpusWithDifferentFreeMemory) {
  PlanInputs in = CpuInputs(8, 24 * kGiB);
  const int64_t act = 20 * kMiB;
  in.devices = {Gpu("cuda:0", 40 * kGiB, act), Gpu("cuda:1", 2 * kGiB, act)};
  Plan p;
  ASSERT_TRUE(MakePlan(in, &p).ok());
  ASSERT_EQ(p.devices.size(), 2u);
  const DevicePlan& big = p.devices[0];
  const DevicePlan& small = p.devices[1];
  EXPECT_EQ(big.name, "cuda:0");
  EXPECT_EQ(big.kind, DeviceKind::kCuda);
  EXPECT_EQ(big.batch_size, 256);
  EXPECT_EQ(big.instances, 2);
  EXPECT_EQ(big.intra_threads, 1);
  EXPECT_EQ(big.device_budget_bytes, static_cast<int64_t>(0.8 * 40 * kGiB));
  EXPECT_EQ(big.device_peak_bytes, 2 * (kWeight + 256 * act));
  // 0.8 × 2 GiB = 1.6 GiB: batch 128 needs 2.5 GiB, 64 needs 1.25 GiB; a second one does not fit.
  EXPECT_EQ(small.batch_size, 64);
  EXPECT_EQ(small.instances, 1);
  EXPECT_EQ(small.device_peak_bytes, kWeight + 64 * act);
  EXPECT_LE(small.device_peak_bytes, small.device_budget_bytes);
  EXPECT_EQ(p.cpu_cores_used, 0);
  EXPECT_EQ(p.in_flight_batches, 2 * 2 + 1 * 2);
  // No CPU instances: the host holds pinned in-flight buffers and queues, no activations.
  EXPECT_EQ(p.expected_peak_host_bytes,
            kBaseline + kReserved + (2 * 256 + 64) * 2 * 2 * kWindowBytes + 3 * p.queue_capacity_bytes);
  EXPECT_EQ(p.queue_capacity_bytes, 2 * (2 * 256 + 64) * kWindowBytes);
  EXPECT_TRUE(AnyReasonContains(p, "cuda:1: 1 instance at batch 64"));
}

TEST(PlannerTest, GpuUsesCpuActivationWhenNotMeasuredAndMaxVram) {
  PlanInputs in = CpuInputs(2, 24 * kGiB);
  in.devices = {Gpu("cuda:0", 40 * kGiB, 0)};
  in.options.max_vram_bytes = 100 * kMiB;  // 1 MiB weights + 2 MiB/window: batch 32 → 65 MiB
  Plan p;
  ASSERT_TRUE(MakePlan(in, &p).ok());
  EXPECT_EQ(p.devices[0].device_budget_bytes, 100 * kMiB);
  EXPECT_EQ(p.devices[0].batch_size, 32);
  EXPECT_EQ(p.devices[0].instances, 1);  // 2 × 65 MiB > 100 MiB
  EXPECT_TRUE(AnyReasonContains(p, "CPU measurement"));

  in.options.max_vram_bytes = 100 * kGiB;  // more than free: lowered
  ASSERT_TRUE(MakePlan(in, &p).ok());
  EXPECT_EQ(p.devices[0].device_budget_bytes, 40 * kGiB);
  EXPECT_TRUE(AnyReasonContains(p, "lowered to the free"));
}

TEST(PlannerTest, GpuTooSmallForOneWindowIsAClearError) {
  PlanInputs in = CpuInputs(2, 24 * kGiB);
  in.devices = {Gpu("cuda:0", 40 * kGiB, 20 * kMiB), Gpu("cuda:1", 16 * kMiB, 20 * kMiB)};
  Plan p;
  const Status s = MakePlan(in, &p);
  ASSERT_EQ(s.code(), Status::Code::kResourceExhausted);
  EXPECT_NE(
      s.message().find("cuda:1: 1 instance at batch 1 needs " + FormatBytes(kWeight + 20 * kMiB) + " of GPU memory"),
      std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("VRAM budget is " + FormatBytes(static_cast<int64_t>(0.8 * 16 * kMiB))), std::string::npos)
      << s.message();
}

TEST(PlannerTest, CpuAndGpuTogetherLeaveCoresToFeedTheGpu) {
  PlanInputs in = CpuInputs(4, 24 * kGiB);
  in.devices = {DeviceMeasurement{}, Gpu("cuda:0", 16 * kGiB, 10 * kMiB)};
  Plan p;
  ASSERT_TRUE(MakePlan(in, &p).ok());
  ASSERT_EQ(p.devices.size(), 2u);
  const DevicePlan& cpu = p.devices[0];
  const DevicePlan& gpu = p.devices[1];
  EXPECT_EQ(cpu.kind, DeviceKind::kCpu);
  EXPECT_EQ(cpu.instances, 3);
  EXPECT_EQ(cpu.intra_threads, 1);
  EXPECT_EQ(cpu.batch_size, 128);
  EXPECT_EQ(gpu.kind, DeviceKind::kCuda);
  EXPECT_EQ(gpu.instances, 2);
  EXPECT_EQ(gpu.batch_size, 256);
  EXPECT_EQ(p.cpu_cores_used, 3);
  EXPECT_TRUE(AnyReasonContains(p, "3 of 4 cores for CPU instances"));
  // The host peak counts both: CPU activations and extra weights, everyone's buffers and queues.
  const int64_t windows = 3 * 128 + 2 * 256;
  EXPECT_EQ(p.queue_capacity_bytes, 2 * windows * kWindowBytes);
  EXPECT_EQ(p.expected_peak_host_bytes, kBaseline + kReserved + 2 * kWeight + 3 * 128 * kActivation +
                                            windows * 2 * 2 * kWindowBytes + 3 * p.queue_capacity_bytes);
  EXPECT_EQ(cpu.host_bytes, 2 * kWeight + 3 * 128 * (kActivation + 2 * 2 * kWindowBytes));
}

TEST(PlannerTest, RejectsMalformedInputs) {
  Plan p;
  PlanInputs in = CpuInputs(2, 24 * kGiB);
  in.devices.clear();
  EXPECT_EQ(MakePlan(in, &p).code(), Status::Code::kInvalidArgument);
  in = CpuInputs(2, 24 * kGiB);
  in.devices.push_back(DeviceMeasurement{});
  EXPECT_EQ(MakePlan(in, &p).code(), Status::Code::kInvalidArgument);
  in = CpuInputs(2, 24 * kGiB);
  in.options.batch_ladder = {8, 16};
  EXPECT_EQ(MakePlan(in, &p).code(), Status::Code::kInvalidArgument);
  in = CpuInputs(2, 24 * kGiB);
  in.model.window_input_bytes = 0;
  EXPECT_EQ(MakePlan(in, &p).code(), Status::Code::kInvalidArgument);
  in = CpuInputs(0, 24 * kGiB);
  EXPECT_EQ(MakePlan(in, &p).code(), Status::Code::kInvalidArgument);
  in = CpuInputs(2, 24 * kGiB);
  in.devices = {Gpu("cuda:0", 0, 0)};
  EXPECT_EQ(MakePlan(in, &p).code(), Status::Code::kInvalidArgument);
  in = CpuInputs(2, 24 * kGiB);
  in.options.batch_size = -1;
  EXPECT_EQ(MakePlan(in, &p).code(), Status::Code::kInvalidArgument);
}

TEST(PlannerTest, AbsurdOverrideSaturatesInsteadOfOverflowing) {
  PlanInputs in = CpuInputs(2, 24 * kGiB);
  in.options.batch_size = int64_t{1} << 50;
  Plan p;
  EXPECT_EQ(MakePlan(in, &p).code(), Status::Code::kResourceExhausted);
}

}  // namespace
}  // namespace rapid
