#include "dispatch/resource_probe.h"

#include <gtest/gtest.h>
#include <pthread.h>
#include <sched.h>

#include <cstring>
#include <thread>
#include <vector>

namespace rapid {
namespace {

constexpr int64_t kKiB = 1024, kMiB = kKiB << 10, kGiB = kMiB << 10;

TEST(ResourceProbeTest, ParsesCgroupV2CpuMax) {
  EXPECT_EQ(ParseCpuMax("150000 100000"), 1.5);
  EXPECT_EQ(ParseCpuMax("200000 100000\n"), 2.0);
  EXPECT_EQ(ParseCpuMax("max 100000\n"), 0.0);  // no quota
  EXPECT_FALSE(ParseCpuMax(""));
  EXPECT_FALSE(ParseCpuMax("150000"));
  EXPECT_FALSE(ParseCpuMax("abc 100000"));
  EXPECT_FALSE(ParseCpuMax("150000 0"));
}

TEST(ResourceProbeTest, ParsesCgroupV1CfsQuota) {
  EXPECT_EQ(ParseCfsQuota("50000\n", "100000\n"), 0.5);
  EXPECT_EQ(ParseCfsQuota("-1\n", "100000\n"), 0.0);  // no quota
  EXPECT_FALSE(ParseCfsQuota("x", "100000"));
  EXPECT_FALSE(ParseCfsQuota("50000", "0"));
}

TEST(ResourceProbeTest, ParsesMemoryLimits) {
  EXPECT_EQ(ParseMemoryLimit("max\n"), 0);
  EXPECT_EQ(ParseMemoryLimit("9223372036854771712\n"), 0);  // v1 "unlimited"
  EXPECT_EQ(ParseMemoryLimit("536870912\n"), 536870912);
  EXPECT_FALSE(ParseMemoryLimit("-5"));
  EXPECT_FALSE(ParseMemoryLimit("lots"));
}

TEST(ResourceProbeTest, ParsesKeyedMemoryStat) {
  const char* stat = "cache 9359360\nrss 4296704\ninactive_file 0\ntotal_inactive_file 696082432\n";
  EXPECT_EQ(ParseKeyedValue(stat, "total_inactive_file"), 696082432);
  EXPECT_EQ(ParseKeyedValue(stat, "inactive_file"), 0);  // whole key, not a suffix
  EXPECT_FALSE(ParseKeyedValue(stat, "active_file"));
}

TEST(ResourceProbeTest, ParsesMeminfo) {
  const char* text =
      "MemTotal:       24683620 kB\nMemFree:        23306912 kB\nMemAvailable:   24249660 kB\n"
      "Buffers:            3512 kB\nCached:          1099972 kB\n";
  int64_t total = 0, available = 0;
  ASSERT_TRUE(ParseMeminfo(text, &total, &available).ok());
  EXPECT_EQ(total, 24683620 * kKiB);
  EXPECT_EQ(available, 24249660 * kKiB);

  // Pre-3.14 kernels: MemFree + Buffers + Cached.
  ASSERT_TRUE(
      ParseMeminfo("MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 20 kB\nCached: 300 kB\n", &total, &available).ok());
  EXPECT_EQ(total, 1000 * kKiB);
  EXPECT_EQ(available, 420 * kKiB);

  EXPECT_EQ(ParseMeminfo("MemFree: 100 kB\n", &total, &available).code(), Status::Code::kCorruption);
  EXPECT_EQ(ParseMeminfo("MemTotal: 100 kB\n", &total, &available).code(), Status::Code::kCorruption);
}

TEST(ResourceProbeTest, ParsesProcSelfCgroup) {
  const char* v1 = "9:name=systemd:/\n4:memory:/process_api/ae31\n3:cpuset:/\n2:cpuacct,cpu:/docker/abc\n0::/\n";
  EXPECT_EQ(ParseCgroupPath(v1, "memory"), "/process_api/ae31");
  EXPECT_EQ(ParseCgroupPath(v1, "cpu"), "/docker/abc");
  EXPECT_EQ(ParseCgroupPath(v1, "cpuset"), "/");
  EXPECT_EQ(ParseCgroupPath(v1, ""), "/");
  EXPECT_FALSE(ParseCgroupPath(v1, "pids"));
  EXPECT_EQ(ParseCgroupPath("0::/user.slice/session-1.scope\n", ""), "/user.slice/session-1.scope");
  EXPECT_FALSE(ParseCgroupPath("0::/x\n", "memory"));
}

TEST(ResourceProbeTest, ParsesStatm) {
  EXPECT_EQ(ParseStatmRssBytes("123456 678 90 1 0 2 0\n", 4096), 678 * 4096);
  EXPECT_FALSE(ParseStatmRssBytes("123456", 4096));
  EXPECT_FALSE(ParseStatmRssBytes("1 2", 0));
}

TEST(ResourceProbeTest, ParsesCpuLists) {
  std::vector<int> cpus;
  ASSERT_TRUE(ParseCpuList("0-3,6", &cpus).ok());
  EXPECT_EQ(cpus, (std::vector<int>{0, 1, 2, 3, 6}));
  ASSERT_TRUE(ParseCpuList("6,0-1,1\n", &cpus).ok());
  EXPECT_EQ(cpus, (std::vector<int>{0, 1, 6}));
  ASSERT_TRUE(ParseCpuList(" 2 ", &cpus).ok());
  EXPECT_EQ(cpus, (std::vector<int>{2}));
  for (const char* bad : {"", "1,", ",1", "3-1", "a", "-1", "1-", "0-70000", "1.5"}) {
    EXPECT_EQ(ParseCpuList(bad, &cpus).code(), Status::Code::kInvalidArgument) << bad;
  }
}

TEST(ResourceProbeTest, FormatsCpuListsThatParseBack) {
  EXPECT_EQ(FormatCpuList({0, 1}), "0,1");
  EXPECT_EQ(FormatCpuList({0, 1, 2, 3, 6}), "0-3,6");
  EXPECT_EQ(FormatCpuList({5}), "5");
  EXPECT_EQ(FormatCpuList({}), "");
  for (const std::vector<int>& list : std::vector<std::vector<int>>{{0, 1}, {0, 2, 3, 4, 8, 9}, {1, 3, 5}}) {
    std::vector<int> back;
    ASSERT_TRUE(ParseCpuList(FormatCpuList(list), &back).ok());
    EXPECT_EQ(back, list);
  }
}

TEST(ResourceProbeTest, ParsesByteSizesInBinaryUnits) {
  EXPECT_EQ(ParseByteSize("4G"), 4 * kGiB);
  EXPECT_EQ(ParseByteSize("512M"), 512 * kMiB);
  EXPECT_EQ(ParseByteSize("1.5GiB"), 3 * kGiB / 2);
  EXPECT_EQ(ParseByteSize("1000000"), 1000000);
  EXPECT_EQ(ParseByteSize("2gb"), 2 * kGiB);  // binary, as docker --memory
  EXPECT_EQ(ParseByteSize("100B"), 100);
  EXPECT_EQ(ParseByteSize("0.5K"), 512);
  EXPECT_EQ(ParseByteSize(" 8 MiB "), 8 * kMiB);
  EXPECT_EQ(ParseByteSize("1Ti"), kGiB << 10);
  EXPECT_EQ(ParseByteSize("0"), 0);
  for (const char* bad : {"", "-1G", "4X", "1.5", "G", "1.2.3G", "9223372036854775807G", "4GiBs", "1e3"}) {
    EXPECT_FALSE(ParseByteSize(bad)) << bad;
  }
}

TEST(ResourceProbeTest, FormatsBytes) {
  EXPECT_EQ(FormatBytes(512), "512 B");
  EXPECT_EQ(FormatBytes(1536), "1.50 KiB");
  EXPECT_EQ(FormatBytes(24 * kGiB), "24.00 GiB");
  EXPECT_EQ(FormatBytes(-2 * kMiB), "-2.00 MiB");
}

TEST(ResourceProbeTest, UsableCoresRespectsQuota) {
  MachineResources m;
  m.cores_affinity = 8;
  m.cpu_quota_cores = 1.5;
  EXPECT_EQ(UsableCores(m), 2);
  m.cpu_quota_cores = 4.0;
  EXPECT_EQ(UsableCores(m), 4);
  m.cpu_quota_cores = 0.5;
  EXPECT_EQ(UsableCores(m), 1);
  m.cores_affinity = 2;
  m.cpu_quota_cores = 0;  // none
  EXPECT_EQ(UsableCores(m), 2);
}

TEST(ResourceProbeTest, UsableMemoryRespectsCgroupHeadroom) {
  MachineResources m;
  m.memory_available_bytes = 20 * kGiB;
  EXPECT_EQ(UsableMemoryBytes(m), 20 * kGiB);
  m.cgroup_memory_limit_bytes = 4 * kGiB;
  m.cgroup_memory_usage_bytes = 1 * kGiB;
  EXPECT_EQ(UsableMemoryBytes(m), 3 * kGiB);
  m.cgroup_memory_usage_bytes = 5 * kGiB;
  EXPECT_EQ(UsableMemoryBytes(m), 0);
}

TEST(ResourceProbeTest, ProbesThisMachine) {
  MachineResources m;
  ASSERT_TRUE(ProbeMachine(&m).ok());
  cpu_set_t set;
  CPU_ZERO(&set);
  ASSERT_EQ(sched_getaffinity(0, sizeof set, &set), 0);
  EXPECT_EQ(m.cores_affinity, CPU_COUNT(&set));
  EXPECT_EQ(static_cast<int64_t>(m.affinity_cpus.size()), m.cores_affinity);
  EXPECT_GT(m.memory_total_bytes, 0);
  EXPECT_GT(m.memory_available_bytes, 0);
  EXPECT_LE(m.memory_available_bytes, m.memory_total_bytes);
  EXPECT_GE(m.cpu_quota_cores, 0);
  EXPECT_GE(m.cgroup_memory_limit_bytes, 0);
  EXPECT_GE(UsableCores(m), 1);
  EXPECT_LE(UsableCores(m), m.cores_affinity);
  EXPECT_EQ(m.notes.size(), 2u);  // one line each for the CPU quota and the memory limit
}

TEST(ResourceProbeTest, RssGrowsWhenPagesAreTouched) {
  const int64_t before = CurrentRssBytes();
  ASSERT_GT(before, 0);
  std::vector<char> block(static_cast<size_t>(64 * kMiB));
  std::memset(block.data(), 1, block.size());
  const int64_t after = CurrentRssBytes();
  EXPECT_GE(after - before, 60 * kMiB);
  // The two figures come from different kernel counters that may lag by a few hundred KiB.
  EXPECT_GE(PeakRssBytes(), after - kMiB);
  EXPECT_GE(PeakRssBytes(), before + 60 * kMiB);
  EXPECT_EQ(block[block.size() - 1], 1);
}

TEST(ResourceProbeTest, PinsTheCallingThreadOnly) {
  MachineResources m;
  ASSERT_TRUE(ProbeMachine(&m).ok());
  const int target = m.affinity_cpus.back();
  int pinned_count = -1, ran_on = -1;
  Status s;
  std::thread t([&] {
    s = PinCurrentThread({target});
    cpu_set_t set;
    CPU_ZERO(&set);
    pthread_getaffinity_np(pthread_self(), sizeof set, &set);
    pinned_count = CPU_COUNT(&set);
    ran_on = sched_getcpu();
  });
  t.join();
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(pinned_count, 1);
  EXPECT_EQ(ran_on, target);
  cpu_set_t mine;
  CPU_ZERO(&mine);
  pthread_getaffinity_np(pthread_self(), sizeof mine, &mine);
  EXPECT_EQ(CPU_COUNT(&mine), m.cores_affinity);  // this thread untouched

  EXPECT_EQ(PinCurrentThread({}).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(PinCurrentThread({-1}).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(PinCurrentThread({CPU_SETSIZE}).code(), Status::Code::kInvalidArgument);
  if (m.affinity_cpus.back() < CPU_SETSIZE - 1) {
    EXPECT_EQ(PinCurrentThread({CPU_SETSIZE - 1}).code(), Status::Code::kInvalidArgument);
  }
}

}  // namespace
}  // namespace rapid
