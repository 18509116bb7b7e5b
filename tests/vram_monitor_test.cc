#include "dispatch/vram_monitor.h"

#include <gtest/gtest.h>

#include <atomic>

namespace rapid {
namespace {

TEST(VramMonitorTest, KeepsTheHighestUseOfEachDevice) {
  // Device 0 rises to 6 GiB in use and falls back; device 1 fails every read.
  std::atomic<int> reads{0};
  const int64_t total = int64_t{16} << 30;
  const std::vector<int64_t> used_gib = {1, 3, 6, 2, 2};
  VramMonitor monitor({0, 1}, std::chrono::milliseconds(1), [&](int index, int64_t* free_bytes, int64_t* total_bytes) {
    if (index == 1) return Status::NotFound("no such device");
    const int n = reads.fetch_add(1);
    const int64_t used = used_gib[static_cast<size_t>(std::min<int>(n, static_cast<int>(used_gib.size()) - 1))] << 30;
    *free_bytes = total - used;
    *total_bytes = total;
    return Status::OK();
  });
  while (reads.load() < static_cast<int>(used_gib.size())) std::this_thread::yield();
  monitor.Stop();
  EXPECT_EQ(monitor.PeakUsedBytes(), (std::vector<int64_t>{int64_t{6} << 30, 0}));
  const int after_stop = reads.load();
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(reads.load(), after_stop);  // the thread has ended
}

TEST(VramMonitorTest, NoDevicesNoSamples) {
  int reads = 0;
  VramMonitor monitor({}, std::chrono::milliseconds(1), [&](int, int64_t*, int64_t*) {
    ++reads;
    return Status::OK();
  });
  monitor.Stop();
  EXPECT_EQ(reads, 0);
  EXPECT_TRUE(monitor.PeakUsedBytes().empty());
}

}  // namespace
}  // namespace rapid
