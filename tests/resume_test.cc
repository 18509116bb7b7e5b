// Crash-safe resume: the journal on its own (round trip, torn last line, refusals), and whole runs
// killed with SIGKILL at seeded random moments and resumed until they finish, which must give the
// uninterrupted run's picks exactly (none lost, none duplicated); a graceful stop (SIGINT) and a
// second signal. scripts/resume_soak.sh runs many more kill trials.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <thread>

#include "sinks/journal.h"
#include "test_util.h"

namespace rapid {
namespace {

using testing::ReadFileText;
using testing::RunRapid;
using testing::SpawnRapid;
using testing::TempDir;
using testing::WaitForFile;
using testing::WaitRapid;

JournalUnit Unit(const std::string& name, int picks) {
  JournalUnit u;
  u.unit = name;
  u.stations = {{name, "HH"}};
  u.errors = {{name, name + ".mseed", "truncated record"}};
  for (int i = 0; i < picks; ++i) {
    u.picks.push_back(testing::MakePick(name, i % 2 ? "S" : "P", "2024-12-15T11:58:07.123456789Z",
                                        0.1f * static_cast<float>(i) + 0.3337f, 40'000'000, 70'000'000));
  }
  return u;
}

// A Journal::UnitFn that collects the units read back into *done (cleared first).
Journal::UnitFn Collect(std::vector<JournalUnit>* done) {
  done->clear();
  return [done](JournalUnit&& u) {
    done->push_back(std::move(u));
    return Status::OK();
  };
}

TEST(JournalTest, RoundTripsUnitsAndSkipsATornLastLine) {
  TempDir dir;
  const std::string path = dir.Path("journal.jsonl");
  const JournalHeader header{"phasenet", "abc", "/data"};
  std::vector<JournalUnit> done;
  {
    Journal j;
    ASSERT_TRUE(j.Open(path, header, false, Collect(&done)).ok());
    ASSERT_TRUE(j.Append(Unit("XX.A.00", 3)).ok());
    ASSERT_TRUE(j.Append(Unit("XX.B.00", 0)).ok());
  }
  // A kill in the middle of the third line.
  {
    std::ofstream out(path, std::ios::app);
    out << R"({"unit": "XX.C.00", "stations": {"XX.C.00": "H)";
  }
  Journal j;
  ASSERT_TRUE(j.Open(path, header, true, Collect(&done)).ok());
  ASSERT_EQ(done.size(), 2u);
  const JournalUnit a = Unit("XX.A.00", 3);
  EXPECT_EQ(done[0].unit, "XX.A.00");
  EXPECT_EQ(done[0].stations, a.stations);
  ASSERT_EQ(done[0].picks.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(done[0].picks[i].peak_time, a.picks[i].peak_time);  // nanoseconds, exactly
    EXPECT_EQ(done[0].picks[i].start_time, a.picks[i].start_time);
    EXPECT_EQ(done[0].picks[i].peak_value, a.picks[i].peak_value);  // float, exactly
    EXPECT_EQ(done[0].picks[i].phase, a.picks[i].phase);
  }
  ASSERT_EQ(done[0].errors.size(), 1u);
  EXPECT_EQ(done[0].errors[0].message, "truncated record");
  // The torn line was cut: the next unit is appended on a line of its own and read back.
  ASSERT_TRUE(j.Append(Unit("XX.C.00", 1)).ok());
  Journal again;
  ASSERT_TRUE(again.Open(path, header, true, Collect(&done)).ok());
  ASSERT_EQ(done.size(), 3u);
  EXPECT_EQ(done[2].unit, "XX.C.00");
  ASSERT_TRUE(again.Remove().ok());
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(JournalTest, RefusesAnotherRunsJournalAndAJournalWithoutResume) {
  TempDir dir;
  const std::string path = dir.Path("journal.jsonl");
  std::vector<JournalUnit> done;
  {
    Journal j;
    ASSERT_TRUE(j.Open(path, {"phasenet", "abc", "/data"}, false, Collect(&done)).ok());
  }
  Journal j;
  Status s = j.Open(path, {"phasenet", "abc", "/data"}, false, Collect(&done));
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("pass --resume"), std::string::npos) << s.ToString();
  s = j.Open(path, {"eqcct", "abc", "/data"}, true, Collect(&done));
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("journal is of another run"), std::string::npos) << s.ToString();
}

class ResumeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    ASSERT_EQ(RunRapid({"synth", "--output", Archive(), "--stations", "16", "--duration", "10m", "--rates", "100,200"}), 0);
    const auto t0 = std::chrono::steady_clock::now();
    std::string log;
    ASSERT_EQ(RunRapid({"run", "--input", Archive(), "--output", dir_->Path("full"), "--progress", "off"}, &log), 0)
        << log;
    full_wall_ms_ = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
    full_picks_ = ReadFileText(dir_->Path("full/picks.csv"));
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::string Archive() { return dir_->Path("archive"); }
  static TempDir* dir_;
  static int64_t full_wall_ms_;
  static std::string full_picks_;
};
TempDir* ResumeTest::dir_ = nullptr;
int64_t ResumeTest::full_wall_ms_ = 0;
std::string ResumeTest::full_picks_;

TEST_F(ResumeTest, KilledRunsResumeToTheSamePicks) {
  ASSERT_GT(std::count(full_picks_.begin(), full_picks_.end(), '\n'), 100);
  std::mt19937 rng(20261125);
  int resumed_with_work_done = 0;
  for (int trial = 0; trial < 3; ++trial) {
    SCOPED_TRACE("trial " + std::to_string(trial));
    const std::string out = dir_->Path("killed" + std::to_string(trial));
    // Kill at a random moment of the run (start-up included), up to twice, then let it finish.
    int code = -1;
    for (int attempt = 0; code != 0; ++attempt) {
      ASSERT_LT(attempt, 4);
      std::vector<std::string> args = {"run", "--input", Archive(), "--output", out, "--progress", "off"};
      if (std::filesystem::exists(out + "/journal.jsonl")) {
        args.push_back("--resume");
        resumed_with_work_done += attempt > 0;
      }
      const pid_t pid = SpawnRapid(args);
      if (attempt < 2) {
        std::uniform_int_distribution<int64_t> delay(full_wall_ms_ / 5, full_wall_ms_ * 9 / 10);
        std::this_thread::sleep_for(std::chrono::milliseconds(delay(rng)));
        kill(pid, SIGKILL);
      }
      code = WaitRapid(pid);
      ASSERT_TRUE(code == 0 || code == 128 + SIGKILL) << code;
    }
    EXPECT_EQ(ReadFileText(out + "/picks.csv"), full_picks_);  // none lost, none duplicated
    EXPECT_FALSE(std::filesystem::exists(out + "/journal.jsonl"));  // finished: removed
    for (const auto& e : std::filesystem::directory_iterator(out)) {
      EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos) << e.path();
    }
  }
  EXPECT_GT(resumed_with_work_done, 0);  // the kills did land after some journaled work
}

TEST_F(ResumeTest, GracefulStopKeepsTheJournalAndResumeCompletesIt) {
  const std::string out = dir_->Path("stopped");
  const pid_t pid = SpawnRapid({"run", "--input", Archive(), "--output", out, "--progress", "off"});
  WaitForFile(out + "/journal.jsonl");  // a signal before the handlers exist would just kill it
  std::this_thread::sleep_for(std::chrono::milliseconds(full_wall_ms_ / 5));
  kill(pid, SIGINT);
  const int code = WaitRapid(pid);
  if (code == 0) GTEST_SKIP() << "the run finished before the signal";
  EXPECT_EQ(code, 130);
  // What it wrote is a consistent part: the picks of the units it completed.
  ASSERT_TRUE(std::filesystem::exists(out + "/journal.jsonl"));
  const std::string part = ReadFileText(out + "/picks.csv");
  EXPECT_LT(part.size(), full_picks_.size());
  EXPECT_NE(ReadFileText(out + "/run.json").find("\"interrupted\": true"), std::string::npos);
  std::string log;
  ASSERT_EQ(RunRapid({"run", "--input", Archive(), "--output", out, "--progress", "off", "--resume"}, &log), 0) << log;
  EXPECT_EQ(ReadFileText(out + "/picks.csv"), full_picks_);
}

TEST_F(ResumeTest, SecondSignalExitsAtOnce) {
  const std::string out = dir_->Path("twice");
  const pid_t pid = SpawnRapid({"run", "--input", Archive(), "--output", out, "--progress", "off"});
  WaitForFile(out + "/journal.jsonl");
  std::this_thread::sleep_for(std::chrono::milliseconds(full_wall_ms_ / 5));
  kill(pid, SIGINT);
  // Signals of one kind do not queue: the second must come after the first was handled.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  int status = 0;
  if (waitpid(pid, &status, WNOHANG) == pid) GTEST_SKIP() << "the graceful stop ended before the second signal";
  const auto t0 = std::chrono::steady_clock::now();
  kill(pid, SIGINT);
  const int code = WaitRapid(pid);
  if (code == 0) GTEST_SKIP() << "the run finished before the signals";
  EXPECT_EQ(code, 130);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(200));
  // The journal holds complete lines; a resume finishes the run.
  std::string log;
  ASSERT_EQ(RunRapid({"run", "--input", Archive(), "--output", out, "--progress", "off", "--resume"}, &log), 0) << log;
  EXPECT_EQ(ReadFileText(out + "/picks.csv"), full_picks_);
}

}  // namespace
}  // namespace rapid
