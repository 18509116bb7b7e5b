// Bad input never stops a run: each kind of broken file gives exactly one `run.json` error naming
// the file and the cause, a stderr line, exit code 2, and every other station is still picked.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <nlohmann/json.hpp>

#include "test_util.h"

namespace rapid {
namespace {

namespace fs = std::filesystem;
using testing::ReadFileText;
using testing::RunRapid;
using testing::TempDir;

constexpr const char* kChunk = "20240101T000000Z_20240101T000200Z";

struct BadCase {
  const char* name;
  // Breaks the archive; returns the path of the file that must be named.
  std::function<std::string(const std::string& archive)> apply;
  const char* cause;  // part of the error message
};

std::string StationFile(const std::string& archive, const char* station, const char* channel) {
  return archive + "/" + kChunk + "/" + station + "/SY." + station + ".00." + channel + "__" +
         "20240101T000000Z__20240101T000200Z.mseed";
}

void Patch(const std::string& path, std::streamoff at, std::initializer_list<unsigned char> bytes) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(at);
  for (unsigned char b : bytes) f.put(static_cast<char>(b));
}

std::string WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

const BadCase kCases[] = {
    {"Truncated",
     [](const std::string& a) {
       const std::string f = StationFile(a, "S0002", "HHZ");
       fs::resize_file(f, 700);
       return f;
     },
     "truncated record"},
    {"ZeroLength",
     [](const std::string& a) {
       const std::string f = StationFile(a, "S0002", "HHZ");
       fs::resize_file(f, 0);
       return f;
     },
     "empty file"},
    {"RandomBytesNamedMseed",
     [](const std::string& a) {
       std::string noise(4096, '\0');
       uint32_t x = 12345;
       for (char& c : noise) c = static_cast<char>((x = x * 1103515245u + 12345u) >> 24);
       return WriteBytes(StationFile(a, "S0002", "HHX"), noise);
     },
     "not miniSEED"},
    {"TextFileInStationFolder",
     [](const std::string& a) { return WriteBytes(a + "/" + kChunk + "/S0002/notes.txt", "serviced 2023-11-02\n"); },
     "not miniSEED"},
    {"ImpossibleSampleRate",
     [](const std::string& a) {
       const std::string f = StationFile(a, "S0002", "HHZ");
       Patch(f, 32, {0, 0});  // sample rate factor 0 in the first record
       return f;
     },
     "sample rate 0 Hz"},
    {"ImpossibleStartTime",
     [](const std::string& a) {
       const std::string f = StationFile(a, "S0002", "HHZ");
       Patch(f, 4096 + 22, {0x01, 0x90});  // day-of-year 400 in the second record
       return f;
     },
     "impossible start time (year 2024, day 400"},
    {"BrokenLastRecord",
     [](const std::string& a) {
       const std::string f = a + "/" + kChunk + "/S0002/brokenlastrecord.mseed";
       fs::copy_file(std::string(RAPID_TEST_DATA_DIR) + "/mseed-corpus/obspy/brokenlastrecord.mseed", f);
       return f;
     },
     "not miniSEED data, skipped"},
};

class BadInputTest : public ::testing::TestWithParam<BadCase> {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    ASSERT_EQ(RunRapid({"synth", "--output", dir_->Path("clean"), "--stations", "3", "--duration", "2m"}), 0);
  }
  static void TearDownTestSuite() { delete dir_; }
  static TempDir* dir_;
};
TempDir* BadInputTest::dir_ = nullptr;

TEST_P(BadInputTest, OneErrorNamingTheFileAndEveryOtherStationPicked) {
  const std::string archive = dir_->Path(std::string("bad-") + GetParam().name);
  fs::copy(dir_->Path("clean"), archive, fs::copy_options::recursive);
  const std::string file = GetParam().apply(archive);
  const std::string out = archive + "-out";
  std::string log;
  EXPECT_EQ(RunRapid({"run", "--input", archive, "--output", out, "--progress", "off"}, &log), 2) << log;
  EXPECT_NE(log.find(file), std::string::npos) << log;  // the stderr line
  const auto run = nlohmann::json::parse(ReadFileText(out + "/run.json"));
  int naming = 0;
  for (const auto& e : run["errors"]) {
    const std::string text = e["file"].get<std::string>() + " " + e["message"].get<std::string>();
    if (text.find(file) != std::string::npos && text.find(GetParam().cause) != std::string::npos) ++naming;
  }
  EXPECT_EQ(naming, 1) << run["errors"].dump(1);
  EXPECT_EQ(run["errors"].size(), 1u) << run["errors"].dump(1);
  std::set<std::string> picked;
  for (const auto& row : testing::ReadCsv(out + "/picks.csv")) picked.insert(row[0]);
  EXPECT_TRUE(picked.count("SY.S0001.00") && picked.count("SY.S0003.00")) << "the healthy stations were picked";
}

INSTANTIATE_TEST_SUITE_P(Cases, BadInputTest, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<BadCase>& info) { return std::string(info.param.name); });

// Permission errors cannot be provoked as root (root reads anything): checked when not root.
TEST(BadInputPermissionsTest, UnreadableFileIsOneError) {
  if (geteuid() == 0) GTEST_SKIP() << "running as root: file permissions do not stop root from reading";
  TempDir dir;
  ASSERT_EQ(RunRapid({"synth", "--output", dir.Path("a"), "--stations", "2", "--duration", "2m"}), 0);
  const std::string f = StationFile(dir.Path("a"), "S0002", "HHZ");
  fs::permissions(f, fs::perms::none);
  std::string log;
  EXPECT_EQ(RunRapid({"run", "--input", dir.Path("a"), "--output", dir.Path("o"), "--progress", "off"}, &log), 2) << log;
  EXPECT_NE(ReadFileText(dir.Path("o/run.json")).find(f), std::string::npos);
}

// A gap of years inside one file (a corrupted record time): one error per file naming it, the
// data on both sides kept as separate blocks, no memory spent on the gap.
TEST(BadInputGapTest, HugeGapInsideAFileIsReportedAndBothPartsKept) {
  TempDir dir;
  ASSERT_EQ(RunRapid({"synth", "--output", dir.Path("a"), "--stations", "1", "--duration", "2m"}), 0);
  // Move the second record of every component ten years ahead (year field of its header).
  std::vector<std::string> files;
  for (const char* ch : {"HHZ", "HHN", "HHE"}) {
    files.push_back(StationFile(dir.Path("a"), "S0001", ch));
    ASSERT_GT(fs::file_size(files.back()), 2 * 4096u);
    Patch(files.back(), 4096 + 20, {0x07, 0xF2});  // 2034, big-endian
  }
  std::string log;
  EXPECT_EQ(RunRapid({"run", "--input", dir.Path("a"), "--output", dir.Path("o"), "--progress", "off"}, &log), 2) << log;
  const auto run = nlohmann::json::parse(ReadFileText(dir.Path("o/run.json")));
  EXPECT_LT(run["peak_rss_bytes"].get<int64_t>(), int64_t{1} << 30);
  // Before the moved record, after it, and the moved record ten years on.
  EXPECT_EQ(run["blocks"].get<int64_t>(), 3);
  ASSERT_EQ(run["errors"].size(), 3u) << run["errors"].dump(1);
  std::set<std::string> named;
  for (const auto& e : run["errors"]) {
    named.insert(e["file"].get<std::string>());
    EXPECT_NE(e["message"].get<std::string>().find("days between"), std::string::npos) << e.dump();
  }
  EXPECT_EQ(named, std::set<std::string>(files.begin(), files.end()));
}

}  // namespace
}  // namespace rapid
