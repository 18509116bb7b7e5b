// `rapid run --config FILE.toml`, `--max-stations` and `--cpus` confinement, through the binary.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <algorithm>
#include <nlohmann/json.hpp>

#include "dispatch/resource_probe.h"
#include "engine/picking_run.h"
#include "test_util.h"

namespace rapid {
namespace {

using testing::ReadCsv;
using testing::RunRapid;
using testing::TempDir;

nlohmann::json ReadJson(const std::string& path) { return nlohmann::json::parse(testing::ReadFileText(path)); }

std::string WriteText(const TempDir& dir, const std::string& name, const std::string& text) {
  std::ofstream(dir.Path(name)) << text;
  return dir.Path(name);
}

TEST(RunConfigTest, FileFlagsApplyAndTheCommandLineWins) {
  TempDir dir;
  const std::string config = WriteText(dir, "best.toml",
                                       "# written by hand, as rapid tune writes it\n"
                                       "model = \"phasenet\"\n[run]\ninstances = 1\nintra-threads = 1\n"
                                       "batch-size = 16\nprogress = \"off\"\n");
  std::string log;
  ASSERT_EQ(RunRapid({"run", "--config", config, "--output", dir.Path("a")}, &log), 0) << log;
  nlohmann::json plan = ReadJson(dir.Path("a/run.json"))["plan"];
  EXPECT_EQ(plan["instances"], 1);
  EXPECT_EQ(plan["intra_threads"], 1);
  EXPECT_EQ(plan["batch_size"], 16);
  EXPECT_EQ(plan["source"], "flags");
  ASSERT_EQ(RunRapid({"run", "--config", config, "--batch-size", "4", "--output", dir.Path("b")}, &log), 0) << log;
  EXPECT_EQ(ReadJson(dir.Path("b/run.json"))["plan"]["batch_size"], 4);
  // The same picks as the planner's run (the bundled minute's 10 SeisBench picks).
  EXPECT_EQ(ReadCsv(dir.Path("a/picks.csv")).size(), 11u);
}

TEST(RunConfigTest, BadFilesAreConfigurationErrorsNamingFileAndKey) {
  TempDir dir;
  struct Case {
    std::string text, expect;
  };
  for (const Case& c : {Case{"batch_size = 3\n", "'batch_size' is not a flag of rapid run"},
                        Case{"batch-size = 0\n", "batch-size"},
                        Case{"[tune]\nbatch-size = 3\n", "section [tune] is not [run]"},
                        Case{"config = \"other.toml\"\n", "'config' is not a flag"}}) {
    const std::string config = WriteText(dir, "bad.toml", c.text);
    std::string log;
    EXPECT_EQ(RunRapid({"run", "--config", config, "--output", dir.Path("out")}, &log), 1) << c.text;
    EXPECT_NE(log.find(config), std::string::npos) << log;
    EXPECT_NE(log.find(c.expect), std::string::npos) << log;
    EXPECT_FALSE(std::filesystem::exists(dir.Path("out"))) << "nothing is written";
  }
  std::string log;
  EXPECT_EQ(RunRapid({"run", "--config", dir.Path("missing.toml"), "--output", dir.Path("out")}, &log), 1);
  EXPECT_NE(log.find("missing.toml"), std::string::npos) << log;
}

TEST(RunConfigTest, MaxStationsPicksTheFirstStationsOnly) {
  TempDir dir;
  std::string log;
  // The bundled sample's stations in NET.STA.LOC order: 2T.EF76, 4O.AT01, 4O.BB01, 4O.BP01, 4O.CT02,
  // 4T.FOAK4, TX.DG05 | TX.EF02, … — SeisBench picks FOAK4, DG05 and EF02.
  ASSERT_EQ(RunRapid({"run", "--max-stations", "7", "--output", dir.path(), "--progress", "off"}, &log), 0) << log;
  nlohmann::json run = ReadJson(dir.Path("run.json"));
  EXPECT_EQ(run["units_total"], 7);
  EXPECT_NEAR(run["annotated_station_s"].get<double>(), 7 * 180.0, 0.1);  // 180 s each
  auto golden = ReadCsv(std::string(RAPID_TEST_DATA_DIR) + "/golden/annotate/texnet12_phasenet_original.csv");
  std::vector<std::string> expected, got;
  for (size_t i = 1; i < golden.size(); ++i) {
    if (golden[i][0] != "TX.EF02.00") expected.push_back(golden[i][0] + " " + golden[i][1] + " " + golden[i][2]);
  }
  auto picks = ReadCsv(dir.Path("picks.csv"));
  for (size_t i = 1; i < picks.size(); ++i) got.push_back(picks[i][0] + " " + picks[i][1] + " " + picks[i][2]);
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(got, expected);
  EXPECT_LT(expected.size(), golden.size() - 1);
}

TEST(RunConfigTest, CpusConfineTheRunAndAreRestoredAfterIt) {
  const std::vector<int> before = CurrentThreadCpus();
  ASSERT_FALSE(before.empty());
  TempDir dir;
  RunOptions opts;
  opts.input = std::string(RAPID_SOURCE_DIR) + "/data/texnet-sample";
  opts.output_dir = dir.path();
  opts.progress = RunOptions::Progress::kOff;
  opts.plan.cpus = {before.front()};
  RunReport report;
  ASSERT_TRUE(RunPicking(opts, &report).status().ok());
  EXPECT_EQ(report.plan.cores_available, 1);
  EXPECT_EQ(report.plan.instances, 1);
  EXPECT_EQ(report.plan.cpus, opts.plan.cpus);
  EXPECT_EQ(CurrentThreadCpus(), before);
}

}  // namespace
}  // namespace rapid
