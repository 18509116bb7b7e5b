#include "sinks/pick_spill.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "sinks/picks_csv.h"
#include "test_util.h"

namespace rapid {
namespace {

using testing::TempDir;

std::vector<Pick> ReadBack(const PickSpill& spill) {
  std::vector<Pick> out;
  EXPECT_TRUE(spill.ForEach([&](const Pick& p) {
                     out.push_back(p);
                     return Status::OK();
                   }).ok());
  return out;
}

bool SamePick(const Pick& a, const Pick& b) {
  return a.trace_id == b.trace_id && a.phase == b.phase && a.start_time == b.start_time &&
         a.peak_time == b.peak_time && a.end_time == b.end_time && a.peak_value == b.peak_value;
}

// Random picks of a few stations; runs that share stations (overlapping key ranges) and runs of
// their own station alike.
std::vector<std::vector<Pick>> RandomRuns(int runs, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> station(0, 5), count(0, 300);
  std::uniform_int_distribution<int64_t> time(0, int64_t{86400} * kNanosPerSecond);
  std::vector<std::vector<Pick>> out(static_cast<size_t>(runs));
  for (int r = 0; r < runs; ++r) {
    const int n = count(rng);
    for (int k = 0; k < n; ++k) {
      Pick p;
      p.trace_id = "XX.S" + std::to_string(r % 3 == 0 ? station(rng) : 10 + r) + ".";
      p.phase = k % 2 == 0 ? "P" : "S";
      p.peak_time = time(rng);
      p.start_time = p.peak_time - 100'000'000;
      p.end_time = p.peak_time + 200'000'000;
      p.peak_value = static_cast<float>(k % 97) / 97.0f;
      out[static_cast<size_t>(r)].push_back(std::move(p));
    }
  }
  return out;
}

// Opens `spill` at `path` and adds RandomRuns(runs, seed) to it; returns all their picks.
std::vector<Pick> FillSpill(const std::string& path, int runs, uint32_t seed, PickSpill* spill) {
  EXPECT_TRUE(spill->Open(path).ok());
  std::vector<Pick> all;
  for (std::vector<Pick>& run : RandomRuns(runs, seed)) {
    all.insert(all.end(), run.begin(), run.end());
    EXPECT_TRUE(spill->Add(std::move(run)).ok());
  }
  return all;
}

TEST(PickSpillTest, MergedRunsComeBackInSortPicksOrder) {
  TempDir dir;
  PickSpill spill;
  std::vector<Pick> all = FillSpill(dir.Path("spill"), 40, 7, &spill);
  SortPicks(&all);
  ASSERT_GT(all.size(), 1000u);
  EXPECT_EQ(spill.size(), static_cast<int64_t>(all.size()));
  std::vector<Pick> back = ReadBack(spill);
  ASSERT_EQ(back.size(), all.size());
  for (size_t i = 0; i < all.size(); ++i) ASSERT_TRUE(SamePick(back[i], all[i])) << i;
  // More picks may be added after reading, and the next read includes them.
  ASSERT_TRUE(spill.Add({all.front()}).ok());
  EXPECT_EQ(ReadBack(spill).size(), all.size() + 1);
}

TEST(PickSpillTest, StreamedPicksCsvEqualsTheFormattedText) {
  TempDir dir;
  PickSpill spill;
  const std::vector<Pick> all = FillSpill(dir.Path("spill"), 12, 3, &spill);
  ASSERT_TRUE(WritePicksCsv(dir.Path("picks.csv"), spill, "phasenet").ok());
  EXPECT_EQ(testing::ReadFileText(dir.Path("picks.csv")), FormatPicksCsv(all, "phasenet"));
  ASSERT_TRUE(WriteDetectionsCsv(dir.Path("detections.csv"), spill, "eqtransformer").ok());
  EXPECT_EQ(testing::ReadFileText(dir.Path("detections.csv")), FormatDetectionsCsv(all, "eqtransformer"));
}

TEST(PickSpillTest, EmptySpillWritesTheHeaderAndIsRemoved) {
  TempDir dir;
  {
    PickSpill spill;
    ASSERT_TRUE(spill.Open(dir.Path("spill")).ok());
    ASSERT_TRUE(spill.Add({}).ok());
    EXPECT_EQ(spill.size(), 0);
    ASSERT_TRUE(WritePicksCsv(dir.Path("picks.csv"), spill, "m").ok());
    EXPECT_TRUE(std::filesystem::exists(dir.Path("spill")));
  }
  EXPECT_FALSE(std::filesystem::exists(dir.Path("spill")));
  EXPECT_EQ(testing::ReadFileText(dir.Path("picks.csv")), FormatPicksCsv({}, "m"));
}

TEST(PickSpillTest, UnwritableFolderIsAnIoError) {
  PickSpill spill;
  const Status s = spill.Open("/nonexistent-folder/spill");
  EXPECT_EQ(s.code(), Status::Code::kIOError);
  EXPECT_NE(s.message().find("/nonexistent-folder/spill"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace rapid
