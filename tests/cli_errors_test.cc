// What a new user trips over (issue 14): every subcommand's options given wrong, empty, negative,
// huge and malformed values answer with exit code 1, a message naming the option, the value and
// what is expected, and nothing written; `rapid` alone lists the subcommands; a selection that
// leaves no data says so and does not exit 0.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "test_util.h"

namespace rapid {
namespace {

using testing::RunRapid;
using testing::TempDir;

struct BadValue {
  std::vector<std::string> args;  // after the subcommand; --output is added (serve has none)
  std::string expected;           // what the message must say is expected
};

// The option (first argument) and the value (second) must appear in the message too.
const std::vector<std::pair<std::string, std::vector<BadValue>>> kTable = {
    {"run",
     {{{"--batch-size", "0"}, "whole number ≥ 1"},
      {{"--batch-size", "abc"}, "whole number ≥ 1"},
      {{"--batch-size", "-3"}, "whole number ≥ 1"},
      {{"--batch-size", "99999999999999999999"}, "too large"},
      {{"--batch-size", ""}, "whole number ≥ 1"},
      {{"--instances", "0"}, "whole number from 1 to 1024"},
      {{"--intra-threads", "1.5"}, "whole number from 1 to 1024"},
      {{"--intra-threads", "100000"}, "whole number from 1 to 1024"},
      {{"--instances", "99999999"}, "whole number from 1 to 1024"},
      {{"--max-stations", "-1"}, "whole number ≥ 1"},
      {{"--batch-wait", "-5"}, "whole number ≥ 0"},
      {{"--start", "2024-13-45"}, "ISO-8601"},
      {{"--end", ""}, "ISO-8601"},
      {{"--start", "yesterday"}, "ISO-8601"},
      {{"--chunk", "0"}, "duration above zero"},
      {{"--chunk", "10x"}, "duration above zero"},
      {{"--overlap", "-1m"}, "duration"},
      {{"--max-ram", "lots"}, "size above zero"},
      {{"--max-ram", "0"}, "size above zero"},
      {{"--max-vram", "-1G"}, "size above zero"},
      {{"--cpus", "0-x"}, "CPU list"},
      {{"--cpus", ""}, "CPU list"},
      {{"--devices", "gpu"}, "expected cpu or cuda:N"},
      {{"--devices", "cuda:x"}, "cuda:N"},
      {{"--format", "csv,pdf"}, "comma-separated list of csv, quakeml, eqcctpro"},
      {{"--format", ""}, "comma-separated list"},
      {{"--layout", "weird"}, "one of auto, chunks, sds, files"},
      {{"--input", ""}, "a file, folder or glob"},
      {{"--weights", ""}, "a weight file"},
      {{"--model", ""}, "a model name"},
      {{"--config", ""}, "a TOML file"},
      {{"--progress", "on"}, "one of auto, off"},
      {{"--preset", "seisbench"}, "one of eqcctpro"},
      {{"--p-threshold", "0"}, "a probability above 0 and at most 1"},
      {{"--s-threshold", "1.5"}, "a probability above 0 and at most 1"},
      {{"--p-threshold", "high"}, "a probability above 0 and at most 1"},
      {{"--bandpass", "45,1"}, "band-pass corners in Hz such as 1,45"},
      {{"--bandpass", "1"}, "band-pass corners in Hz such as 1,45"},
      {{"--bandpass", "0,45"}, "band-pass corners in Hz such as 1,45"},
      {{"--bandpass-corners", "0"}, "whole number from 1 to 10"},
      {{"--taper", "-5s"}, "duration"}}},
    {"synth",
     {{{"--stations", "0"}, "whole number from 1 to 100000"},
      {{"--stations", "1e9"}, "whole number from 1 to 100000"},
      {{"--stations", "100000000000"}, "whole number from 1 to 100000"},
      {{"--duration", "100000d"}, "up to 1000d"},
      {{"--duration", "1.5s"}, "whole seconds"},
      {{"--duration", "abc"}, "duration above zero"},
      {{"--chunk", "0"}, "duration above zero"},
      {{"--overlap", "-1s"}, "duration"},
      {{"--rates", "100,abc"}, "sampling rates"},
      {{"--rates", ""}, "sampling rates"},
      {{"--start", "soon"}, "ISO-8601"},
      {{"--seed", "-1"}, "whole number ≥ 0"}}},
    {"tune",
     {{{"--time-budget", "0"}, "duration above zero"},
      {{"--confirm", "-1"}, "whole number ≥ 0"},
      {{"--synth-stations", "0"}, "whole number from 1 to 100000"},
      {{"--synth-duration", "0.5s"}, "whole seconds"},
      {{"--synth-rates", "x"}, "sampling rates"},
      {{"--max-ram", "huge"}, "size above zero"},
      {{"--gpus", "-1"}, "whole number ≥ 0"},
      {{"--batch-sizes", "8,0"}, "whole numbers ≥ 1"},
      {{"--batch-sizes", "99999999999999999999"}, "whole numbers ≥ 1"},
      {{"--input", ""}, "a file, folder or glob"},
      {{"--cpu-counts", "a"}, "whole numbers ≥ 1"},
      {{"--devices", "gpu"}, "auto or a device list"},
      {{"--cpus", "0-x"}, "CPU list"}}},
    {"serve",
     {{{"--listen", "localhost"}, "HOST:PORT"},
      {{"--listen", "127.0.0.1:99999"}, "port from 0 to 65535"},
      {{"--max-batch-delay", "soon"}, "duration"},
      {{"--request-timeout", "0"}, "duration above zero"},
      {{"--max-body", "0"}, "size above zero"},
      {{"--max-request-memory", "0"}, "size above zero"},
      {{"--max-connections", "0"}, "whole number from 1 to 100000"},
      {{"--max-queue-windows", "-2"}, "whole number ≥ 1"}}},
};

TEST(CliErrorsTest, EveryBadValueNamesTheOptionTheValueAndWhatIsExpected) {
  TempDir dir;
  int cases = 0;
  for (const auto& [command, bad_values] : kTable) {
    for (const BadValue& bad : bad_values) {
      const std::string out = dir.Path("out" + std::to_string(cases++));
      std::vector<std::string> args = {command};
      args.insert(args.end(), bad.args.begin(), bad.args.end());
      if (command != "serve") args.insert(args.end(), {"--output", out});
      std::string log;
      SCOPED_TRACE(command + " " + bad.args[0] + " '" + bad.args[1] + "'");
      EXPECT_EQ(RunRapid(args, &log), 1) << log;
      EXPECT_NE(log.find(bad.args[0]), std::string::npos) << log;
      EXPECT_NE(log.find("'" + bad.args[1] + "'"), std::string::npos) << log;
      EXPECT_NE(log.find(bad.expected), std::string::npos) << log;
      EXPECT_EQ(log.find("Run with --help"), std::string::npos) << "CLI11's own text: " << log;
      EXPECT_FALSE(std::filesystem::exists(out)) << "written although the command line was wrong";
    }
  }
  EXPECT_EQ(cases, 74);
}

TEST(CliErrorsTest, EndBeforeStartIsAConfigurationError) {
  TempDir dir;
  std::string log;
  EXPECT_EQ(RunRapid({"run", "--start", "2024-12-15T12:00:00Z", "--end", "2024-12-15T11:00:00Z", "--output",
                      dir.Path("out")},
                     &log),
            1);
  EXPECT_NE(log.find("--end 2024-12-15T11:00:00Z is not after --start 2024-12-15T12:00:00Z"), std::string::npos)
      << log;
  EXPECT_FALSE(std::filesystem::exists(dir.Path("out")));
}

TEST(CliErrorsTest, SelectionWithoutDataSaysSoAndDoesNotExitZero) {
  TempDir dir;
  std::string log;
  // A mistyped year on the bundled 2024 sample.
  EXPECT_EQ(RunRapid({"run", "--start", "2030-01-01T00:00:00Z", "--output", dir.Path("out"), "--progress", "off"}, &log),
            2);
  const std::string said = "--start/--end select from 2030-01-01T00:00:00.000000Z, but the data read cover "
                           "2024-12-15T11:57:59.999000Z – 2024-12-15T12:01:00.001000Z: nothing to pick";
  EXPECT_NE(log.find(said), std::string::npos) << log;
  std::ifstream in(dir.Path("out/run.json"));
  const std::string report((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(report.find(said), std::string::npos);
  // Each unit says what its files hold.
  EXPECT_NE(report.find("4O.AT01.00: no data from 2030-01-01T00:00:00.000000Z (its files hold "
                        "2024-12-15T11:58:00.001000Z – 2024-12-15T12:01:00.001000Z)"),
            std::string::npos)
      << report;
}

TEST(CliErrorsTest, NoSubcommandListsThem) {
  std::string log;
  EXPECT_EQ(RunRapid({}, &log), 1);
  for (const char* line : {"  run       Pick phases", "  synth     Write a synthetic archive", "  models    List the models",
                           "  tune      Find the fastest configuration", "  report    Write DIR/report.html"}) {
    EXPECT_NE(log.find(line), std::string::npos) << line << "\n" << log;
  }
  EXPECT_EQ(RunRapid({"--no-such"}, &log), 1);
  EXPECT_NE(log.find("'--no-such' is not a rapid command"), std::string::npos) << log;
  EXPECT_NE(log.find("commands:"), std::string::npos) << log;
}

}  // namespace
}  // namespace rapid
