// `rapid tune`, `--query`, `rapid report` and `rapid run --config best.toml` through the binary, on
// the bundled sample with a small search space (each trial is a real rapid run process, ~1 s).
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <thread>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "dispatch/resource_probe.h"
#include "test_util.h"
#include "tune/best_config.h"
#include "tune/trials.h"

namespace rapid {
namespace {

using testing::ReadCsv;
using testing::ReadFileText;
using testing::RunRapid;
using testing::TempDir;

const std::string kSample = std::string(RAPID_SOURCE_DIR) + "/data/texnet-sample";

// All CPUs of this process in one context, 12 stations, batch sizes 4, 8, 16.
std::vector<std::string> TuneArgs(const std::string& out, const std::string& budget) {
  const int64_t cpus = static_cast<int64_t>(CurrentThreadCpus().size());
  return {"tune", "--input", kSample, "--output", out, "--stations", "12", "--cpu-counts", std::to_string(cpus),
          "--batch-sizes", "4,8,16", "--confirm", "1", "--time-budget", budget};
}

TEST(TuneCommandTest, FindsWritesAndUsesTheBestConfigurationAndResumes) {
  TempDir dir;
  const std::string out = dir.Path("tune");
  std::string log;
  ASSERT_EQ(RunRapid(TuneArgs(out, "5m"), &log), 0) << log;
  std::vector<Trial> trials;
  ASSERT_TRUE(ReadTrials(out + "/trials.csv", &trials).ok());
  ASSERT_GE(trials.size(), 3u) << log;
  const int64_t cpus = static_cast<int64_t>(CurrentThreadCpus().size());
  EXPECT_EQ(trials.front().source, "planner");
  std::set<std::string> configs;
  for (const Trial& t : trials) {
    SCOPED_TRACE(t.trial);
    EXPECT_TRUE(t.success) << t.error;
    EXPECT_EQ(t.windows, trials.front().windows);  // the same input: the same windows
    EXPECT_EQ(t.stations, 12);
    EXPECT_EQ(t.cpu_count, cpus);
    EXPECT_EQ(t.chunks, 1);
    EXPECT_DOUBLE_EQ(t.chunk_s, 180.0);
    EXPECT_EQ(t.threads_per_instance, cpus / t.instances);  // every core busy
    EXPECT_GT(t.windows_per_s, 0);
    EXPECT_NEAR(t.windows_per_s, static_cast<double>(t.windows) / t.picker_s, 1e-6 * t.windows_per_s + 1e-3);
    EXPECT_GT(t.station_minutes_per_s, 0);
    EXPECT_LT(t.picker_s, t.wall_s);
    EXPECT_GT(t.peak_rss_bytes, t.rss_growth_bytes);
    EXPECT_GT(t.planned_ram_bytes, 0);
    if (t.source != "planner") {
      EXPECT_TRUE(t.batch_size == 4 || t.batch_size == 8 || t.batch_size == 16) << t.batch_size;
    }
    if (t.source != "confirm") EXPECT_TRUE(configs.insert(ConfigKey(t)).second) << "measured twice: " << ConfigKey(t);
  }
  EXPECT_EQ(trials.front().windows, 132);  // 12 stations × 11 PhaseNet windows over 180 s

  // best.toml is the best overall, and rapid run --config applies it.
  ConfigSummary best;
  ASSERT_TRUE(BestOverall(trials, &best).ok());
  const std::string toml = ReadFileText(out + "/best.toml");
  EXPECT_NE(toml.find("batch-size = " + std::to_string(best.config.batch_size) + "\n"), std::string::npos) << toml;
  EXPECT_NE(toml.find("instances = " + std::to_string(best.config.instances) + "\n"), std::string::npos) << toml;
  ASSERT_EQ(RunRapid({"run", "--config", out + "/best.toml", "--output", dir.Path("run"), "--progress", "off"}, &log), 0)
      << log;
  nlohmann::json plan = nlohmann::json::parse(ReadFileText(dir.Path("run/run.json")))["plan"];
  EXPECT_EQ(plan["instances"], best.config.instances);
  EXPECT_EQ(plan["intra_threads"], best.config.threads_per_instance);
  EXPECT_EQ(plan["batch_size"], best.config.batch_size);
  EXPECT_EQ(ReadCsv(dir.Path("run/picks.csv")).size(), 11u);  // SeisBench's 10 picks

  // Run again: every trial is read back, nothing runs, trials.csv is unchanged.
  const std::string before = ReadFileText(out + "/trials.csv");
  ASSERT_EQ(RunRapid(TuneArgs(out, "5m"), &log), 0) << log;
  EXPECT_NE(log.find("0 trials run, " + std::to_string(trials.size() + 0) + " read back"), std::string::npos) << log;
  EXPECT_EQ(ReadFileText(out + "/trials.csv"), before);

  // --query answers from trials.csv with the same configuration, as TOML for --config.
  std::string answer;
  ASSERT_EQ(RunRapid({"tune", "--query", "--cpus", std::to_string(cpus), "--stations", "200", "--output", out}, &answer), 0)
      << answer;
  EXPECT_NE(answer.find("batch-size = " + std::to_string(best.config.batch_size) + "\n"), std::string::npos) << answer;
  EXPECT_NE(answer.find("measured with 12 stations"), std::string::npos) << answer;
  EXPECT_EQ(RunRapid({"tune", "--query", "--cpus", "0-1", "--stations", "200", "--output", out}, &answer), 1);

  // rapid report: one page with the three charts and the chosen row.
  ASSERT_EQ(RunRapid({"report", out}, &log), 0) << log;
  const std::string html = ReadFileText(out + "/report.html");
  for (const char* part : {"<svg id=\"throughput\"", "<svg id=\"memory\"", "<svg id=\"scaling\"", "<tr class=\"chosen\">",
                           "class=\"highlight\""}) {
    EXPECT_NE(html.find(part), std::string::npos) << part;
  }
  EXPECT_EQ(html.find("<script"), std::string::npos);
  // Self-contained: the only URL is the SVG namespace name (not fetched).
  for (size_t at = html.find("http"); at != std::string::npos; at = html.find("http", at + 1)) {
    EXPECT_EQ(html.compare(at, 26, "http://www.w3.org/2000/svg"), 0) << html.substr(at, 40);
  }
}

TEST(TuneCommandTest, ASpentBudgetStopsAndTheNextRunGoesOn) {
  TempDir dir;
  const std::string out = dir.Path("tune");
  std::string log;
  // 0.6 s: a few trials (each 0.1–0.25 s here on oneDNN, longer under ASan), then the next would
  // overrun. A trial starts only while the time spent plus the last trial's fits the budget, so
  // the trials before the last one took at most the budget together.
  ASSERT_EQ(RunRapid(TuneArgs(out, "0.6s"), &log), 0) << log;
  EXPECT_NE(log.find("time budget spent"), std::string::npos) << log;
  const std::string first = ReadFileText(out + "/trials.csv");
  std::vector<Trial> early;
  ASSERT_TRUE(ReadTrials(out + "/trials.csv", &early).ok());
  ASSERT_GE(early.size(), 1u);
  double before_last_s = 0.0;
  for (size_t i = 0; i + 1 < early.size(); ++i) before_last_s += early[i].wall_s;
  EXPECT_LE(before_last_s, 0.6) << early.size() << " trials";
  ASSERT_EQ(RunRapid(TuneArgs(out, "5m"), &log), 0) << log;
  EXPECT_NE(log.find(std::to_string(early.size()) + " read back"), std::string::npos) << log;
  const std::string final_text = ReadFileText(out + "/trials.csv");
  EXPECT_EQ(final_text.compare(0, first.size(), first), 0) << "the first run's rows are kept as they were";
  std::vector<Trial> all;
  ASSERT_TRUE(ReadTrials(out + "/trials.csv", &all).ok());
  EXPECT_GT(all.size(), early.size());
  std::set<std::string> keys;
  for (const Trial& t : all) EXPECT_TRUE(keys.insert(TrialKey(t)).second) << "trial run twice: " << TrialKey(t);
  EXPECT_TRUE(std::filesystem::exists(out + "/best.toml"));
}

// Rows of trials.csv so far (header excluded).
size_t TrialRows(const std::string& path) {
  std::ifstream in(path);
  size_t lines = 0;
  for (std::string line; std::getline(in, line);) ++lines;
  return lines > 0 ? lines - 1 : 0;
}

TEST(TuneCommandTest, SigintStopsItAndTheNextRunGoesOn) {
  // Signalled alone, the tune lets the trial in flight finish and records it; signalled with its
  // process group (Ctrl-C at a terminal), the trial stops too and is not recorded.
  for (bool whole_group : {false, true}) {
    SCOPED_TRACE(whole_group ? "process group" : "tune alone");
    TempDir dir;
    const std::string out = dir.Path("tune"), csv = out + "/trials.csv";
    const pid_t pid = testing::SpawnRapid(TuneArgs(out, "5m"), whole_group);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (TrialRows(csv) < 1 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // into the next trial
    kill(whole_group ? -pid : pid, SIGINT);
    const int code = testing::WaitRapid(pid);
    if (code == 0) GTEST_SKIP() << "the tune finished before the signal";
    EXPECT_EQ(code, 130);
    std::vector<Trial> early;
    ASSERT_TRUE(ReadTrials(csv, &early).ok());
    ASSERT_GE(early.size(), 1u);
    for (const Trial& t : early) EXPECT_TRUE(t.success) << "an interrupted trial was recorded: " << t.error;
    std::string log;
    ASSERT_EQ(RunRapid(TuneArgs(out, "5m"), &log), 0) << log;
    EXPECT_NE(log.find(std::to_string(early.size()) + " read back"), std::string::npos) << log;
    std::vector<Trial> all;
    ASSERT_TRUE(ReadTrials(csv, &all).ok());
    std::set<std::string> keys;
    for (const Trial& t : all) EXPECT_TRUE(keys.insert(TrialKey(t)).second) << "trial run twice: " << TrialKey(t);
  }
}

TEST(TuneCommandTest, FailedTrialsAreRecordedWithTheirReason) {
  TempDir dir;
  const std::string out = dir.Path("tune");
  std::vector<std::string> args = TuneArgs(out, "5m");
  args.insert(args.end(), {"--max-ram", "1M"});  // no configuration fits
  std::string log;
  EXPECT_EQ(RunRapid(args, &log), 2) << log;
  EXPECT_NE(log.find("no trial succeeded"), std::string::npos) << log;
  std::vector<Trial> trials;
  ASSERT_TRUE(ReadTrials(out + "/trials.csv", &trials).ok());
  ASSERT_GE(trials.size(), 1u);
  for (const Trial& t : trials) {
    EXPECT_FALSE(t.success);
    EXPECT_NE(t.error.find("exit 1"), std::string::npos) << t.error;
    EXPECT_NE(t.error.find("--max-ram"), std::string::npos) << t.error;
  }
  EXPECT_FALSE(std::filesystem::exists(out + "/best.toml"));
}

TEST(TuneCommandTest, BadOptionsAreConfigurationErrors) {
  TempDir dir;
  std::string log;
  EXPECT_EQ(RunRapid({"tune", "--input", kSample, "--output", dir.path(), "--time-budget", "soon"}, &log), 1);
  EXPECT_NE(log.find("--time-budget"), std::string::npos) << log;
  EXPECT_EQ(RunRapid({"tune", "--input", kSample, "--output", dir.path(), "--batch-sizes", "8,x"}, &log), 1);
  EXPECT_NE(log.find("--batch-sizes"), std::string::npos) << log;
  EXPECT_EQ(RunRapid({"tune", "--input", dir.Path("missing"), "--output", dir.path()}, &log), 1);
  EXPECT_NE(log.find("missing"), std::string::npos) << log;
  EXPECT_EQ(RunRapid({"tune", "--input", kSample, "--output", dir.path(), "--cpus", "4000"}, &log), 1);
  EXPECT_NE(log.find("CPU 4000 is not one this process may use"), std::string::npos) << log;
  EXPECT_EQ(RunRapid({"tune", "--query", "--cpus", "2", "--stations", "10", "--output", dir.path()}, &log), 1);
  EXPECT_NE(log.find("trials.csv"), std::string::npos) << log;
  EXPECT_EQ(RunRapid({"report", dir.path()}, &log), 1);
  EXPECT_NE(log.find("trials.csv"), std::string::npos) << log;
}

}  // namespace
}  // namespace rapid
