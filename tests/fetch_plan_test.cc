// `rapid fetch`'s planning: the station service's channel list parsed, the slices and files of
// both layouts (the timechunk layout read back by `rapid run`'s input scan), bulk requests of
// bounded size and their POST bodies.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "fetch/fetch_plan.h"
#include "fetch/record_split.h"
#include "fetch/station_text.h"
#include "io/input_scan.h"
#include "seedlink_test_server.h"
#include "test_util.h"

namespace rapid {
namespace {

NanoTime T(const char* iso) { return *ParseIsoTime(iso); }

// As EarthScope's fdsnws-station answers level=channel&format=text (spaces around the bars).
constexpr char kStationText[] =
    "#Network | Station | Location | Channel | Latitude | Longitude | Elevation | Depth | Azimuth | Dip | "
    "SensorDescription | Scale | ScaleFreq | ScaleUnits | SampleRate | StartTime | EndTime\n"
    "TX|PB35|00|HHZ|31.6|-103.9|900|0|0|-90|Trillium|1e9|1|M/S|100|2018-01-01T00:00:00|\n"
    "TX|PB35|00|HHN|31.6|-103.9|900|0|0|0|Trillium|1e9|1|M/S|100.0|2018-01-01T00:00:00.0000|2024-12-15T12:30:00\n"
    "\n"
    "4O|AT01|--|HHZ|31.7|-104.0|850|0|0|-90|STS|1e9|1|M/S|200|2017-06-01T00:00:00|2599-12-31T23:59:59\n";

TEST(FetchPlanTest, StationTextGivesEachChannelWithItsRateAndEpoch) {
  std::vector<ChannelEpoch> channels;
  ASSERT_TRUE(ParseStationText(kStationText, &channels).ok());
  ASSERT_EQ(channels.size(), 3u);
  EXPECT_EQ(channels[0].Id(), "TX.PB35.00.HHZ");
  EXPECT_EQ(channels[0].end, kUnsetTime);  // open
  EXPECT_DOUBLE_EQ(channels[1].rate_hz, 100.0);
  EXPECT_EQ(channels[1].end, T("2024-12-15T12:30:00Z"));
  EXPECT_EQ(channels[2].Id(), "4O.AT01..HHZ");  // "--": the empty location
  EXPECT_DOUBLE_EQ(channels[2].rate_hz, 200.0);
  // Without a header: the specification's column order.
  ASSERT_TRUE(ParseStationText("TX|PB01||HHZ|0|0|0|0|0|0|x|1|1|M/S|40|2020-01-01T00:00:00|\n", &channels).ok());
  ASSERT_EQ(channels.size(), 1u);
  EXPECT_DOUBLE_EQ(channels[0].rate_hz, 40.0);
  const Status bad = ParseStationText(std::string(kStationText) + "TX|PB01||HHZ|0|0|0|0|0|0|x|1|1|M/S|fast|2020-01-01|\n",
                                      &channels);
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("line 6"), std::string::npos) << bad.message();
  EXPECT_NE(bad.message().find("sample rate 'fast'"), std::string::npos) << bad.message();
}

TEST(FetchPlanTest, ChunkLayoutSlicesAreWhatRapidRunReadsBack) {
  std::vector<ChannelEpoch> channels;
  ASSERT_TRUE(ParseStationText(kStationText, &channels).ok());
  // Two hours from 11:00 in 60 min chunks with 2 min overlap; HHN ends at 12:30.
  const std::vector<FetchSlice> slices =
      PlanSlices(channels, T("2024-12-15T11:00:00Z"), T("2024-12-15T13:00:00Z"), 3600 * kNanosPerSecond, 120 * kNanosPerSecond,
                 FetchLayout::kChunks);
  ASSERT_EQ(slices.size(), 6u);
  EXPECT_EQ(slices[0].path, "20241215T110000Z_20241215T120000Z/PB35/TX.PB35.00.HHZ__20241215T110000Z__20241215T120000Z.mseed");
  EXPECT_EQ(slices[2].path, "20241215T110000Z_20241215T120000Z/AT01/4O.AT01..HHZ__20241215T110000Z__20241215T120000Z.mseed");
  EXPECT_EQ(slices[3].start, T("2024-12-15T11:58:00Z"));  // the second chunk starts 2 min early
  EXPECT_EQ(slices[4].end, T("2024-12-15T12:30:00Z"));    // HHN's epoch ends
  EXPECT_EQ(slices[4].path, "20241215T115800Z_20241215T130000Z/PB35/TX.PB35.00.HHN__20241215T115800Z__20241215T130000Z.mseed");

  testing::TempDir dir;
  for (const FetchSlice& s : slices) {
    std::filesystem::create_directories(std::filesystem::path(dir.Path(s.path)).parent_path());
    std::ofstream(dir.Path(s.path)) << "x";
  }
  std::vector<InputFile> files;
  InputLayout layout = InputLayout::kAuto;
  std::vector<std::string> notes;
  ASSERT_TRUE(ScanInput(dir.path(), ScanOptions(), &files, &layout, &notes).ok());
  EXPECT_EQ(layout, InputLayout::kChunks);
  ASSERT_EQ(files.size(), slices.size());
  for (const InputFile& f : files) {
    const auto it = std::find_if(slices.begin(), slices.end(), [&](const FetchSlice& s) { return dir.Path(s.path) == f.path; });
    ASSERT_NE(it, slices.end()) << f.path;
    EXPECT_LE(f.chunk_start, it->start);  // the folder's span holds the slice
    EXPECT_GE(f.chunk_end, it->end);
  }
}

TEST(FetchPlanTest, SdsLayoutHasADayFilePerChannelNamedByDayOfYear) {
  std::vector<ChannelEpoch> channels;
  ASSERT_TRUE(ParseStationText(kStationText, &channels).ok());
  channels.resize(1);  // TX.PB35.00.HHZ
  const std::vector<FetchSlice> slices =
      PlanSlices(channels, T("2024-12-30T22:00:00Z"), T("2025-01-01T01:00:00Z"), 0, 0, FetchLayout::kSds);
  ASSERT_EQ(slices.size(), 3u);
  EXPECT_EQ(slices[0].path, "2024/TX/PB35/HHZ.D/TX.PB35.00.HHZ.D.2024.365");
  EXPECT_EQ(slices[0].start, T("2024-12-30T22:00:00Z"));
  EXPECT_EQ(slices[1].path, "2024/TX/PB35/HHZ.D/TX.PB35.00.HHZ.D.2024.366");  // a leap year
  EXPECT_EQ(slices[1].end, T("2025-01-01T00:00:00Z"));
  EXPECT_EQ(slices[2].path, "2025/TX/PB35/HHZ.D/TX.PB35.00.HHZ.D.2025.001");
  EXPECT_EQ(slices[2].end, T("2025-01-01T01:00:00Z"));
}

TEST(FetchPlanTest, RequestsAreBoundedAndTheirBodiesNameEachSlice) {
  std::vector<ChannelEpoch> channels;
  ASSERT_TRUE(ParseStationText(kStationText, &channels).ok());
  const std::vector<FetchSlice> slices =
      PlanSlices(channels, T("2024-12-15T11:00:00Z"), T("2024-12-15T13:00:00Z"), 3600 * kNanosPerSecond, 0, FetchLayout::kChunks);
  ASSERT_EQ(slices.size(), 6u);
  // An hour at 100 Hz is 360 000 samples, at 200 Hz 720 000.
  const auto by_samples = GroupRequests(slices, 800'000, 100);
  ASSERT_EQ(by_samples.size(), 4u);
  EXPECT_EQ(by_samples[0], (std::vector<size_t>{0, 1}));
  EXPECT_EQ(by_samples[1], (std::vector<size_t>{2}));
  EXPECT_EQ(GroupRequests(slices, 1e12, 4).size(), 2u);
  EXPECT_EQ(DataselectBody(slices, {0, 2}),
            "TX PB35 00 HHZ 2024-12-15T11:00:00.000000 2024-12-15T12:00:00.000000\n"
            "4O AT01 -- HHZ 2024-12-15T11:00:00.000000 2024-12-15T12:00:00.000000\n");
}

// A dataselect answer: the records of two channels interleaved, cut into records and given to the
// slices of their channel and time; an answer cut short is refused whole.
TEST(FetchPlanTest, AnAnswersRecordsGoToTheirSlicesAndACutAnswerIsRefused) {
  const std::string dir = std::string(RAPID_SOURCE_DIR) + "/data/texnet-sample/20241215T115800Z_20241215T120100Z/AT01/";
  const std::string z = testing::ReadFileText(dir + "4O.AT01.00.HHZ__20241215T115800Z__20241215T120100Z.mseed");
  const std::string n = testing::ReadFileText(dir + "4O.AT01.00.HHN__20241215T115800Z__20241215T120100Z.mseed");
  const std::vector<std::string> zr = testing::SplitRecords(z), nr = testing::SplitRecords(n);
  std::string body;
  for (size_t i = 0; i < std::max(zr.size(), nr.size()); ++i) {
    if (i < zr.size()) body += zr[i];
    if (i < nr.size()) body += nr[i];
  }
  std::vector<FetchedRecord> records;
  ASSERT_TRUE(SplitRecords(body, &records).ok());
  ASSERT_EQ(records.size(), zr.size() + nr.size());
  EXPECT_EQ(records[0].id.ToString(), "4O.AT01.00.HHZ");

  ChannelEpoch hhz{"4O", "AT01", "00", "HHZ", 100.0, T("2024-01-01T00:00:00Z"), kUnsetTime};
  ChannelEpoch hhn = hhz, hhe = hhz;
  hhn.channel = "HHN";
  hhe.channel = "HHE";
  const std::vector<FetchSlice> slices = {{hhz, T("2024-12-15T11:58:00Z"), T("2024-12-15T12:01:00Z"), "z"},
                                          {hhn, T("2024-12-15T11:58:00Z"), T("2024-12-15T12:01:00Z"), "n"},
                                          {hhe, T("2024-12-15T11:58:00Z"), T("2024-12-15T12:01:00Z"), "e"},
                                          {hhz, T("2024-12-15T13:00:00Z"), T("2024-12-15T14:00:00Z"), "later"}};
  const std::vector<std::string> by_slice = RecordsBySlice(records, slices, {0, 1, 2, 3});
  EXPECT_EQ(by_slice[0], z);  // HHZ's records, in order, byte for byte
  EXPECT_EQ(by_slice[1], n);
  EXPECT_TRUE(by_slice[2].empty());  // no HHE in the answer: no data
  EXPECT_TRUE(by_slice[3].empty());  // no HHZ then

  const Status cut = SplitRecords(std::string_view(body).substr(0, body.size() - 100), &records);
  EXPECT_EQ(cut.code(), Status::Code::kCorruption);
  EXPECT_NE(cut.message().find("cut short"), std::string::npos) << cut.message();
  EXPECT_FALSE(SplitRecords(body + "garbage that is not a record, long enough to be looked at as one", &records).ok());
}

}  // namespace
}  // namespace rapid
