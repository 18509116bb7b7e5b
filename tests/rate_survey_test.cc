// The rates a run plans for are read from the start of each unit's first time group: every
// channel there, whole records only, unreadable files skipped, later time groups not read.
#include "engine/rate_survey.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "io/mseed_reader.h"
#include "io/mseed_writer.h"
#include "test_util.h"

namespace rapid {
namespace {

using testing::TempDir;

constexpr NanoTime kT0 = 1704067200LL * kNanosPerSecond;  // 2024-01-01T00:00:00Z

// A file of `seconds` of a ramp at rate_hz on NET.STA..channel, in records of record_bytes.
std::string WriteChannel(const TempDir& dir, const std::string& name, const std::string& station,
                         const std::string& channel, double rate_hz, int seconds, int record_bytes = 512) {
  TraceSegment seg;
  seg.id = {"XX", station, "", channel};
  seg.start = kT0;
  seg.rate_hz = rate_hz;
  for (int i = 0; i < static_cast<int>(rate_hz) * seconds; ++i) seg.samples.push_back(i % 1000);
  const std::string path = dir.Path(name);
  EXPECT_TRUE(WriteMseedFile(path, {seg}, SampleEncoding::kSteim2, record_bytes).ok());
  return path;
}

constexpr int64_t kCap = 4'500'000;

std::vector<double> Rates(const std::vector<SurveyedRate>& surveyed) {
  std::vector<double> rates;
  for (const SurveyedRate& r : surveyed) rates.push_back(r.rate_hz);
  return rates;
}

TEST(RateSurveyTest, ReadsTheStartOfEachUnitsFirstTimeGroup) {
  TempDir dir;
  std::vector<InputFile> files = {
      {WriteChannel(dir, "a_hhz", "AAA", "HHZ", 100.0, 60), 0, 1},
      {WriteChannel(dir, "a_bhz", "AAA", "BHZ", 40.0, 600, 4096), 0, 1},
      {WriteChannel(dir, "a_later", "AAA", "HHZ", 250.0, 60), 1, 2},  // second time group: not read
      {WriteChannel(dir, "b_hhz", "BBB", "HHZ", 200.0, 60), 0, 1},
      {dir.Touch("b_text"), 0, 1},     // not miniSEED
      {dir.Path("b_missing"), 0, 1},  // no such file
  };
  const std::vector<WorkUnit> units = {{"XX.AAA.", {&files[0], &files[1], &files[2]}},
                                       {"XX.BBB.", {&files[3], &files[4], &files[5]}}};
  EXPECT_EQ(Rates(SurveySampleRates(units, kCap)), (std::vector<double>{40.0, 100.0, 200.0}));
}

TEST(RateSurveyTest, ReadsAtMostItsFilesPerUnitAndWholeRecords) {
  TempDir dir;
  std::vector<InputFile> files;
  files.reserve(kRateSurveyFilesPerUnit + 1);
  for (size_t i = 0; i < kRateSurveyFilesPerUnit; ++i) {
    const std::string channel = "HH" + std::to_string(i % 10);
    files.push_back({WriteChannel(dir, "f" + std::to_string(i), "AAA", channel, 100.0, 30), 0, 1});
  }
  files.push_back({WriteChannel(dir, "last", "AAA", "EHZ", 50.0, 30), 0, 1});
  WorkUnit unit{"XX.AAA.", {}};
  for (const InputFile& f : files) unit.files.push_back(&f);
  EXPECT_EQ(Rates(SurveySampleRates({unit}, kCap)), (std::vector<double>{100.0}));

  // A record longer than the bytes read is not decoded: nothing to survey in that file.
  std::vector<InputFile> long_records = {
      {WriteChannel(dir, "long", "CCC", "HHZ", 40.0, 600, 2 * static_cast<int>(kRateSurveyPrefixBytes)), 0, 1}};
  EXPECT_TRUE(SurveySampleRates({{"XX.CCC.", {&long_records[0]}}}, kCap).empty());
}

// A channel is at most as long as its unit's files allow (Steim-2 at best), counted up to the cap;
// a rate found in two units takes the longer.
TEST(RateSurveyTest, ChannelLengthIsBoundedByTheUnitsFileBytes) {
  TempDir dir;
  std::vector<InputFile> files = {
      {WriteChannel(dir, "a_z", "AAA", "BHZ", 40.0, 600), 0, 1},
      {WriteChannel(dir, "a_n", "AAA", "BHN", 40.0, 600), 0, 1},
      {WriteChannel(dir, "b_z", "BBB", "BHZ", 40.0, 60), 0, 1},
      {WriteChannel(dir, "c_z", "CCC", "HHZ", 250.0, 60), 0, 1},
  };
  const auto bytes = [&](size_t i) { return static_cast<double>(std::filesystem::file_size(files[i].path)); };
  const std::vector<WorkUnit> units = {
      {"XX.AAA.", {&files[0], &files[1]}}, {"XX.BBB.", {&files[2]}}, {"XX.CCC.", {&files[3]}}};
  const std::vector<SurveyedRate> surveyed = SurveySampleRates(units, kCap);
  ASSERT_EQ(surveyed.size(), 2u);
  EXPECT_EQ(surveyed[0].max_channel_samples, static_cast<int64_t>((bytes(0) + bytes(1)) * kMaxSamplesPerMseedByte));
  EXPECT_GE(surveyed[0].max_channel_samples, 40 * 600);  // holds what was written
  EXPECT_EQ(surveyed[1].max_channel_samples, static_cast<int64_t>(bytes(3) * kMaxSamplesPerMseedByte));
  EXPECT_EQ(SurveySampleRates(units, 1000)[0].max_channel_samples, 1000);
}

}  // namespace
}  // namespace rapid
