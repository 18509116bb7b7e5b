#include "io/sds_scan.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "io/input_scan.h"
#include "io/mseed_reader.h"
#include "io/mseed_writer.h"
#include "test_util.h"

namespace rapid {
namespace {

namespace fs = std::filesystem;

NanoTime T(const char* iso) { return *ParseIsoTime(iso); }

// "YEAR/NET/STA/CHAN.D/NET.STA.LOC.CHAN.D.YEAR.DOY" relative to the archive root.
std::string DayPath(const std::string& net, const std::string& sta, const std::string& loc, const std::string& chan,
                    int year, int doy) {
  char day[8];
  std::snprintf(day, sizeof day, "%03d", doy);
  const std::string y = std::to_string(year);
  return y + "/" + net + "/" + sta + "/" + chan + ".D/" + net + "." + sta + "." + loc + "." + chan + ".D." + y +
         "." + day;
}

void Touch(const std::string& root, const std::string& relative) {
  const fs::path p = fs::path(root) / relative;
  fs::create_directories(p.parent_path());
  std::ofstream(p) << "";
}

// A small archive across the 2023 → 2024 year boundary and the 2024 leap day (day 060 = Feb 29).
class SdsScanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::vector<std::pair<int, int>> days = {{2023, 364}, {2023, 365}, {2024, 1},
                                                   {2024, 2},   {2024, 59},  {2024, 60}, {2024, 61}};
    for (const auto& [year, doy] : days) {
      Touch(root(), DayPath("XX", "BBB", "", "HHZ", year, doy));  // empty location
      Touch(root(), DayPath("XX", "AAA", "00", "HHZ", year, doy));
      Touch(root(), DayPath("XX", "AAA", "00", "HHN", year, doy));
    }
    Touch(root(), DayPath("XX", "AAA", "10", "HHZ", 2024, 60));  // second location of the same station
    Touch(root(), "README");                                     // archive roots hold other things
    Touch(root(), "inventory/XX.xml");
  }

  const std::string& root() const { return dir_.path(); }

  // Paths of the selection relative to the root, or the error as text.
  std::vector<std::string> Select(NanoTime start, NanoTime end) {
    std::vector<InputFile> files;
    notes_.clear();
    const Status status = ScanSds(root(), start, end, &files, &notes_);
    if (!status.ok()) return {status.ToString()};
    std::vector<std::string> relative;
    for (const InputFile& f : files) relative.push_back(fs::path(f.path).lexically_relative(root()).string());
    return relative;
  }

  testing::TempDir dir_;
  std::vector<std::string> notes_;
};

TEST_F(SdsScanTest, SelectsDaysAcrossTheYearBoundarySortedByStationChannelDay) {
  EXPECT_EQ(Select(T("2023-12-31T12:00:00Z"), T("2024-01-01T06:00:00Z")),
            (std::vector<std::string>{
                DayPath("XX", "AAA", "00", "HHN", 2023, 365), DayPath("XX", "AAA", "00", "HHN", 2024, 1),
                DayPath("XX", "AAA", "00", "HHZ", 2023, 365), DayPath("XX", "AAA", "00", "HHZ", 2024, 1),
                DayPath("XX", "BBB", "", "HHZ", 2023, 365), DayPath("XX", "BBB", "", "HHZ", 2024, 1)}));
  EXPECT_TRUE(notes_.empty());
}

TEST_F(SdsScanTest, DayBoundariesAreExact) {
  // A selection ending exactly at midnight still touches the next day (both ends are inclusive) …
  EXPECT_EQ(Select(T("2024-01-01T23:00:00Z"), T("2024-01-02T00:00:00Z")),
            (std::vector<std::string>{
                DayPath("XX", "AAA", "00", "HHN", 2024, 1), DayPath("XX", "AAA", "00", "HHN", 2024, 2),
                DayPath("XX", "AAA", "00", "HHZ", 2024, 1), DayPath("XX", "AAA", "00", "HHZ", 2024, 2),
                DayPath("XX", "BBB", "", "HHZ", 2024, 1), DayPath("XX", "BBB", "", "HHZ", 2024, 2)}));
  // … and one starting exactly at midnight does not reach back into the previous day.
  EXPECT_EQ(Select(T("2024-01-01T00:00:00Z"), T("2024-01-01T00:00:00Z")),
            (std::vector<std::string>{DayPath("XX", "AAA", "00", "HHN", 2024, 1),
                                      DayPath("XX", "AAA", "00", "HHZ", 2024, 1),
                                      DayPath("XX", "BBB", "", "HHZ", 2024, 1)}));
  EXPECT_EQ(Select(T("2023-12-31T23:59:59.999999Z"), T("2023-12-31T23:59:59.999999Z")),
            (std::vector<std::string>{DayPath("XX", "AAA", "00", "HHN", 2023, 365),
                                      DayPath("XX", "AAA", "00", "HHZ", 2023, 365),
                                      DayPath("XX", "BBB", "", "HHZ", 2023, 365)}));
}

TEST_F(SdsScanTest, LeapDayAndOpenEnds) {
  // From Feb 29 on (open end): days 060 and 061; the second location sorts after the first.
  EXPECT_EQ(Select(T("2024-02-29T10:00:00Z"), kUnsetTime),
            (std::vector<std::string>{
                DayPath("XX", "AAA", "00", "HHN", 2024, 60), DayPath("XX", "AAA", "00", "HHN", 2024, 61),
                DayPath("XX", "AAA", "00", "HHZ", 2024, 60), DayPath("XX", "AAA", "00", "HHZ", 2024, 61),
                DayPath("XX", "AAA", "10", "HHZ", 2024, 60), DayPath("XX", "BBB", "", "HHZ", 2024, 60),
                DayPath("XX", "BBB", "", "HHZ", 2024, 61)}));
  // Up to the last second of 2023 (open start): both 2023 days, nothing of 2024.
  EXPECT_EQ(Select(kUnsetTime, T("2023-12-31T23:59:59Z")),
            (std::vector<std::string>{
                DayPath("XX", "AAA", "00", "HHN", 2023, 364), DayPath("XX", "AAA", "00", "HHN", 2023, 365),
                DayPath("XX", "AAA", "00", "HHZ", 2023, 364), DayPath("XX", "AAA", "00", "HHZ", 2023, 365),
                DayPath("XX", "BBB", "", "HHZ", 2023, 364), DayPath("XX", "BBB", "", "HHZ", 2023, 365)}));
  EXPECT_EQ(Select(kUnsetTime, kUnsetTime).size(), 22u);  // 3 channels × 7 days + 1
  EXPECT_EQ(Select(T("2024-02-29T00:00:00Z"), T("2024-02-29T23:59:59Z")).size(), 4u);
}

TEST_F(SdsScanTest, ChunkSpanIsTheUtcDay) {
  std::vector<InputFile> files;
  std::vector<std::string> notes;
  ASSERT_TRUE(ScanSds(root(), T("2024-02-29T12:00:00Z"), T("2024-02-29T13:00:00Z"), &files, &notes).ok());
  ASSERT_EQ(files.size(), 4u);
  for (const InputFile& f : files) {
    EXPECT_EQ(f.chunk_start, T("2024-02-29T00:00:00Z")) << f.path;
    EXPECT_EQ(f.chunk_end, T("2024-03-01T00:00:00Z")) << f.path;
  }
  ASSERT_TRUE(ScanSds(root(), T("2023-12-31T12:00:00Z"), T("2023-12-31T13:00:00Z"), &files, &notes).ok());
  EXPECT_EQ(files[0].chunk_start, T("2023-12-31T00:00:00Z"));
  EXPECT_EQ(files[0].chunk_end, T("2024-01-01T00:00:00Z"));
}

TEST_F(SdsScanTest, EmptySelectionAndBadArguments) {
  std::vector<InputFile> files;
  std::vector<std::string> notes;
  Status status = ScanSds(root(), T("2024-06-01"), T("2024-06-02"), &files, &notes);
  EXPECT_EQ(status.code(), Status::Code::kNotFound);
  EXPECT_EQ(status.message(), root() + ": no SDS day file between 2024-06-01T00:00:00.000000Z and "
                                       "2024-06-02T00:00:00.000000Z");
  status = ScanSds(root(), T("2024-01-02"), T("2024-01-01"), &files, &notes);
  EXPECT_EQ(status.code(), Status::Code::kInvalidArgument);
  status = ScanSds(root() + "/missing", kUnsetTime, kUnsetTime, &files, &notes);
  EXPECT_EQ(status.code(), Status::Code::kNotFound);
  status = ScanSds(root() + "/README", kUnsetTime, kUnsetTime, &files, &notes);
  EXPECT_EQ(status.code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(files.empty());
  EXPECT_TRUE(notes.empty());
}

TEST_F(SdsScanTest, BadNamesAreReportedNotSelected) {
  const std::vector<std::string> bad = {
      "2024/XX/AAA/HHZ.D/XX.AAA.00.HHZ.D.2024.60",   // DOY not three digits
      "2024/XX/AAA/HHZ.D/XX.AAA.00.HHZ.2024.001",    // no type field
      "2024/XX/AAA/HHZ.D/XX.AAA.00.HHN.D.2024.001",  // channel differs from its folder
      "2024/XX/AAA/HHZ.D/XX.AAA.00.HHZ.D.2023.001",  // year differs from its folder
      "2024/XX/AAA/HHZ.D/notes.txt",
      "2024/XX/AAA/LOG.L/XX.AAA..LOG.L.2024.001",    // an SDS log folder, not data
      "2024/XX/AAA/stray.mseed",                     // outside any CHAN.D folder
      "2023/XX/BBB/HHZ.D/XX.BBB..HHZ.D.2023.366",    // 2023 has no day 366
  };
  for (const std::string& b : bad) Touch(root(), b);
  Touch(root(), "2024/XX/AAA/HHZ.D/.XX.AAA.00.HHZ.D.2024.001.tmp");  // hidden: a writer's temporary
  Touch(root(), "2022/XX/AAA/HHZ.D/garbage");                        // in a year never entered

  EXPECT_EQ(Select(T("2024-01-01T00:00:00Z"), T("2024-01-01T01:00:00Z")),
            (std::vector<std::string>{DayPath("XX", "AAA", "00", "HHN", 2024, 1),
                                      DayPath("XX", "AAA", "00", "HHZ", 2024, 1),
                                      DayPath("XX", "BBB", "", "HHZ", 2024, 1)}));
  // Every bad file of the years entered (2024 only) is named once with its reason.
  ASSERT_EQ(notes_.size(), 7u);
  for (size_t i = 0; i + 1 < bad.size(); ++i) {
    const std::string path = root() + "/" + (i == 5 ? std::string("2024/XX/AAA/LOG.L") : bad[i]);
    EXPECT_EQ(std::count_if(notes_.begin(), notes_.end(),
                            [&](const std::string& n) { return n.rfind(path + ": ", 0) == 0; }),
              1)
        << path;
  }
  EXPECT_NE(std::find(notes_.begin(), notes_.end(),
                      root() + "/2024/XX/AAA/HHZ.D/XX.AAA.00.HHN.D.2024.001: the name's channel differs from its "
                               "CHAN.D folder HHZ.D, not read"),
            notes_.end());

  // The whole archive: the 2023 and 2022 problems are reported too.
  Select(kUnsetTime, kUnsetTime);
  EXPECT_EQ(notes_.size(), 9u);
  EXPECT_EQ(notes_.front(), root() + "/2022/XX/AAA/HHZ.D/garbage: not an SDS day-file name "
                                     "NET.STA.LOC.CHAN.D.YEAR.DOY, not read");
}

TEST_F(SdsScanTest, AutoDetectedByScanInput) {
  std::vector<InputFile> files;
  std::vector<std::string> notes;
  InputLayout detected = InputLayout::kAuto;
  ScanOptions opts;
  opts.start = T("2024-02-29T00:00:00Z");
  opts.end = T("2024-02-29T06:00:00Z");
  ASSERT_TRUE(ScanInput(root(), opts, &files, &detected, &notes).ok());
  EXPECT_EQ(detected, InputLayout::kSds);
  ASSERT_EQ(files.size(), 4u);
  EXPECT_EQ(files[0].path, root() + "/" + DayPath("XX", "AAA", "00", "HHN", 2024, 60));

  // The form without options selects every day of the archive.
  ASSERT_TRUE(ScanInput(root(), InputLayout::kAuto, &files, &detected).ok());
  EXPECT_EQ(detected, InputLayout::kSds);
  EXPECT_EQ(files.size(), 22u);

  // Forced "files" lists everything, the README and inventory included, with no day spans.
  ASSERT_TRUE(ScanInput(root(), InputLayout::kFiles, &files, &detected).ok());
  EXPECT_EQ(detected, InputLayout::kFiles);
  EXPECT_EQ(files.size(), 24u);
  EXPECT_EQ(files[0].chunk_start, kUnsetTime);
}

TEST(SdsScanDetect, OnlyRootsWithWellFormedDayFilesAreSds) {
  testing::TempDir dir;
  Touch(dir.path(), "2024/notes/a.mseed");  // a year folder, but no NET/STA/CHAN.D day files
  Touch(dir.path(), "2024/XX/AAA/HHZ.D/XX.AAA.00.HHZ.D.2024.1");
  EXPECT_FALSE(IsSdsRoot(dir.path()));
  std::vector<InputFile> files;
  InputLayout detected;
  ASSERT_TRUE(ScanInput(dir.path(), InputLayout::kAuto, &files, &detected).ok());
  EXPECT_EQ(detected, InputLayout::kFiles);
  EXPECT_EQ(files.size(), 2u);

  // Forcing "sds" on it finds no day file and says so; the bad name is reported.
  ScanOptions opts;
  opts.layout = InputLayout::kSds;
  std::vector<std::string> notes;
  EXPECT_EQ(ScanInput(dir.path(), opts, &files, &detected, &notes).code(), Status::Code::kNotFound);
  EXPECT_EQ(notes.size(), 2u);  // 2024/notes/a.mseed is outside a CHAN.D folder too
  // "sds" on a single file is an error of the input, not a silent fallback.
  EXPECT_EQ(ScanInput(dir.path() + "/2024/notes/a.mseed", opts, &files, &detected, &notes).code(),
            Status::Code::kInvalidArgument);

  Touch(dir.path(), "2024/XX/AAA/HHZ.D/XX.AAA.00.HHZ.D.2024.001");
  EXPECT_TRUE(IsSdsRoot(dir.path()));
  EXPECT_FALSE(IsSdsRoot(dir.path() + "/2024"));  // the root is the folder holding YEAR folders
}

TEST(SdsScanName, ParsesDayFileNames) {
  SdsDayName name;
  ASSERT_TRUE(ParseSdsDayName("XX.ABC..HHZ.D.2024.060", &name));
  EXPECT_EQ(name.id.StationKey(), "XX.ABC.");
  EXPECT_EQ(name.id.channel, "HHZ");
  EXPECT_EQ(name.year, 2024);
  EXPECT_EQ(name.day_of_year, 60);
  EXPECT_EQ(name.DayStart(), T("2024-02-29T00:00:00Z"));
  ASSERT_TRUE(ParseSdsDayName("4O.AT01.00.HH1.D.2023.365", &name));
  EXPECT_EQ(name.id.ToString(), "4O.AT01.00.HH1");
  EXPECT_EQ(name.DayStart(), T("2023-12-31T00:00:00Z"));
  ASSERT_TRUE(ParseSdsDayName("XX.ABC.00.HHZ.D.2000.366", &name));  // 2000 is a leap year
  EXPECT_EQ(name.DayStart(), T("2000-12-31T00:00:00Z"));
  ASSERT_TRUE(ParseSdsDayName("XX.ABC.00.HHZ.D.2024.001", &name));
  EXPECT_EQ(name.DayStart(), T("2024-01-01T00:00:00Z"));

  for (const char* bad : {"XX.ABC.00.HHZ.D.2024.000", "XX.ABC.00.HHZ.D.2024.367", "XX.ABC.00.HHZ.D.1900.366",
                          "XX.ABC.00.HHZ.D.2023.366", "XX.ABC.00.HHZ.D.2024.60", "XX.ABC.00.HHZ.D.24.060",
                          "XX.ABC.00.HHZ.D.2024.060.gz", "XX.ABC.00.HHZ.L.2024.060", "XX.ABC.00.HHZ.2024.060",
                          ".ABC.00.HHZ.D.2024.060", "XX..00.HHZ.D.2024.060", "XX.ABC.00..D.2024.060",
                          "XX.A C.00.HHZ.D.2024.060", "XX.ABC.00.HHZ.D.2024.06a", "", "XX.ABC.00.HHZ.D.2024."}) {
    EXPECT_FALSE(ParseSdsDayName(bad, &name)) << bad;
  }
}

TEST(SdsScanMseed, RealDayFilesAcrossMidnightAreReadFromTheirStartDay) {
  testing::TempDir dir;
  const ChannelId id{"XX", "BBB", "", "HHZ"};
  // A record starting a minute before midnight lies in the file of 2023-12-31, though it ends in 2024.
  TraceSegment late;
  late.id = id;
  late.start = T("2023-12-31T23:59:00Z");
  late.rate_hz = 100;
  for (int i = 0; i < 12000; ++i) late.samples.push_back(i % 200 - 100);
  TraceSegment next = late;
  next.start = T("2024-01-01T00:01:00Z");
  const std::string day365 = dir.path() + "/" + DayPath("XX", "BBB", "", "HHZ", 2023, 365);
  const std::string day001 = dir.path() + "/" + DayPath("XX", "BBB", "", "HHZ", 2024, 1);
  fs::create_directories(fs::path(day365).parent_path());
  fs::create_directories(fs::path(day001).parent_path());
  ASSERT_TRUE(WriteMseedFile(day365, {late}, SampleEncoding::kSteim2).ok());
  ASSERT_TRUE(WriteMseedFile(day001, {next}, SampleEncoding::kSteim2).ok());

  std::vector<InputFile> files;
  std::vector<std::string> notes;
  InputLayout detected;
  ScanOptions opts;
  opts.start = T("2023-12-31T23:30:00Z");
  opts.end = T("2024-01-01T00:30:00Z");
  ASSERT_TRUE(ScanInput(dir.path(), opts, &files, &detected, &notes).ok());
  EXPECT_EQ(detected, InputLayout::kSds);
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0].path, day365);
  EXPECT_EQ(files[1].path, day001);
  EXPECT_TRUE(notes.empty());
  for (const InputFile& f : files) {
    MseedFileContents contents;
    ASSERT_TRUE(ReadMseedFile(f.path, ReaderOptions(), &contents).ok()) << f.path;
    ASSERT_EQ(contents.segments.size(), 1u);
    const TraceSegment& seg = contents.segments[0];
    EXPECT_EQ(seg.id, id);
    EXPECT_EQ(seg.samples.size(), 12000u);
    // The data starts inside the file's day; it may run past the day's end.
    EXPECT_GE(seg.start, f.chunk_start);
    EXPECT_LT(seg.start, f.chunk_end);
  }
  // Starting exactly at midnight selects only 2024-01-01, per the documented rule.
  opts.start = T("2024-01-01T00:00:00Z");
  ASSERT_TRUE(ScanInput(dir.path(), opts, &files, &detected, &notes).ok());
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].path, day001);
}

}  // namespace
}  // namespace rapid
