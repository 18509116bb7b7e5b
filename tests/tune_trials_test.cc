// trials.csv round trips and resumption, and what the trials say (best overall, best for given
// resources, best.toml) — on made-up trials.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "test_util.h"
#include "tune/best_config.h"
#include "tune/trials.h"
#include "tune/trial_runner.h"
#include "tune/tune.h"

namespace rapid {
namespace {

using testing::ReadFileText;
using testing::TempDir;

Trial Made(int64_t number, int64_t cpus, int64_t stations, int64_t instances, int64_t batch, double windows_per_s,
           const std::string& source = "search", int64_t repeat = 0) {
  Trial t;
  t.trial = number;
  t.model = "phasenet";
  t.input = "/data/chunks";
  t.stations = stations;
  t.chunks = 1;
  t.chunk_s = 180;
  t.cpus = cpus == 1 ? "0" : "0-" + std::to_string(cpus - 1);
  t.cpu_count = cpus;
  t.source = source;
  t.instances = instances;
  t.threads_per_instance = cpus / instances;
  t.batch_size = batch;
  t.repeat = repeat;
  t.windows = 1000;
  t.wall_s = 2.5;
  t.picker_s = 1000.0 / windows_per_s;
  t.windows_per_s = windows_per_s;
  t.station_minutes_per_s = 12.5;
  t.peak_rss_bytes = int64_t{300} << 20;
  t.planned_ram_bytes = int64_t{350} << 20;
  t.success = true;
  return t;
}

TEST(TuneTrialsTest, RowsRoundTripThroughTheFileWithAwkwardText) {
  TempDir dir;
  const std::string path = dir.Path("trials.csv");
  Trial failed = Made(2, 2, 12, 2, 256, 0);
  failed.success = false;
  failed.error = "exit 1: error: --max-ram 1G, \"cpu\" needs 1.2 GiB\nsecond line";
  {
    TrialsFile file;
    std::vector<Trial> rows;
    ASSERT_TRUE(file.Open(path, &rows).ok());
    EXPECT_TRUE(rows.empty());
    ASSERT_TRUE(file.Append(Made(1, 2, 12, 2, 8, 2104.5, "planner")).ok());
    ASSERT_TRUE(file.Append(failed).ok());
  }
  std::vector<Trial> rows;
  ASSERT_TRUE(ReadTrials(path, &rows).ok());
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(TrialFields(rows[0]), TrialFields(Made(1, 2, 12, 2, 8, 2104.5, "planner")));
  EXPECT_EQ(rows[1].error, "exit 1: error: --max-ram 1G, \"cpu\" needs 1.2 GiB second line");  // one line per row
  EXPECT_FALSE(rows[1].success);
  // The header names the documented columns.
  const std::string text = ReadFileText(path);
  EXPECT_EQ(text.substr(0, text.find('\n')),
            "trial,model,weights,backend,input,stations,chunks,chunk_s,cpus,cpu_count,gpus,gpu_count,source,instances,"
            "threads_per_instance,batch_size,repeat,windows,wall_s,picker_s,windows_per_s,station_minutes_per_s,"
            "peak_rss_bytes,rss_growth_bytes,vram_peak_bytes,planned_ram_bytes,planned_vram_bytes,success,error,comment");
}

TEST(TuneTrialsTest, ATornLastRowIsDroppedAndCutOff) {
  TempDir dir;
  const std::string path = dir.Path("trials.csv");
  {
    TrialsFile file;
    std::vector<Trial> rows;
    ASSERT_TRUE(file.Open(path, &rows).ok());
    ASSERT_TRUE(file.Append(Made(1, 2, 12, 2, 8, 2000)).ok());
  }
  const std::string whole = ReadFileText(path);
  std::ofstream(path, std::ios::app) << "2,phasenet,,/data/chunks,12,1,180,\"0-1";  // killed mid-row
  TrialsFile file;
  std::vector<Trial> rows;
  ASSERT_TRUE(file.Open(path, &rows).ok());
  EXPECT_EQ(rows.size(), 1u);
  EXPECT_EQ(ReadFileText(path), whole);
  ASSERT_TRUE(file.Append(Made(2, 2, 12, 2, 16, 2100)).ok());
  std::vector<Trial> again;
  ASSERT_TRUE(ReadTrials(path, &again).ok());
  EXPECT_EQ(again.size(), 2u);
}

TEST(TuneTrialsTest, AnotherFormatIsRefusedNamingTheFile) {
  TempDir dir;
  const std::string path = dir.Path("trials.csv");
  std::ofstream(path) << "cpus,stations,runtime\n2,12,3.5\n";
  TrialsFile file;
  std::vector<Trial> rows;
  Status s = file.Open(path, &rows);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find(path), std::string::npos) << s.message();
  EXPECT_EQ(ReadTrials(dir.Path("none.csv"), &rows).code(), Status::Code::kNotFound);
}

TEST(TuneTrialsTest, KeysSeparateRepeatsButNotTheirConfiguration) {
  const Trial a = Made(1, 2, 12, 2, 8, 2000, "planner");
  const Trial b = Made(5, 2, 12, 2, 8, 2100, "confirm", 1);
  EXPECT_NE(TrialKey(a), TrialKey(b));
  EXPECT_EQ(ConfigKey(a), ConfigKey(b));
  EXPECT_EQ(ContextKey(a), ContextKey(Made(9, 2, 12, 1, 64, 10)));
  EXPECT_NE(ContextKey(a), ContextKey(Made(9, 1, 12, 1, 8, 10)));
  // A planner trial's key does not depend on what the planner chose.
  Trial other_choice = a;
  other_choice.batch_size = 16;
  EXPECT_EQ(TrialKey(a), TrialKey(other_choice));
}

TEST(TuneBestTest, MeansOverRepeatsRankConfigurations) {
  // 2×1 batch 8 measured 2000 then 2400 (mean 2200) beats 2×1 batch 16 measured once at 2150.
  std::vector<Trial> trials = {Made(1, 2, 12, 2, 8, 2000, "planner"), Made(2, 2, 12, 2, 16, 2150),
                               Made(3, 2, 12, 1, 8, 1200), Made(4, 2, 12, 2, 8, 2400, "confirm", 1)};
  Trial failed = Made(5, 2, 12, 2, 256, 9999);
  failed.success = false;
  trials.push_back(failed);
  std::vector<ConfigSummary> all = SummariseConfigs(trials);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].config.batch_size, 8);
  EXPECT_EQ(all[0].measurements, 2);
  EXPECT_DOUBLE_EQ(all[0].windows_per_s, 2200.0);
  EXPECT_EQ(all[1].config.batch_size, 16);
  EXPECT_EQ(all[2].config.instances, 1);
}

TEST(TuneBestTest, BestOverallUsesTheLargestStationCount) {
  // On 3 stations a configuration looked faster, but the workload that counts is 12 stations.
  std::vector<Trial> trials = {Made(1, 2, 12, 2, 8, 2000), Made(2, 2, 12, 2, 16, 2100), Made(3, 2, 3, 2, 4, 2600),
                               Made(4, 1, 12, 1, 8, 1100)};
  ConfigSummary best;
  ASSERT_TRUE(BestOverall(trials, &best).ok());
  EXPECT_EQ(best.config.stations, 12);
  EXPECT_EQ(best.config.batch_size, 16);
  EXPECT_EQ(BestOverall({}, &best).code(), Status::Code::kNotFound);
}

TEST(TuneBestTest, BestForGivenResources) {
  std::vector<Trial> trials = {Made(1, 2, 12, 2, 8, 2000), Made(2, 2, 12, 2, 16, 2100), Made(3, 1, 12, 1, 8, 1100),
                               Made(4, 1, 12, 1, 32, 1150), Made(5, 2, 3, 2, 4, 900), Made(6, 1, 3, 1, 4, 500)};
  ConfigSummary best;
  // One CPU: only single-CPU trials; 200 stations → the nearest measured count, 12.
  ASSERT_TRUE(BestFor(trials, 1, 0, 200, &best).ok());
  EXPECT_EQ(best.config.cpu_count, 1);
  EXPECT_EQ(best.config.stations, 12);
  EXPECT_EQ(best.config.batch_size, 32);
  // Two CPUs, 4 stations → the 3-station trials.
  ASSERT_TRUE(BestFor(trials, 2, 0, 4, &best).ok());
  EXPECT_EQ(best.config.stations, 3);
  EXPECT_EQ(best.config.instances, 2);
  // More resources than measured: the best of what was; 8 stations is nearer 12 than 3.
  ASSERT_TRUE(BestFor(trials, 4, 1, 8, &best).ok());
  EXPECT_EQ(best.config.stations, 12);
  EXPECT_EQ(best.config.cpu_count, 2);
  // Exactly between two measured counts (12 and 20 for 16): the larger.
  trials.push_back(Made(7, 2, 20, 2, 8, 2300));
  ASSERT_TRUE(BestFor(trials, 2, 0, 16, &best).ok());
  EXPECT_EQ(best.config.stations, 20);
  ASSERT_TRUE(BestFor(trials, 2, 0, 15, &best).ok());
  EXPECT_EQ(best.config.stations, 12);
  Status none = BestFor(trials, 0, 0, 12, &best);
  EXPECT_EQ(none.code(), Status::Code::kNotFound);
  EXPECT_NE(none.message().find("CPU counts measured: 1, 2"), std::string::npos) << none.message();
}

TEST(TuneBestTest, BestTomlHoldsRunFlags) {
  ConfigSummary best;
  ASSERT_TRUE(BestOverall({Made(1, 2, 12, 2, 16, 2100)}, &best).ok());
  const std::string toml = BestToml(best, "heading");
  EXPECT_NE(toml.find("# heading\n"), std::string::npos);
  EXPECT_NE(toml.find("model = \"phasenet\"\n"), std::string::npos);
  EXPECT_NE(toml.find("devices = \"cpu\"\n"), std::string::npos);
  EXPECT_NE(toml.find("cpus = \"0-1\"\n"), std::string::npos);
  EXPECT_NE(toml.find("instances = 2\n"), std::string::npos);
  EXPECT_NE(toml.find("intra-threads = 1\n"), std::string::npos);
  EXPECT_NE(toml.find("batch-size = 16\n"), std::string::npos);
  EXPECT_NE(toml.find("2100 windows/s"), std::string::npos);
  EXPECT_EQ(toml.find("weights"), std::string::npos);  // bundled weights: no line
}

TEST(TuneBestTest, TwentyPercentSteps) {
  EXPECT_EQ(TwentyPercentSteps(2), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(TwentyPercentSteps(12), (std::vector<int64_t>{3, 5, 8, 10, 12}));
  EXPECT_EQ(TwentyPercentSteps(1), (std::vector<int64_t>{1}));
  EXPECT_EQ(TwentyPercentSteps(100), (std::vector<int64_t>{20, 40, 60, 80, 100}));
  EXPECT_TRUE(TwentyPercentSteps(0).empty());
}

}  // namespace
}  // namespace rapid

namespace rapid {
namespace {

TEST(TuneContextsTest, MostResourcesFirstAndGpuSetsBeforeCpuOnly) {
  TuneOptions opts;
  opts.gpus = {"cuda:0", "cuda:1"};
  std::vector<TuneContext> c = PlanTuneContexts(opts, {0, 1, 2, 3}, 10);
  // GPU sets {cuda:0,cuda:1}, {cuda:0}; then CPU: 4 CPUs × 10 stations, fewer CPUs (3, 2, 1) with 10
  // stations, fewer stations (8, 6, 4, 2) on 4 CPUs, then the 3 × 4 other combinations.
  ASSERT_EQ(c.size(), 2u + 1u + 3u + 4u + 12u);
  EXPECT_EQ(c[0].Describe(), "CPUs 0-3, GPUs cuda:0,cuda:1, 10 stations");
  EXPECT_EQ(c[1].Describe(), "CPUs 0-3, GPUs cuda:0, 10 stations");
  EXPECT_EQ(c[2].Describe(), "CPUs 0-3, 10 stations");
  EXPECT_EQ(c[3].Describe(), "CPUs 0-2, 10 stations");
  EXPECT_EQ(c[5].Describe(), "CPUs 0, 10 stations");
  EXPECT_EQ(c[6].Describe(), "CPUs 0-3, 8 stations");
  EXPECT_EQ(c[9].Describe(), "CPUs 0-3, 2 stations");
  EXPECT_EQ(c.back().Describe(), "CPUs 0, 2 stations");
  // Counts given: clamped to what exists, duplicates dropped.
  opts.gpus.clear();
  opts.cpu_counts = {2, 9, 2};
  opts.station_counts = {50, 3};
  c = PlanTuneContexts(opts, {4, 5}, 12);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].Describe(), "CPUs 4,5, 12 stations");
  EXPECT_EQ(c[1].Describe(), "CPUs 4,5, 3 stations");
}

TEST(TuneContextsTest, TrialCommandLines) {
  TrialRunOptions run;
  run.rapid_binary = "/bin/rapid";
  run.folder = "/out/trials/7";
  Trial t;
  t.model = "phasenet";
  t.input = "/data";
  t.stations = 50;
  t.cpus = "0-3";
  t.source = "search";
  t.instances = 2;
  t.threads_per_instance = 2;
  t.batch_size = 16;
  auto joined = [](const std::vector<std::string>& a) {
    std::string s;
    for (const std::string& x : a) s += (s.empty() ? "" : " ") + x;
    return s;
  };
  EXPECT_EQ(joined(TrialArguments(run, t)),
            "/bin/rapid run --input /data --model phasenet --output /out/trials/7 --progress off --max-stations 50 "
            "--backend onednn --cpus 0-3 --devices cpu --instances 2 --batch-size 16 --intra-threads 2");
  t.gpus = "cuda:0,cuda:1";
  t.weights = "/w/x.pt";
  t.backend = "torch";
  run.max_ram = "8G";
  EXPECT_EQ(joined(TrialArguments(run, t)),
            "/bin/rapid run --input /data --model phasenet --output /out/trials/7 --progress off --max-stations 50 "
            "--weights /w/x.pt --backend torch --cpus 0-3 --devices cuda:0,cuda:1 --max-ram 8G --instances 2 --batch-size 16");
  t.source = "planner";
  EXPECT_EQ(joined(TrialArguments(run, t)).find("--instances"), std::string::npos);
}

}  // namespace
}  // namespace rapid
