// `mpirun -np N rapid run` (cluster/cluster_run.h) against one process: the same outputs, byte for
// byte (QuakeML but for its creation time); one rank is a plain run; a worker killed mid-run ends
// the job, and `--resume` on another rank count finishes it with the uninterrupted run's outputs.
// Also the pieces: the messages round trip, and a host's CPUs and GPUs shared among its workers.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "cluster/cluster_messages.h"
#include "cluster/cluster_run.h"
#include "sinks/journal.h"
#include "test_util.h"

namespace rapid {
namespace {

namespace fs = std::filesystem;

// mpirun (as root too: CI runs as root) with `ranks` ranks of `rapid run` + args, in the background.
pid_t SpawnMpirun(int ranks, const std::vector<std::string>& run_args, const std::string& log) {
  setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
  setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
  // Under scripts/sanitize.sh: Open MPI's components keep allocations to the end and are unloaded
  // at MPI_Finalize, so LeakSanitizer sees leaks in unknown modules that no suppression can name.
  // The ranks run with leak detection off (rapid's own code is leak-checked by the other suites).
  if (const char* asan = std::getenv("ASAN_OPTIONS"); asan != nullptr && std::string(asan).find("detect_leaks=0") == std::string::npos) {
    setenv("ASAN_OPTIONS", (std::string(asan) + ":detect_leaks=0").c_str(), 1);
  }
  std::vector<std::string> command = {"mpirun", "--oversubscribe", "-np", std::to_string(ranks), RAPID_BINARY, "run"};
  command.insert(command.end(), run_args.begin(), run_args.end());
  return testing::SpawnLogged(command, log);
}

int Wait(pid_t pid) { return testing::WaitRapid(pid); }

int Mpirun(int ranks, const std::vector<std::string>& run_args, const std::string& log) {
  return Wait(SpawnMpirun(ranks, run_args, log));
}

bool HaveMpirun() { return std::system("mpirun --version >/dev/null 2>&1") == 0; }

// Every file below `dir` but run.json, with its bytes (QuakeML's creation times blanked).
std::map<std::string, std::string> Outputs(const std::string& dir) {
  std::map<std::string, std::string> files;
  const std::regex stamp("20[0-9]{2}-?[0-9]{2}-?[0-9]{2}T[0-9]{2}:?[0-9]{2}:?[0-9]{2}\\.[0-9]+Z");
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file() || e.path().filename() == "run.json") continue;
    std::string text = testing::ReadFileText(e.path().string());
    if (e.path().extension() == ".xml") {
      std::string blanked;
      std::istringstream in(text);
      for (std::string line; std::getline(in, line);) {
        if (line.find("creationTime") != std::string::npos || line.find("eventParameters publicID") != std::string::npos ||
            line.find("<event publicID") != std::string::npos) {
          line = std::regex_replace(line, stamp, "T");
        }
        blanked += line + "\n";
      }
      text = blanked;
    }
    files[fs::relative(e.path(), dir).string()] = text;
  }
  return files;
}

class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
#ifndef RAPID_WITH_MPI
    GTEST_SKIP() << "built without MPI";
#endif
    if (!HaveMpirun()) GTEST_SKIP() << "no mpirun";
  }
};

TEST_F(ClusterTest, ThreeRanksWriteTheOutputsOfOneProcessAndOneRankIsAPlainRun) {
  testing::TempDir dir;
  std::string log;
  ASSERT_EQ(testing::RunRapid({"synth", "--output", dir.Path("arch"), "--stations", "7", "--duration", "20m", "--chunk", "10m",
                               "--rates", "100,200,40"},
                              &log),
            0)
      << log;
  const std::vector<std::string> common = {"--input", dir.Path("arch"), "--batch-size", "8", "--progress", "off",
                                           "--save-probabilities", "--format", "quakeml,eqcctpro"};
  auto with_output = [&](const std::string& out) {
    std::vector<std::string> a = common;
    a.insert(a.end(), {"--output", dir.Path(out)});
    return a;
  };
  std::vector<std::string> plain = {"run"};
  for (const std::string& a : with_output("one")) plain.push_back(a);
  ASSERT_EQ(testing::RunRapid(plain, &log), 0) << log;
  ASSERT_EQ(Mpirun(3, with_output("three"), dir.Path("three.log")), 0) << testing::ReadFileText(dir.Path("three.log"));
  ASSERT_EQ(Mpirun(1, with_output("single"), dir.Path("single.log")), 0) << testing::ReadFileText(dir.Path("single.log"));
  const auto want = Outputs(dir.Path("one"));
  ASSERT_GT(want.size(), 10u);  // picks.csv, picks.xml, traces and EQCCTPro tables of 7 stations
  EXPECT_EQ(Outputs(dir.Path("three")), want);
  EXPECT_EQ(Outputs(dir.Path("single")), want);

  // run.json: the two workers' rows, together all the units and windows; none for one rank.
  const nlohmann::json three = nlohmann::json::parse(testing::ReadFileText(dir.Path("three/run.json")));
  const nlohmann::json one = nlohmann::json::parse(testing::ReadFileText(dir.Path("one/run.json")));
  ASSERT_EQ(three.at("ranks").size(), 2u);
  int64_t units = 0, windows = 0;
  for (const auto& k : three.at("ranks")) {
    units += k.at("units").get<int64_t>();
    windows += k.at("windows").get<int64_t>();
    EXPECT_GT(k.at("windows_per_s").get<double>(), 0.0);
    EXPECT_GT(k.at("peak_rss_bytes").get<int64_t>(), 0);
  }
  EXPECT_EQ(units, 7);
  EXPECT_EQ(windows, one.at("windows").get<int64_t>());
  EXPECT_EQ(three.at("windows"), one.at("windows"));
  EXPECT_EQ(three.at("picks"), one.at("picks"));
  EXPECT_FALSE(nlohmann::json::parse(testing::ReadFileText(dir.Path("single/run.json"))).contains("ranks"));
}

// Workers do not list the input: they plan with rank 0's survey of its rates, so the memory that
// Fourier resampling of 40 Hz data needs is planned for on every rank, and a budget without room
// for it stops the run before any work (a worker planning without it would fit 900 MB).
TEST_F(ClusterTest, WorkersPlanForTheInputsResamplingFromRankZerosSurvey) {
  testing::TempDir dir;
  std::string log;
  // 6 h at 40 Hz: files long enough for a segment that is resampled whole to need more than 900 MB.
  ASSERT_EQ(testing::RunRapid({"synth", "--output", dir.Path("arch"), "--stations", "1", "--duration", "21599s",
                               "--chunk", "6h", "--rates", "40"}, &log), 0) << log;
  const std::vector<std::string> args = {"--input", dir.Path("arch"), "--output", dir.Path("out"), "--progress", "off",
                                         "--max-ram", "900M"};
  EXPECT_EQ(Mpirun(2, args, dir.Path("small.log")), 1);
  const std::string said = testing::ReadFileText(dir.Path("small.log"));
  EXPECT_NE(said.find("preprocessing"), std::string::npos) << said;
  EXPECT_FALSE(fs::exists(dir.Path("out/picks.csv")));
}

// Units far smaller than a batch: a worker waiting for its unfinished units before asking for
// more must not wait on a batch that waits for more windows.
TEST_F(ClusterTest, UnitsSmallerThanABatchDoNotStallAWorker) {
  testing::TempDir dir;
  std::string log;
  ASSERT_EQ(testing::RunRapid({"synth", "--output", dir.Path("arch"), "--stations", "6", "--duration", "3m"}, &log), 0) << log;
  const std::vector<std::string> args = {"--input", dir.Path("arch"), "--batch-size", "64", "--progress", "off"};
  std::vector<std::string> plain = {"run", "--output", dir.Path("one")};
  plain.insert(plain.end(), args.begin(), args.end());
  ASSERT_EQ(testing::RunRapid(plain, &log), 0) << log;
  std::vector<std::string> three = {"--output", dir.Path("three")};
  three.insert(three.end(), args.begin(), args.end());
  ASSERT_EQ(Mpirun(3, three, dir.Path("three.log")), 0) << testing::ReadFileText(dir.Path("three.log"));
  EXPECT_EQ(Outputs(dir.Path("three")), Outputs(dir.Path("one")));
}

// The ranks of the job writing `out` (their environment names their rank); rank 0 too when asked.
std::vector<pid_t> RankPids(const std::string& out, bool with_rank0) {
  std::vector<pid_t> pids;
  for (const auto& e : fs::directory_iterator("/proc")) {
    const std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream cmdline(e.path() / "cmdline"), environ(e.path() / "environ");
    std::string args((std::istreambuf_iterator<char>(cmdline)), {}), env((std::istreambuf_iterator<char>(environ)), {});
    if (args.find(out) == std::string::npos || args.find("mpirun") == 0) continue;
    if (!with_rank0 && env.find(std::string("OMPI_COMM_WORLD_RANK=0") + '\0') != std::string::npos) continue;
    if (env.find("OMPI_COMM_WORLD_RANK=") != std::string::npos) pids.push_back(std::stoi(name));
  }
  return pids;
}

// The job of the fault tests: 12 synthetic stations × 1 h through EQTransformer (test weights:
// slow enough on these cores to stop mid-run, and with detections). Writes the archive and the
// uninterrupted run ("whole") into `dir`; returns the run's arguments but --output.
std::vector<std::string> FaultJob(const testing::TempDir& dir) {
  std::string log;
  EXPECT_EQ(testing::RunRapid({"synth", "--output", dir.Path("arch"), "--stations", "12", "--duration", "60m", "--chunk",
                               "30m"},
                              &log),
            0)
      << log;
  const std::vector<std::string> common = {"--input", dir.Path("arch"), "--model", "eqtransformer", "--weights",
                                           std::string(RAPID_TEST_DATA_DIR) + "/models/eqtransformer_random.pt",
                                           "--batch-size", "4", "--progress", "off"};
  std::vector<std::string> plain = {"run", "--output", dir.Path("whole")};
  plain.insert(plain.end(), common.begin(), common.end());
  EXPECT_EQ(testing::RunRapid(plain, &log), 0) << log;
  return common;
}

// Once the journal of the job writing `out` holds a unit: `signal` to its first worker, or to every
// rank (all three up) with `every_rank`. Whether it was sent.
bool SignalOnceAUnitIsJournaled(const std::string& out, int signal, bool every_rank) {
  const std::string journal = out + "/journal.jsonl";
  for (auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120); std::chrono::steady_clock::now() < deadline;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (!fs::exists(journal)) continue;
    std::ifstream in(journal);
    if (std::count(std::istreambuf_iterator<char>(in), {}, '\n') < 2) continue;  // the header and a unit
    const std::vector<pid_t> ranks = RankPids(out, /*with_rank0=*/every_rank);
    if (ranks.empty() || (every_rank && ranks.size() < 3)) continue;
    bool sent = false;
    for (size_t i = 0; i < (every_rank ? ranks.size() : 1); ++i) sent = kill(ranks[i], signal) == 0 || sent;
    return sent;
  }
  return false;
}

TEST_F(ClusterTest, AWorkerKilledMidRunEndsTheJobAndResumeOnTwoRanksFinishesIt) {
  testing::TempDir dir;
  const std::vector<std::string> common = FaultJob(dir);
  std::vector<std::string> args = {"--output", dir.Path("killed")};
  args.insert(args.end(), common.begin(), common.end());
  const pid_t job = SpawnMpirun(3, args, dir.Path("killed.log"));
  ASSERT_TRUE(SignalOnceAUnitIsJournaled(dir.Path("killed"), SIGKILL, /*every_rank=*/false))
      << testing::ReadFileText(dir.Path("killed.log"));
  EXPECT_NE(Wait(job), 0) << testing::ReadFileText(dir.Path("killed.log"));
  const std::string journal = dir.Path("killed/journal.jsonl");
  ASSERT_TRUE(fs::exists(journal));
  std::ifstream in(journal);
  const auto journaled = std::count(std::istreambuf_iterator<char>(in), {}, '\n') - 1;
  EXPECT_GE(journaled, 1);
  EXPECT_LT(journaled, 12);  // killed before the end

  args.push_back("--resume");
  ASSERT_EQ(Mpirun(2, args, dir.Path("resumed.log")), 0) << testing::ReadFileText(dir.Path("resumed.log"));
  EXPECT_FALSE(fs::exists(journal));
  const auto want = Outputs(dir.Path("whole"));
  ASSERT_TRUE(want.count("detections.csv"));
  EXPECT_EQ(Outputs(dir.Path("killed")), want);
  const nlohmann::json run = nlohmann::json::parse(testing::ReadFileText(dir.Path("killed/run.json")));
  EXPECT_EQ(run.at("ranks").at(0).at("units").get<int64_t>(), 12 - journaled);  // only what was not journaled
}

// A Slurm time limit: SIGTERM to every task. The job stops cleanly — units in flight finished or
// left to --resume, the outputs of those done written, the journal kept — and a resume as one
// process finishes it with the uninterrupted run's outputs.
TEST_F(ClusterTest, SigtermToEveryRankStopsCleanlyAndOneProcessResumes) {
  testing::TempDir dir;
  const std::vector<std::string> common = FaultJob(dir);
  std::vector<std::string> args = {"--output", dir.Path("stopped")};
  args.insert(args.end(), common.begin(), common.end());
  const pid_t job = SpawnMpirun(3, args, dir.Path("stopped.log"));
  ASSERT_TRUE(SignalOnceAUnitIsJournaled(dir.Path("stopped"), SIGTERM, /*every_rank=*/true))
      << testing::ReadFileText(dir.Path("stopped.log"));
  Wait(job);
  const std::string stopped_log = testing::ReadFileText(dir.Path("stopped.log"));
  EXPECT_NE(stopped_log.find("interrupted"), std::string::npos) << stopped_log;
  ASSERT_TRUE(fs::exists(dir.Path("stopped/journal.jsonl"))) << stopped_log;
  const nlohmann::json run = nlohmann::json::parse(testing::ReadFileText(dir.Path("stopped/run.json")));
  EXPECT_TRUE(run.at("interrupted").get<bool>());

  std::string log;
  std::vector<std::string> resume = {"run", "--output", dir.Path("stopped"), "--resume"};
  resume.insert(resume.end(), common.begin(), common.end());
  ASSERT_EQ(testing::RunRapid(resume, &log), 0) << log;
  EXPECT_EQ(Outputs(dir.Path("stopped")), Outputs(dir.Path("whole")));
}

TEST(ClusterMessagesTest, AssignmentsAndReportsRoundTrip) {
  UnitAssignment a;
  a.kind = UnitAssignment::Kind::kUnit;
  a.unit = "TX.PB01.00";
  a.files = {{"/data/2024/TX.PB01.00.HHZ.mseed", 1000, 2000}, {"/data/b", kUnsetTime, kUnsetTime}};
  UnitAssignment back;
  ASSERT_TRUE(DecodeAssignment(EncodeAssignment(a), &back));
  EXPECT_EQ(back.kind, a.kind);
  EXPECT_EQ(back.unit, a.unit);
  ASSERT_EQ(back.files.size(), 2u);
  EXPECT_EQ(back.files[0].path, a.files[0].path);
  EXPECT_EQ(back.files[0].chunk_end, 2000);
  EXPECT_EQ(back.files[1].chunk_start, kUnsetTime);
  ASSERT_TRUE(DecodeAssignment(EncodeAssignment({UnitAssignment::Kind::kError, "", {}, "bad weights"}), &back));
  EXPECT_EQ(back.kind, UnitAssignment::Kind::kError);
  EXPECT_EQ(back.error, "bad weights");
  EXPECT_FALSE(DecodeAssignment("{\"unit\": 3}", &back));

  InputFacts facts{int64_t{2} << 30, "preprocessing: up to 2.00 GiB (input at 40 Hz)"}, facts_back;
  ASSERT_TRUE(DecodeInputFacts(EncodeInputFacts(facts), &facts_back));
  EXPECT_EQ(facts_back.preprocess_bytes, facts.preprocess_bytes);
  EXPECT_EQ(facts_back.preprocess_reason, facts.preprocess_reason);
  EXPECT_FALSE(DecodeInputFacts("{\"preprocess_bytes\": -1, \"preprocess_reason\": \"\"}", &facts_back));
  EXPECT_FALSE(DecodeInputFacts("[]", &facts_back));

  WorkerReport w;
  w.rank.rank = 2;
  w.rank.host = "node7";
  w.rank.cpus = {4, 5};
  w.figures.windows = 1234;
  w.figures.stage_s["forward"] = 1.5;
  w.figures.instances.push_back({1234, 100, 1.25, 0.9});
  w.figures.errors.push_back({"TX.PB01.00", "f.mseed", "bad record"});
  w.selection.any_selected = true;
  w.selection.all_data.Add(5, 10);
  WorkerReport r;
  ASSERT_TRUE(DecodeWorkerReport(EncodeWorkerReport(w), &r));
  EXPECT_EQ(r.rank.host, "node7");
  EXPECT_EQ(r.rank.cpus, w.rank.cpus);
  EXPECT_EQ(r.figures.windows, 1234);
  EXPECT_EQ(r.figures.errors.at(0).message, "bad record");
  EXPECT_TRUE(r.selection.any_selected);
  EXPECT_EQ(r.selection.all_data.hi, 10);
  RunReport total;
  total.windows = 10;
  MergeWorkerFigures(r, &total);
  MergeWorkerFigures(r, &total);
  EXPECT_EQ(total.windows, 10 + 2 * 1234);
  EXPECT_DOUBLE_EQ(total.stage_s["forward"], 3.0);
  EXPECT_EQ(total.instances.size(), 2u);
  EXPECT_EQ(total.ranks.size(), 2u);
}

TEST(ClusterMessagesTest, AHostsCpusMemoryAndGpusAreSharedAmongItsWorkers) {
  PlanRequest p;
  ShareHost(1, 3, {0, 1, 2, 3, 4, 5, 6}, &p);
  EXPECT_EQ(p.cpus, (std::vector<int>{2, 3}));
  EXPECT_DOUBLE_EQ(p.ram_share, 1.0 / 3);
  PlanRequest given;
  given.cpus = {8, 9, 10, 11};
  given.max_ram_bytes = 900;
  given.devices = {"cuda:0", "cuda:1"};
  ShareHost(3, 4, {0, 1}, &given);
  EXPECT_EQ(given.cpus, (std::vector<int>{11}));
  EXPECT_EQ(given.max_ram_bytes, 225);
  EXPECT_EQ(given.devices, (std::vector<std::string>{"cuda:1"}));  // more workers than GPUs: round robin
  PlanRequest few;
  ShareHost(2, 3, {0, 1}, &few);
  EXPECT_EQ(few.cpus, (std::vector<int>{0}));  // more workers than CPUs: one each, round robin
  PlanRequest alone;
  ShareHost(0, 1, {0, 1}, &alone);
  EXPECT_TRUE(alone.cpus.empty());
}

}  // namespace
}  // namespace rapid
