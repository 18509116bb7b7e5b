#include "sinks/eqcctpro_csv.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "test_util.h"

namespace rapid {
namespace {

using testing::Iso;
using testing::ReadFileText;
using testing::TempDir;

Pick MakePick(const std::string& trace_id, const std::string& phase, const char* peak_iso, float value) {
  return testing::MakePick(trace_id, phase, peak_iso, value, kNanosPerSecond / 10, kNanosPerSecond / 10);
}

const NanoTime kChunkStart = Iso("2024-12-15T11:58:00Z");
const NanoTime kChunkEnd = Iso("2024-12-15T12:01:00Z");
const std::string kHeader =
    "file_name,network,station,instrument_type,station_lat,station_lon,station_elv,"
    "p_arrival_time,p_probability,s_arrival_time,s_probability\r\n";
const std::string kBp01 = "4O.BP01.__20241215T115800Z__20241215T120100Z,4O,BP01,HH,,,,";

EqcctproStationInfo Bp01Info() {
  EqcctproStationInfo info;
  info.trace_id = "4O.BP01.";
  info.instrument_type = "HH";
  return info;
}

TEST(EqcctproCsvTest, PairsEachPWithTheFirstUnusedSWithinThirtySeconds) {
  // Given out of time order on purpose. Covers: an S before any P; an S exactly 30 s after P1
  // (inclusive bound, so paired); a second P before that S (it finds the S used: empty S fields);
  // a P with no S; an S more than 30 s after the last P (its own row).
  std::vector<Pick> picks = {
      MakePick("4O.BP01.", "P", "2024-12-15T11:59:30.123456Z", 0.812f),
      MakePick("4O.BP01.", "S", "2024-12-15T11:58:40Z", 0.7f),
      MakePick("4O.BP01.", "P", "2024-12-15T11:58:15.25Z", 0.8f),
      MakePick("4O.BP01.", "S", "2024-12-15T11:58:02.5Z", 0.41f),
      MakePick("4O.BP01.", "P", "2024-12-15T11:58:10Z", 0.9f),
      MakePick("4O.BP01.", "S", "2024-12-15T12:00:30.01Z", 0.33f),
  };
  std::string expected = kHeader +
                         kBp01 + ",,2024-12-15 11:58:02.500000,0.41\r\n" +
                         kBp01 + "2024-12-15 11:58:10,0.9,2024-12-15 11:58:40,0.7\r\n" +
                         kBp01 + "2024-12-15 11:58:15.250000,0.8,,\r\n" +
                         kBp01 + "2024-12-15 11:59:30.123456,0.812,,\r\n" +
                         kBp01 + ",,2024-12-15 12:00:30.010000,0.33\r\n";
  EXPECT_EQ(FormatEqcctproCsv(picks, Bp01Info(), kChunkStart, kChunkEnd), expected);
}

TEST(EqcctproCsvTest, BoundsAreZeroAndThirtySecondsInclusive) {
  std::vector<Pick> picks = {
      MakePick("4O.BP01.", "P", "2024-12-15T11:58:10Z", 0.9f),
      MakePick("4O.BP01.", "S", "2024-12-15T11:58:10Z", 0.6f),  // 0 s after: paired
      MakePick("4O.BP01.", "P", "2024-12-15T11:59:00Z", 0.9f),
      MakePick("4O.BP01.", "S", "2024-12-15T11:59:30.000001Z", 0.6f),  // 30 s + 1 us: not paired
      MakePick("4O.BP01.", "S", "2024-12-15T11:59:59.999999Z", 0.5f),
      MakePick("4O.BP01.", "P", "2024-12-15T12:00:00Z", 0.7f),  // that S is 1 us before: not paired
  };
  std::string expected = kHeader +
                         kBp01 + "2024-12-15 11:58:10,0.9,2024-12-15 11:58:10,0.6\r\n" +
                         kBp01 + "2024-12-15 11:59:00,0.9,,\r\n" +
                         kBp01 + ",,2024-12-15 11:59:30.000001,0.6\r\n" +
                         kBp01 + ",,2024-12-15 11:59:59.999999,0.5\r\n" +
                         kBp01 + "2024-12-15 12:00:00,0.7,,\r\n";
  EXPECT_EQ(FormatEqcctproCsv(picks, Bp01Info(), kChunkStart, kChunkEnd), expected);
}

TEST(EqcctproCsvTest, AnSOnlyRowFollowsAPRowAtTheSameTimeAndOtherPhasesAreIgnored) {
  // Two P at the same time; the S pairs with the first only.
  std::vector<Pick> picks = {
      MakePick("4O.BP01.", "S", "2024-12-15T11:58:20Z", 0.5f),
      MakePick("4O.BP01.", "P", "2024-12-15T11:58:20Z", 0.6f),
      MakePick("4O.BP01.", "P", "2024-12-15T11:58:20Z", 0.4f),
      MakePick("4O.BP01.", "D", "2024-12-15T11:58:21Z", 0.9f),
  };
  std::string expected = kHeader +
                         kBp01 + "2024-12-15 11:58:20,0.6,2024-12-15 11:58:20,0.5\r\n" +
                         kBp01 + "2024-12-15 11:58:20,0.4,,\r\n";
  EXPECT_EQ(FormatEqcctproCsv(picks, Bp01Info(), kChunkStart, kChunkEnd), expected);
}

TEST(EqcctproCsvTest, ProbabilitiesRoundLikeNumpyFloat32AndPrintShortest) {
  std::vector<Pick> picks = {
      MakePick("4O.BP01.", "P", "2024-12-15T11:58:01Z", 0.8125f),  // exact tie: half to even
      MakePick("4O.BP01.", "P", "2024-12-15T11:58:40Z", 0.9996f),  // rounds up to 1
      MakePick("4O.BP01.", "P", "2024-12-15T11:59:20Z", 0.30049999f),
      MakePick("4O.BP01.", "P", "2024-12-15T11:59:59Z", 0.1f),
  };
  std::string expected = kHeader +
                         kBp01 + "2024-12-15 11:58:01,0.812,,\r\n" +
                         kBp01 + "2024-12-15 11:58:40,1.0,,\r\n" +
                         kBp01 + "2024-12-15 11:59:20,0.3,,\r\n" +
                         kBp01 + "2024-12-15 11:59:59,0.1,,\r\n";
  EXPECT_EQ(FormatEqcctproCsv(picks, Bp01Info(), kChunkStart, kChunkEnd), expected);
}

TEST(EqcctproCsvTest, FileNameFollowsEqcctproWhenTheFileChannelIsKnown) {
  EqcctproStationInfo info = Bp01Info();
  info.file_channel = "HHZ";
  info.latitude_deg = 31.5;
  info.longitude_deg = -104.25;
  info.elevation_m = 1000;
  std::vector<Pick> picks = {MakePick("4O.BP01.", "P", "2024-12-15T11:58:10.5Z", 0.5f)};
  EXPECT_EQ(FormatEqcctproCsv(picks, info, kChunkStart, kChunkEnd),
            kHeader +
                "BP01/4O.BP01..HHZ__20241215T115800Z__20241215T120100Z.mseed,4O,BP01,HH,31.5,-104.25,1000,"
                "2024-12-15 11:58:10.500000,0.5,,\r\n");
}

TEST(EqcctproCsvTest, FieldsWithCommasOrQuotesAreQuotedAsPythonCsvDoes) {
  EqcctproStationInfo info;
  info.trace_id = "X,Y.S\"T.00";
  info.instrument_type = "HH";
  std::vector<Pick> picks = {MakePick(info.trace_id, "S", "2024-12-15T11:58:10Z", 0.5f)};
  EXPECT_EQ(FormatEqcctproCsv(picks, info, kChunkStart, kChunkEnd),
            kHeader +
                "\"X,Y.S\"\"T.00__20241215T115800Z__20241215T120100Z\",\"X,Y\",\"S\"\"T\",HH,,,,,,"
                "2024-12-15 11:58:10,0.5\r\n");
}

TEST(EqcctproCsvTest, CompactTimeTruncatesToTheSecond) {
  EXPECT_EQ(FormatEqcctproCompactTime(Iso("2024-12-15T11:58:00.999Z")), "20241215T115800Z");
  EXPECT_EQ(FormatEqcctproCompactTime(Iso("2024-12-15T11:58:00Z")), "20241215T115800Z");
  EXPECT_EQ(FormatEqcctproCompactTime(-kNanosPerSecond / 2), "19691231T235959Z");
}

std::vector<std::string> FilesUnder(const std::string& dir) {
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) files.push_back(std::filesystem::relative(entry.path(), dir).string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

TEST(EqcctproCsvTest, WritesOneFilePerStationInTheChunkLayout) {
  TempDir tmp;
  std::map<std::string, std::string> instruments = {
      {"4O.BP01.", "HH"}, {"TX.PB04.00", "HH"}, {"TX.PB04.10", "EH"}, {"4O.AT01.00", "HH"}};
  std::map<std::string, std::string> file_channels = {{"TX.PB04.00", "HHZ"}};
  std::vector<Pick> picks = {
      MakePick("TX.PB04.10", "P", "2024-12-15T11:58:05Z", 0.5f),
      MakePick("4O.BP01.", "S", "2024-12-15T11:58:30Z", 0.6f),
      MakePick("4O.BP01.", "P", "2024-12-15T11:58:10Z", 0.7f),
      MakePick("TX.PB04.00", "P", "2024-12-15T11:58:06Z", 0.8f),
  };
  ASSERT_TRUE(WriteEqcctproOutputs(tmp.path(), picks, instruments, kChunkStart, kChunkEnd, &file_channels).ok());

  const std::string chunk = "20241215T115800Z_20241215T120100Z/";
  EXPECT_EQ(FilesUnder(tmp.path()),
            (std::vector<std::string>{chunk + "AT01_outputs/X_prediction_results.csv",
                                      chunk + "BP01_outputs/X_prediction_results.csv",
                                      chunk + "PB04_outputs/X_prediction_results.csv"}));
  // A station without picks gets a header-only file.
  EXPECT_EQ(ReadFileText(tmp.path() + "/" + chunk + "AT01_outputs/X_prediction_results.csv"), kHeader);
  EXPECT_EQ(ReadFileText(tmp.path() + "/" + chunk + "BP01_outputs/X_prediction_results.csv"),
            kHeader + kBp01 + "2024-12-15 11:58:10,0.7,2024-12-15 11:58:30,0.6\r\n");
  // Two locations of one station share its file, grouped by trace id.
  EXPECT_EQ(ReadFileText(tmp.path() + "/" + chunk + "PB04_outputs/X_prediction_results.csv"),
            kHeader +
                "PB04/TX.PB04.00.HHZ__20241215T115800Z__20241215T120100Z.mseed,TX,PB04,HH,,,,"
                "2024-12-15 11:58:06,0.8,,\r\n"
                "TX.PB04.10__20241215T115800Z__20241215T120100Z,TX,PB04,EH,,,,2024-12-15 11:58:05,0.5,,\r\n");
  // Rewriting replaces the files whole (atomic rename; no temporaries left behind).
  ASSERT_TRUE(WriteEqcctproOutputs(tmp.path(), {}, instruments, kChunkStart, kChunkEnd).ok());
  EXPECT_EQ(ReadFileText(tmp.path() + "/" + chunk + "BP01_outputs/X_prediction_results.csv"), kHeader);
  EXPECT_EQ(FilesUnder(tmp.path()).size(), 3u);
}

TEST(EqcctproCsvTest, RejectsPicksOfUnknownStationsBeforeWritingAnything) {
  TempDir tmp;
  std::map<std::string, std::string> instruments = {{"4O.BP01.", "HH"}};
  std::vector<Pick> picks = {MakePick("4O.XX01.", "P", "2024-12-15T11:58:05Z", 0.5f)};
  Status s = WriteEqcctproOutputs(tmp.path(), picks, instruments, kChunkStart, kChunkEnd);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("4O.XX01."), std::string::npos);
  EXPECT_TRUE(FilesUnder(tmp.path()).empty());

  s = WriteEqcctproOutputs(tmp.path(), {}, {{"BP01", "HH"}}, kChunkStart, kChunkEnd);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  s = WriteEqcctproOutputs(tmp.path(), {}, {{"4O.a/b.", "HH"}}, kChunkStart, kChunkEnd);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(FilesUnder(tmp.path()).empty());
}

// The whole run at once from a pick spill gives the files of WriteEqcctproOutputs chunk by chunk:
// overlapping chunks (a pick in the overlap is in both), a station with two trace ids of two
// networks (another station's trace id sorts between them), a station without picks.
TEST(EqcctproCsvTest, RunFromASpillEqualsChunkByChunk) {
  TempDir tmp;
  const std::map<std::string, std::string> instruments = {
      {"4O.BP01.", "HH"}, {"5X.ZZ01.", "HH"}, {"TX.BP01.00", "EH"}, {"TX.PB04.10", "EH"}, {"4O.AT01.00", "HH"}};
  const std::vector<Pick> picks = {MakePick("5X.ZZ01.", "P", "2024-12-15T11:59:05Z", 0.9f),
      MakePick("TX.PB04.10", "P", "2024-12-15T11:58:05Z", 0.5f), MakePick("4O.BP01.", "S", "2024-12-15T11:59:30Z", 0.6f),
      MakePick("4O.BP01.", "P", "2024-12-15T11:59:10Z", 0.7f),   MakePick("TX.BP01.00", "P", "2024-12-15T11:58:06Z", 0.8f),
      MakePick("TX.BP01.00", "S", "2024-12-15T12:00:40Z", 0.4f)};
  const std::vector<std::pair<NanoTime, NanoTime>> chunks = {
      {Iso("2024-12-15T11:58:00Z"), Iso("2024-12-15T11:59:20Z")}, {Iso("2024-12-15T11:59:00Z"), Iso("2024-12-15T12:01:00Z")}};
  PickSpill spill;
  ASSERT_TRUE(spill.Open(tmp.Path("spill")).ok());
  ASSERT_TRUE(spill.Add({picks[0], picks[1], picks[2]}).ok());
  ASSERT_TRUE(spill.Add({picks[3], picks[4], picks[5]}).ok());
  ASSERT_TRUE(WriteEqcctproRun(tmp.Path("run"), chunks, spill, instruments).ok());
  for (const auto& [start, end] : chunks) {
    std::vector<Pick> in_chunk;
    for (const Pick& p : picks) {
      if (p.peak_time >= start && p.peak_time <= end) in_chunk.push_back(p);
    }
    SortPicks(&in_chunk);
    ASSERT_TRUE(WriteEqcctproOutputs(tmp.Path("chunks"), in_chunk, instruments, start, end).ok());
  }
  const std::vector<std::string> files = FilesUnder(tmp.Path("run"));
  EXPECT_EQ(files.size(), 2u * 4u);  // 2 chunks × stations AT01, BP01, PB04, ZZ01
  EXPECT_EQ(files, FilesUnder(tmp.Path("chunks")));
  for (const std::string& f : files) EXPECT_EQ(ReadFileText(tmp.Path("run/" + f)), ReadFileText(tmp.Path("chunks/" + f))) << f;
  EXPECT_NE(ReadFileText(tmp.Path("run/20241215T115900Z_20241215T120100Z/BP01_outputs/X_prediction_results.csv"))
                .find("2024-12-15 12:00:40"),
            std::string::npos);

  PickSpill unknown;
  ASSERT_TRUE(unknown.Open(tmp.Path("unknown")).ok());
  ASSERT_TRUE(unknown.Add({MakePick("4O.XX01.", "P", "2024-12-15T11:58:05Z", 0.5f)}).ok());
  const Status s = WriteEqcctproRun(tmp.Path("refused"), chunks, unknown, instruments);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_FALSE(std::filesystem::exists(tmp.Path("refused")));
}

TEST(EqcctproCsvTest, ReportsAnUnwritableFolderAsIOError) {
  TempDir tmp;
  std::string blocker = tmp.path() + "/not-a-dir";
  std::ofstream(blocker) << "x";
  Status s = WriteEqcctproOutputs(blocker, {}, {{"4O.BP01.", "HH"}}, kChunkStart, kChunkEnd);
  EXPECT_EQ(s.code(), Status::Code::kIOError);
}

}  // namespace
}  // namespace rapid
