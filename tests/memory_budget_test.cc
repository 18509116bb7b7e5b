// --max-ram: a run over many stations with a small RAM budget completes inside it (the block queue
// shrinks to what the budget leaves), and a budget too small for one model instance is a clear
// configuration error before any work.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>

#include "test_util.h"

namespace rapid {
namespace {

using testing::ReadFileText;
using testing::RunRapid;
using testing::TempDir;

TEST(MemoryBudgetTest, ManyStationsStayUnderASmallBudget) {
  TempDir dir;
  const std::string data = dir.path() + "/archive";
  ASSERT_EQ(RunRapid({"synth", "--output", data, "--stations", "40", "--duration", "10m", "--rates", "100,200,250"}), 0);
  // The budget: 40 MiB below what the planner expects without one (its 64 MiB read-ahead
  // included), so the queue must give way. The unbudgeted peak depends on the backend and the
  // build (ASan's baseline is several times larger), so it is measured here first.
  std::string log;
  ASSERT_EQ(RunRapid({"run", "--input", data, "--output", dir.path() + "/free"}, &log), 0) << log;
  const auto free_run = nlohmann::json::parse(ReadFileText(dir.path() + "/free/run.json"));
  ASSERT_EQ(free_run["plan"]["queue_capacity_bytes"].get<int64_t>(), int64_t{64} << 20);
  const int64_t budget_mib = (free_run["plan"]["expected_peak_host_bytes"].get<int64_t>() >> 20) - 40;
  const int64_t budget = budget_mib << 20;
  ASSERT_EQ(RunRapid({"run", "--input", data, "--output", dir.path() + "/out", "--max-ram",
                      std::to_string(budget_mib) + "M"}, &log), 0) << log;
  const auto run = nlohmann::json::parse(ReadFileText(dir.path() + "/out/run.json"));
  EXPECT_EQ(run["units_done"], 40);
  EXPECT_EQ(run["plan"]["host_budget_bytes"], budget);
  // Under ASan, freed memory waits in its quarantine (256 MiB by default) before it is reused: held
  // outside anything the planner measures or plans.
  const int64_t asan_quarantine = testing::kAddressSanitizer ? int64_t{256} << 20 : 0;
  EXPECT_LT(run["peak_rss_bytes"].get<int64_t>(), budget + asan_quarantine);
  // Without the budget the queue alone may take 64 MiB (the planner's read-ahead); here it got what
  // the budget left after the rest of the planned peak (which the start-up probe measures, so it
  // varies with load), or one block: a block is always admitted when nothing else is queued. One
  // block here: 10 min at 100 Hz, 3 components plus PhaseNet's stitcher (3 slots × 3 labels), float32.
  constexpr int64_t kOneBlockBytes = (3 + 3 * 3) * 60000 * 4;
  const int64_t queue = run["plan"]["queue_capacity_bytes"].get<int64_t>();
  EXPECT_LT(queue, int64_t{64} << 20);
  EXPECT_LE(run["plan"]["expected_peak_host_bytes"].get<int64_t>(), budget);
  EXPECT_LE(run["queue_high_water_bytes"].get<int64_t>(), std::max(queue, kOneBlockBytes));
}

// Fourier resampling (40 Hz to PhaseNet's 100 Hz) of whole segments needs memory that grows with
// the segment: the run surveys its input's rates before planning and plans for the longest segment
// resampled whole, so its peak stays within the plan, and a budget without room for it is refused
// before any work, naming it. A 100 Hz archive needs no such room.
TEST(MemoryBudgetTest, FourierResamplingIsPlannedForBeforeTheRun) {
  TempDir dir;
  const std::string data = dir.path() + "/archive";
  ASSERT_EQ(RunRapid({"synth", "--output", data, "--stations", "1", "--duration", "21599s", "--chunk", "6h",
                      "--rates", "40"}), 0);
  std::string log;
  ASSERT_EQ(RunRapid({"run", "--input", data, "--output", dir.path() + "/out"}, &log), 0) << log;
  const auto run = nlohmann::json::parse(ReadFileText(dir.path() + "/out/run.json"));
  const int64_t preprocess = run["plan"]["preprocess_bytes"].get<int64_t>();
  EXPECT_GT(preprocess, int64_t{1} << 30);  // a segment of up to 25 h resampled whole
  EXPECT_LT(run["peak_rss_bytes"].get<int64_t>(), run["plan"]["expected_peak_host_bytes"].get<int64_t>());
  bool said = false;
  for (const auto& reason : run["plan"]["reasons"]) {
    said = said || reason.get<std::string>().find("40 Hz") != std::string::npos;
  }
  EXPECT_TRUE(said) << run["plan"]["reasons"];

  const std::string small = std::to_string((preprocess >> 20) / 2) + "M";
  EXPECT_EQ(RunRapid({"run", "--input", data, "--output", dir.path() + "/small", "--max-ram", small}, &log), 1);
  EXPECT_NE(log.find("preprocessing"), std::string::npos) << log;

  const std::string at_100_hz = dir.path() + "/archive100";
  ASSERT_EQ(RunRapid({"synth", "--output", at_100_hz, "--stations", "1", "--duration", "10m"}), 0);
  ASSERT_EQ(RunRapid({"run", "--input", at_100_hz, "--output", dir.path() + "/out100"}, &log), 0) << log;
  const auto run100 = nlohmann::json::parse(ReadFileText(dir.path() + "/out100/run.json"));
  EXPECT_EQ(run100["plan"]["preprocess_bytes"].get<int64_t>(), 0);
}

TEST(MemoryBudgetTest, BudgetBelowOneInstanceIsAConfigError) {
  TempDir dir;
  std::string log;
  EXPECT_EQ(RunRapid({"run", "--output", dir.path() + "/out", "--max-ram", "50M"}, &log), 1);
  EXPECT_NE(log.find("--max-ram"), std::string::npos) << log;
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/out/picks.csv"));
}

}  // namespace
}  // namespace rapid
