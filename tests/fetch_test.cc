// `rapid fetch` end to end against a loopback FDSN web service serving the bundled sample
// (tests/fdsnws_test_server.h), with 429s, a connection dropped mid-record, a record cut short and
// a listed channel without data: the timechunk archive fetched is the sample itself, byte for byte, and `rapid run`
// gives the same picks on it; SDS too; a rerun fetches only what is missing.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>

#include "fdsnws_test_server.h"
#include "test_util.h"

namespace rapid {
namespace {

namespace fs = std::filesystem;
const std::string kSample = std::string(RAPID_SOURCE_DIR) + "/data/texnet-sample";

std::vector<std::string> SampleFiles() {
  std::vector<std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(kSample)) {
    if (e.is_regular_file() && e.path().extension() == ".mseed") files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string Picks(const testing::TempDir& dir, const std::string& input, const std::string& name) {
  std::string log;
  EXPECT_EQ(testing::RunRapid({"run", "--input", input, "--output", dir.Path(name), "--progress", "off"}, &log), 0) << log;
  return testing::ReadFileText(dir.Path(name + "/picks.csv"));
}

std::vector<std::string> FetchArgs(const testing::FdsnwsTestServer& server, const std::string& out) {
  return {"fetch", "--host", server.url(), "--start", "2024-12-15T11:58:00Z", "--end", "2024-12-15T12:01:00Z", "--chunk", "3m",
          "--output", out, "--jobs", "3", "--progress", "off"};
}

TEST(FetchTest, TheFetchedArchiveIsTheSourceByteForByteThrough429sADroppedConnectionACutRecordAndNoData) {
  testing::TempDir dir;
  const std::vector<std::string> files = SampleFiles();
  ASSERT_EQ(files.size(), 36u);
  testing::FdsnwsTestServer server(files, {.too_many_requests_first = 2, .drop_one_mid_body = true,
                                           .truncate_one_record = true, .extra_channel = "TX.PB35.00.HHX"});
  std::string log;
  ASSERT_EQ(testing::RunRapid(FetchArgs(server, dir.Path("fetched")), &log), 0) << log;
  for (const std::string& f : files) {
    const std::string relative = fs::relative(f, kSample).string();
    ASSERT_TRUE(fs::exists(dir.Path("fetched/" + relative))) << relative << "\n" << log;
    EXPECT_EQ(testing::ReadFileText(dir.Path("fetched/" + relative)), testing::ReadFileText(f)) << relative;
  }
  const nlohmann::json report = nlohmann::json::parse(testing::ReadFileText(dir.Path("fetched/fetch.json")));
  EXPECT_EQ(report.at("channels"), 37);
  EXPECT_EQ(report.at("written"), 36);
  EXPECT_GE(report.at("retries").get<int>(), 4);  // two 429s, the dropped answer, the cut record
  EXPECT_EQ(server.answers_429(), 2);
  ASSERT_EQ(report.at("no_data").size(), 1u);
  EXPECT_NE(report.at("no_data")[0].get<std::string>().find("TX.PB35.00.HHX"), std::string::npos);
  EXPECT_TRUE(report.at("errors").empty());
  EXPECT_EQ(Picks(dir, dir.Path("fetched"), "run-fetched"), Picks(dir, kSample, "run-source"));
}

TEST(FetchTest, ARerunFetchesOnlyWhatIsMissingAndSdsGivesTheSamePicks) {
  testing::TempDir dir;
  testing::FdsnwsTestServer server(SampleFiles(), {.extra_channel = "TX.PB35.00.HHX"});
  std::string log;
  ASSERT_EQ(testing::RunRapid(FetchArgs(server, dir.Path("a")), &log), 0) << log;
  const int first = server.dataselect_requests();
  const std::string chunk = dir.Path("a/20241215T115800Z_20241215T120100Z");
  fs::remove(chunk + "/AT01/4O.AT01.00.HHZ__20241215T115800Z__20241215T120100Z.mseed");
  fs::remove(chunk + "/PB35/TX.PB35.00.HHZ__20241215T115800Z__20241215T120100Z.mseed");
  ASSERT_EQ(testing::RunRapid(FetchArgs(server, dir.Path("a")), &log), 0) << log;
  const nlohmann::json report = nlohmann::json::parse(testing::ReadFileText(dir.Path("a/fetch.json")));
  EXPECT_EQ(report.at("written"), 2);
  EXPECT_EQ(report.at("already_done"), 35);  // 34 files and the channel without data
  EXPECT_EQ(server.dataselect_requests() - first, 1);

  std::vector<std::string> sds = FetchArgs(server, dir.Path("sds"));
  sds.insert(sds.end(), {"--layout", "sds"});
  ASSERT_EQ(testing::RunRapid(sds, &log), 0) << log;
  EXPECT_TRUE(fs::exists(dir.Path("sds/2024/4O/AT01/HHZ.D/4O.AT01.00.HHZ.D.2024.350")));
  EXPECT_EQ(Picks(dir, dir.Path("sds"), "run-sds"), Picks(dir, kSample, "run-source"));
}

TEST(FetchTest, AnUnreachableServiceIsAnErrorNamingIt) {
  testing::TempDir dir;
  std::string log;
  EXPECT_NE(testing::RunRapid({"fetch", "--host", "http://127.0.0.1:9", "--start", "2024-12-15T11:58:00Z", "--end",
                               "2024-12-15T12:01:00Z", "--output", dir.Path("x"), "--progress", "off", "--tries", "1"},
                              &log),
            0);
  EXPECT_NE(log.find("127.0.0.1:9/fdsnws/station/1/query"), std::string::npos) << log;
}

}  // namespace
}  // namespace rapid
