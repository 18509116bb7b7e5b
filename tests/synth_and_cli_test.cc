// End to end through the `rapid` binary: the bundled demo, synthetic archives with planted
// arrivals, bad input, configuration errors and exit codes.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/nano_time.h"
#include "synth/synth.h"
#include "test_util.h"

namespace rapid {
namespace {

using testing::ReadCsv;
using testing::RunRapid;
using testing::TempDir;

TEST(CliTest, DemoRunsBundledSampleAndMatchesSeisBench) {
  // On the default backend and on the torch reference; run.json says which ran.
  for (const std::string backend : {"", "onednn", "torch"}) {
    SCOPED_TRACE("--backend " + backend);
    TempDir out;
    std::string log;
    std::vector<std::string> args = {"run", "--output", out.path()};
    if (!backend.empty()) args.insert(args.end(), {"--backend", backend});
    ASSERT_EQ(RunRapid(args, &log), 0) << log;
    EXPECT_NE(log.find("10 picks"), std::string::npos) << log;
    auto mine = ReadCsv(out.path() + "/picks.csv");
    auto golden = ReadCsv(std::string(RAPID_TEST_DATA_DIR) + "/golden/annotate/texnet12_phasenet_original.csv");
    ASSERT_EQ(mine.size(), golden.size());
    for (size_t i = 1; i < mine.size(); ++i) EXPECT_EQ(mine[i][2], golden[i][2]);
    const nlohmann::json run = nlohmann::json::parse(std::ifstream(out.path() + "/run.json"));
    EXPECT_EQ(run.at("backend"), backend.empty() ? "onednn" : backend);
  }
  std::string log;
  EXPECT_EQ(RunRapid({"run", "--backend", "tensorrt"}, &log), 1);
  EXPECT_NE(log.find("--backend"), std::string::npos) << log;
}

TEST(CliTest, SynthArrivalsArePickedWithinTenthOfASecond) {
  TempDir dir;
  const std::string data = dir.path() + "/archive", out = dir.path() + "/out";
  std::string log;
  ASSERT_EQ(RunRapid({"synth", "--output", data, "--stations", "3", "--duration", "5m", "--rates", "100,200,250"},
                     &log),
            0)
      << log;
  ASSERT_EQ(RunRapid({"run", "--input", data, "--output", out}, &log), 0) << log;
  auto truth = ReadCsv(data + "/arrivals.csv");
  auto picks = ReadCsv(out + "/picks.csv");
  ASSERT_GE(truth.size(), 25u);
  size_t found = 0;
  for (size_t i = 1; i < truth.size(); ++i) {
    NanoTime t = *ParseIsoTime(truth[i][2]);
    bool hit = false;
    for (size_t j = 1; j < picks.size() && !hit; ++j) {
      if (picks[j][0] != truth[i][0] || picks[j][1] != truth[i][1]) continue;
      hit = std::llabs(*ParseIsoTime(picks[j][2]) - t) <= 100'000'000;
    }
    found += hit ? 1 : 0;
    EXPECT_TRUE(hit) << truth[i][0] << " " << truth[i][1] << " " << truth[i][2];
  }
  // Few extra picks: at most one false pick per ten arrivals.
  EXPECT_LE(picks.size() - 1, found + found / 10);
}

// Any chunk holds the samples of the whole trace at its times: noise, and every event's wavelets
// (10 min at 250 Hz: nine events, whose P and S onsets fall inside chunks and on their edges).
TEST(CliTest, SynthChunksHoldIdenticalSamplesInOverlaps) {
  SynthOptions o;
  o.stations = 2;
  o.rates_hz = {250.0};
  const int64_t n = o.duration_s * 250;
  const auto whole = SynthSamples(o, 1, 'N', 250.0, 0, n);
  for (int64_t first = 1234; first < n; first += 4567) {
    const int64_t count = std::min<int64_t>(3001, n - first);
    const auto part = SynthSamples(o, 1, 'N', 250.0, first, count);
    for (int64_t i = 0; i < count; ++i) ASSERT_EQ(part[static_cast<size_t>(i)], whole[static_cast<size_t>(first + i)]) << first + i;
  }
}

TEST(CliTest, BadFileIsReportedAndOtherUnitsComplete) {
  TempDir dir;
  const std::string data = dir.path() + "/archive", out = dir.path() + "/out";
  ASSERT_EQ(RunRapid({"synth", "--output", data, "--stations", "2", "--duration", "2m"}), 0);
  // Truncate one station's Z file to a few bytes.
  std::string victim;
  for (const auto& e : std::filesystem::recursive_directory_iterator(data)) {
    if (e.path().filename().string().rfind("SY.S0002.00.HHZ", 0) == 0) victim = e.path().string();
  }
  ASSERT_FALSE(victim.empty());
  std::filesystem::resize_file(victim, 20);
  std::string log;
  EXPECT_EQ(RunRapid({"run", "--input", data, "--output", out}, &log), 2) << log;
  EXPECT_NE(log.find(victim), std::string::npos) << log;
  std::string report = testing::ReadFileText(out + "/run.json");
  EXPECT_NE(report.find(victim), std::string::npos);
  auto picks = ReadCsv(out + "/picks.csv");
  bool s1 = false;
  for (const auto& row : picks) s1 = s1 || row[0] == "SY.S0001.00";
  EXPECT_TRUE(s1) << "the healthy station was still picked";
}

TEST(CliTest, ConfigErrorsExitOneBeforeAnyWork) {
  TempDir dir;
  std::string log;
  EXPECT_EQ(RunRapid({"run", "--model", "nosuchnet", "--output", dir.path() + "/a"}, &log), 1);
  EXPECT_NE(log.find("unknown model"), std::string::npos) << log;
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/a/picks.csv"));
  EXPECT_EQ(RunRapid({"run", "--input", dir.path() + "/missing", "--output", dir.path() + "/b"}, &log), 1);
  EXPECT_NE(log.find("missing"), std::string::npos) << log;
  const std::string bad_weights = dir.path() + "/bad.pt";
  std::ofstream(bad_weights) << "not a zip";
  EXPECT_EQ(RunRapid({"run", "--weights", bad_weights, "--output", dir.path() + "/c"}, &log), 1);
  EXPECT_NE(log.find("bad.pt"), std::string::npos) << log;
  EXPECT_EQ(RunRapid({"run", "--no-such-flag"}, &log), 1);
}

TEST(CliTest, HelpListsEveryRunFlag) {
  std::string log;
  EXPECT_EQ(RunRapid({"run", "--help"}, &log), 0);
  for (const char* flag : {"--input", "--layout", "--model", "--weights", "--start", "--end", "--output", "--format",
                           "--save-probabilities", "--batch-size", "--intra-threads", "--instances", "--max-ram",
                           "--cpus", "--progress", "--devices", "--backend"}) {
    EXPECT_NE(log.find(flag), std::string::npos) << flag;
  }
}

TEST(CliTest, GlobInputIgnoresHydrophoneAndReportsIt) {
  TempDir out;
  std::string log;
  const std::string glob = std::string(RAPID_TEST_DATA_DIR) + "/mseed-corpus/seisbench-obs1/*";
  ASSERT_EQ(RunRapid({"run", "--input", glob, "--output", out.path()}, &log), 0) << log;
  std::string report = testing::ReadFileText(out.path() + "/run.json");
  EXPECT_NE(report.find("ignored channel IQ.OBS1..HHH"), std::string::npos) << report;
  EXPECT_NE(report.find("\"units_total\": 1"), std::string::npos) << report;
  // 75 s at 50 Hz, Fourier-resampled to 100 Hz: the OBS event gives one P and one S.
  auto picks = ReadCsv(out.path() + "/picks.csv");
  ASSERT_EQ(picks.size(), 3u);
  EXPECT_EQ(picks[1][0], "IQ.OBS1.");
  EXPECT_EQ(picks[1][1], "P");
  EXPECT_EQ(picks[2][1], "S");
  EXPECT_LT(*ParseIsoTime(picks[1][2]), *ParseIsoTime(picks[2][2]));
}

TEST(CliTest, WritesQuakeMlAndEqcctproBesidePicksCsv) {
  TempDir out;
  std::string log;
  ASSERT_EQ(RunRapid({"run", "--output", out.path(), "--format", "csv,quakeml,eqcctpro"}, &log), 0) << log;
  const std::string xml = testing::ReadFileText(out.path() + "/picks.xml");
  size_t picks = 0;
  for (size_t p = xml.find("<pick "); p != std::string::npos; p = xml.find("<pick ", p + 1)) ++picks;
  EXPECT_EQ(picks, 10u);
  EXPECT_NE(xml.find("2024-12-15T11:58:07.220000Z"), std::string::npos);
  // One EQCCTPro file per station of the chunk; DG05 pairs its P at 07.22 with its S at 10.32.
  const std::string chunk = out.path() + "/eqcctpro/20241215T115800Z_20241215T120100Z";
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(chunk)) files += e.is_directory() ? 1 : 0;
  EXPECT_EQ(files, 12);
  auto dg05 = ReadCsv(chunk + "/DG05_outputs/X_prediction_results.csv");
  ASSERT_EQ(dg05.size(), 4u);  // header + 3 P rows (the S goes with the first)
  EXPECT_EQ(dg05[1][7], "2024-12-15 11:58:07.220000");
  EXPECT_EQ(dg05[1][9], "2024-12-15 11:58:10.320000");
  EXPECT_EQ(RunRapid({"run", "--output", out.path() + "/x", "--format", "csv,shapefile"}, &log), 1);
  EXPECT_EQ(RunRapid({"run", "--output", out.path() + "/y", "--devices", "cuda:0"}, &log), 1);
  EXPECT_NE(log.find("--devices cuda:0"), std::string::npos) << log;
}

TEST(CliTest, PlannerDecisionsAreInRunJsonAndImpossibleBudgetsStopEarly) {
  TempDir out;
  std::string log;
  ASSERT_EQ(RunRapid({"run", "--output", out.path() + "/a", "--max-ram", "2G", "--cpus", "0"}, &log), 0) << log;
  const std::string report = testing::ReadFileText(out.path() + "/a/run.json");
  EXPECT_NE(report.find("\"source\": \"planner\""), std::string::npos) << report;
  EXPECT_NE(report.find("\"activation_bytes_per_window\""), std::string::npos);
  EXPECT_NE(report.find("\"cores_available\": 1"), std::string::npos) << report;
  EXPECT_EQ(RunRapid({"run", "--output", out.path() + "/b", "--max-ram", "1M"}, &log), 1);
  EXPECT_FALSE(std::filesystem::exists(out.path() + "/b"));  // nothing written, not even the folder
}

TEST(CliTest, ProgressLinesAndQueueHighWater) {
  TempDir out;
  std::string log;
  ASSERT_EQ(RunRapid({"run", "--output", out.path() + "/a"}, &log), 0) << log;
  EXPECT_NE(log.find("units 12/12  windows 132"), std::string::npos) << log;  // not a terminal: log lines
  ASSERT_EQ(RunRapid({"run", "--output", out.path() + "/b", "--progress", "off"}, &log), 0) << log;
  EXPECT_EQ(log.find("units 12/12  windows"), std::string::npos) << log;
  const std::string report = testing::ReadFileText(out.path() + "/b/run.json");
  // 12 blocks of ~18000 samples: samples (3 × 4 B) + stitcher slots (3 × 3 × 4 B) per sample.
  const size_t at = report.find("\"queue_high_water_bytes\": ");
  ASSERT_NE(at, std::string::npos);
  const long long high_water = std::atoll(report.c_str() + at + 26);
  EXPECT_GT(high_water, 18000LL * 48);
  EXPECT_LE(high_water, 12LL * 18002 * 48);
  EXPECT_EQ(RunRapid({"run", "--output", out.path() + "/c", "--progress", "loud"}, &log), 1);
}

TEST(CliTest, SdsArchiveGivesTheSamePicksAsTheTimechunkLayout) {
  // The bundled minute rearranged as an SDS archive: YEAR/NET/STA/CHA.D/NET.STA.LOC.CHA.D.YEAR.DOY.
  TempDir dir;
  const std::string sds = dir.path() + "/sds";
  int copied = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(std::string(RAPID_SOURCE_DIR) + "/data/texnet-sample")) {
    if (!e.is_regular_file()) continue;
    const std::string name = e.path().filename().string();  // NET.STA.LOC.CHA__start__end.mseed
    const std::string id = name.substr(0, name.find("__"));
    std::vector<std::string> f;
    for (size_t a = 0, b; a <= id.size(); a = b + 1) {
      b = id.find('.', a);
      if (b == std::string::npos) b = id.size();
      f.push_back(id.substr(a, b - a));
    }
    ASSERT_EQ(f.size(), 4u) << name;
    const std::string folder = sds + "/2024/" + f[0] + "/" + f[1] + "/" + f[3] + ".D";
    std::filesystem::create_directories(folder);
    std::filesystem::copy_file(e.path(), folder + "/" + id + ".D.2024.350");
    ++copied;
  }
  ASSERT_EQ(copied, 36);
  std::string log;
  ASSERT_EQ(RunRapid({"run", "--input", sds, "--output", dir.path() + "/out", "--start", "2024-12-15T00:00:00Z",
                      "--end", "2024-12-15T23:59:59Z"},
                     &log),
            0)
      << log;
  EXPECT_NE(testing::ReadFileText(dir.path() + "/out/run.json").find("\"layout\": \"sds\""), std::string::npos);
  auto mine = ReadCsv(dir.path() + "/out/picks.csv");
  auto golden = ReadCsv(std::string(RAPID_TEST_DATA_DIR) + "/golden/annotate/texnet12_phasenet_original.csv");
  ASSERT_EQ(mine.size(), golden.size());
  for (size_t i = 1; i < mine.size(); ++i) {
    EXPECT_EQ(mine[i][0], golden[i][0]);
    EXPECT_EQ(mine[i][2], golden[i][2]);
  }
}

TEST(CliTest, ModelsListsPhaseNet) {
  std::string log;
  ASSERT_EQ(RunRapid({"models", "--json"}, &log), 0) << log;
  EXPECT_NE(log.find("\"PhaseNet\""), std::string::npos) << log;
  EXPECT_NE(log.find("\"in_samples\": 3001"), std::string::npos) << log;
}

}  // namespace
}  // namespace rapid
