// Picks must not depend on scheduling or chunking: several instances with odd batch sizes give the
// same picks and probabilities as one instance with batch 1, and an archive split into 10-minute
// or 60-minute chunks (2-minute overlap) gives the same picks as the same archive unchunked.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/nano_time.h"
#include "io/mseed_reader.h"
#include "test_util.h"

namespace rapid {
namespace {

using testing::ReadFileText;
using testing::RunRapid;
using testing::TempDir;

std::string RunPicks(const std::vector<std::string>& args) {
  std::string log;
  EXPECT_EQ(RunRapid(args, &log), 0) << log;
  const std::string out = args[std::find(args.begin(), args.end(), "--output") - args.begin() + 1];
  return ReadFileText(out + "/picks.csv");
}

// The model's float arithmetic depends on the batch size (the convolution kernels block the batch
// differently), so probabilities may differ in the last bits between batch 1 and batch 7: picks
// must be the same picks at the same times, with values and traces equal to 1e-5.
TEST(DispatchInvarianceTest, ParallelBatchedRunEqualsSimpleReferenceRun) {
  TempDir dir;
  const std::string data = dir.path() + "/archive";
  ASSERT_EQ(RunRapid({"synth", "--output", data, "--stations", "6", "--duration", "3m", "--rates", "100,200,250"}), 0);
  RunPicks({"run", "--input", data, "--output", dir.path() + "/ref", "--instances", "1", "--batch-size", "1",
            "--save-probabilities"});
  RunPicks({"run", "--input", data, "--output", dir.path() + "/par", "--instances", "3", "--batch-size", "7",
            "--intra-threads", "1", "--save-probabilities"});
  auto ref = testing::ReadCsv(dir.path() + "/ref/picks.csv");
  auto par = testing::ReadCsv(dir.path() + "/par/picks.csv");
  EXPECT_GT(ref.size(), 30u);
  ASSERT_EQ(ref.size(), par.size());
  for (size_t i = 0; i < ref.size(); ++i) {
    ASSERT_EQ(ref[i].size(), par[i].size());
    for (size_t c = 0; c < ref[i].size(); ++c) {
      if (i > 0 && c == 3) {
        EXPECT_NEAR(std::stod(ref[i][c]), std::stod(par[i][c]), 1e-5) << i;
      } else {
        EXPECT_EQ(ref[i][c], par[i][c]) << i;
      }
    }
  }
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path() + "/ref/probabilities")) {
    MseedFileContents a, b;
    ASSERT_TRUE(ReadMseedFile(e.path().string(), ReaderOptions(), &a).ok());
    ASSERT_TRUE(ReadMseedFile(dir.path() + "/par/probabilities/" + e.path().filename().string(), ReaderOptions(), &b).ok());
    ASSERT_EQ(a.segments.size(), b.segments.size());
    for (size_t k = 0; k < a.segments.size(); ++k) {
      ASSERT_EQ(a.segments[k].start, b.segments[k].start);
      ASSERT_EQ(a.segments[k].samples.size(), b.segments[k].samples.size());
      for (size_t j = 0; j < a.segments[k].samples.size(); ++j) {
        ASSERT_NEAR(a.segments[k].samples[j], b.segments[k].samples[j], 1e-5);
      }
    }
    ++files;
  }
  EXPECT_EQ(files, 6 * 3);
}

// Same batch size and threads per instance, different instance counts: bit-identical, because
// batches are cut from the work list the same way and stitching does not depend on arrival order.
// (The intra-op thread count, like the batch size, changes how the kernels split the arithmetic.)
TEST(DispatchInvarianceTest, InstanceCountDoesNotChangeAnyBit) {
  TempDir dir;
  const std::string data = dir.path() + "/archive";
  ASSERT_EQ(RunRapid({"synth", "--output", data, "--stations", "4", "--duration", "2m", "--rates", "100,250"}), 0);
  const std::string one = RunPicks({"run", "--input", data, "--output", dir.path() + "/one", "--instances", "1",
                                    "--batch-size", "5", "--intra-threads", "1"});
  const std::string three = RunPicks({"run", "--input", data, "--output", dir.path() + "/three", "--instances", "3",
                                      "--batch-size", "5", "--intra-threads", "1"});
  EXPECT_EQ(one, three);
}

TEST(DispatchInvarianceTest, PicksDoNotDependOnChunking) {
  TempDir dir;
  const std::vector<std::string> common = {"--stations", "2", "--duration", "2h", "--rates", "100,250", "--seed", "7"};
  auto synth = [&](const std::string& name, const std::string& chunk, const std::string& overlap) {
    std::vector<std::string> args = {"synth", "--output", dir.path() + "/" + name, "--chunk", chunk, "--overlap", overlap};
    args.insert(args.end(), common.begin(), common.end());
    EXPECT_EQ(RunRapid(args), 0);
    return RunPicks({"run", "--input", dir.path() + "/" + name, "--output", dir.path() + "/out-" + name});
  };
  const std::string whole = synth("whole", "2h", "0s");
  const std::string ten = synth("ten", "10m", "2m");
  const std::string sixty = synth("sixty", "60m", "2m");
  EXPECT_GT(std::count(whole.begin(), whole.end(), '\n'), 400);  // 2 stations × 120 events × P, S
  EXPECT_EQ(ten, whole);
  EXPECT_EQ(sixty, whole);
  // --chunk/--overlap plans processing chunks over [--start, --end]: still the same picks; the
  // eqcctpro output gets one folder per planned chunk.
  const std::string out = dir.path() + "/out-planned";
  EXPECT_EQ(RunPicks({"run", "--input", dir.path() + "/sixty", "--output", out, "--start", "2024-01-01T00:00:00Z",
                      "--end", "2024-01-01T02:00:00Z", "--chunk", "10m", "--overlap", "2m", "--format", "eqcctpro"}),
            whole);
  int chunk_dirs = 0;
  for (const auto& e : std::filesystem::directory_iterator(out + "/eqcctpro")) chunk_dirs += e.is_directory() ? 1 : 0;
  EXPECT_EQ(chunk_dirs, 12);
  EXPECT_TRUE(std::filesystem::is_directory(out + "/eqcctpro/20240101T005800Z_20240101T011000Z"));
  std::string log;
  EXPECT_EQ(RunRapid({"run", "--input", dir.path() + "/sixty", "--output", out + "2", "--chunk", "10m"}, &log), 1);
  EXPECT_NE(log.find("--chunk needs --start and --end"), std::string::npos) << log;
}

}  // namespace
}  // namespace rapid
