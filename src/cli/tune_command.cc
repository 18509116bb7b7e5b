#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <sstream>

#include "backends/backend.h"
#include "cli/commands.h"
#include "cli/option_checks.h"
#include "cli/stop_signals.h"
#include "core/exit_codes.h"
#include "dispatch/resource_probe.h"
#include "engine/time_chunks.h"
#include "models/device.h"
#include "synth/synth.h"
#include "tune/tune.h"

namespace rapid {

namespace {

struct TuneFlags {
  std::string input, model = "phasenet", weights, backend = "onednn", output = "rapid-tune", time_budget = "10m";
  std::string devices = "auto", cpus, stations, cpu_counts, batch_sizes, max_ram;
  int64_t confirm = 3;
  int64_t synth_stations = 50;
  std::string synth_duration = "10m", synth_rates = "100";
  bool query = false;
  int64_t gpus = 0;
};

// "12,50,200" → {12, 50, 200}; false on anything but positive integers.
bool ParseCounts(const std::string& text, std::vector<int64_t>* out) {
  std::stringstream ss(text);
  for (std::string item; std::getline(ss, item, ',');) {
    char* end = nullptr;
    errno = 0;
    const long long v = std::strtoll(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || v <= 0 || errno == ERANGE) return false;
    out->push_back(v);
  }
  return !out->empty();
}

int Query(const TuneFlags& f) {
  const std::string csv = f.output + "/trials.csv";
  std::vector<int64_t> cpus, stations;
  if (!ParseCounts(f.cpus, &cpus) || cpus.size() != 1) {
    spdlog::error("--query --cpus: must be one number of CPUs to answer for (e.g. --cpus 2), not '{}'", f.cpus);
    return kExitUsage;
  }
  if (!ParseCounts(f.stations, &stations) || stations.size() != 1) {
    spdlog::error("--query --stations: must be one station count to answer for (e.g. --stations 200), not '{}'",
                  f.stations);
    return kExitUsage;
  }
  std::vector<Trial> trials;
  if (Status s = ReadTrials(csv, &trials); !s.ok()) {
    spdlog::error("{}", s.message());
    return kExitUsage;
  }
  ConfigSummary best;
  if (Status s = BestFor(trials, cpus[0], f.gpus, stations[0], &best); !s.ok()) {
    spdlog::error("{}: {}", csv, s.message());
    return kExitUnitsFailed;
  }
  const std::string heading = "Fastest measured for " + std::to_string(cpus[0]) + " CPUs, " + std::to_string(f.gpus) +
                              " GPUs and " + std::to_string(stations[0]) + " stations (from " + csv + "; measured with " +
                              std::to_string(best.config.stations) + " stations)";
  std::fputs(BestToml(best, heading).c_str(), stdout);
  return kExitOk;
}

int Tune(const TuneFlags& f) {
  TuneOptions opts;
  std::error_code ec;
  opts.rapid_binary = std::filesystem::read_symlink("/proc/self/exe", ec).string();
  if (ec) {
    spdlog::error("cannot find this program (/proc/self/exe) to run trials with: {}", ec.message());
    return kExitUsage;
  }
  // Absolute, so trials.csv keys (and best.toml) do not depend on the folder the tune ran from.
  opts.input = f.input.empty() ? "" : std::filesystem::absolute(f.input).lexically_normal().string();
  opts.model = f.model;
  opts.weights = f.weights.empty() ? "" : std::filesystem::absolute(f.weights).lexically_normal().string();
  opts.backend = f.backend;
  opts.output_dir = f.output;
  opts.confirm_top = f.confirm;
  opts.max_ram = f.max_ram;  // --max-ram, --time-budget, --synth-*: checked when read (option_checks.h)
  opts.time_budget_s = static_cast<double>(*ParseDurationNs(f.time_budget)) / kNanosPerSecond;
  if (!f.cpus.empty()) {
    if (Status s = ParseCpuList(f.cpus, &opts.cpus); !s.ok()) {
      spdlog::error("--cpus: must be a CPU list such as 0-3 or 0,2, not '{}' ({})", f.cpus, s.message());
      return kExitUsage;
    }
  }
  for (auto [text, target, name] : {std::tuple{&f.stations, &opts.station_counts, "--stations"},
                                    {&f.cpu_counts, &opts.cpu_counts, "--cpu-counts"},
                                    {&f.batch_sizes, &opts.batch_sizes, "--batch-sizes"}}) {
    if (!text->empty() && !ParseCounts(*text, target)) {
      spdlog::error("{}: must be a list of whole numbers ≥ 1 such as 8,16,32, not '{}'", name, *text);
      return kExitUsage;
    }
  }
  std::sort(opts.batch_sizes.begin(), opts.batch_sizes.end());
  std::vector<std::string> devices;
  if (f.devices == "auto") {
    for (int i = 0; i < CudaDeviceCount(); ++i) opts.gpus.push_back("cuda:" + std::to_string(i));
  } else if (Status s = ParseDeviceList(f.devices, &devices); !s.ok()) {
    spdlog::error("--devices: must be auto or a device list such as cpu,cuda:0, not '{}' ({})", f.devices, s.message());
    return kExitUsage;
  } else {
    for (const std::string& d : devices) {
      if (d != "cpu") opts.gpus.push_back(d);
    }
  }
  opts.synth_stations = f.synth_stations;
  opts.synth_duration_s = *ParseDurationNs(f.synth_duration) / kNanosPerSecond;
  (void)ParseRatesHz(f.synth_rates, &opts.synth_rates_hz);
  opts.stop = InstallStopHandlers();
  opts.log = [](const std::string& line) { std::fprintf(stderr, "rapid tune: %s\n", line.c_str()); };
  TuneResult result;
  if (Status s = RunTune(opts, &result); !s.ok()) {
    spdlog::error("{}", s.message());
    return kExitUsage;
  }
  std::fprintf(stderr, "rapid tune: %lld trials run, %lld read back from trials.csv, %lld contexts in %.0f s\n",
               static_cast<long long>(result.trials_run), static_cast<long long>(result.trials_reused),
               static_cast<long long>(result.contexts_done), result.wall_s);
  if (!result.contexts_skipped.empty()) {
    std::fprintf(stderr, "rapid tune: %s; not measured: %zu contexts (run the same command again to go on)\n",
                 result.interrupted ? "stopped" : "time budget spent", result.contexts_skipped.size());
  }
  if (result.interrupted && !result.found) return kExitInterrupted;
  if (!result.found) {
    spdlog::error("no trial succeeded; see the trials' log.txt under {}/trials", f.output);
    return kExitUnitsFailed;
  }
  const Trial& b = result.best.config;
  std::fprintf(stderr, "rapid tune: best: %lld instances × %lld threads, batch %lld on CPUs %s%s%s, %lld stations: %.0f windows/s → %s/best.toml\n",
               static_cast<long long>(b.instances), static_cast<long long>(b.threads_per_instance),
               static_cast<long long>(b.batch_size), b.cpus.c_str(), b.gpus.empty() ? "" : " and ", b.gpus.c_str(),
               static_cast<long long>(b.stations), result.best.windows_per_s, f.output.c_str());
  return result.interrupted ? kExitInterrupted : 0;
}

}  // namespace

CommandAction AddTuneCommand(CLI::App* app) {
  auto f = std::make_shared<TuneFlags>();
  CLI::App* cmd = app->add_subcommand(
      "tune", "Find the fastest configuration on this machine by real trials (trials.csv, best.toml); --query answers from them");
  cmd->add_option("--input", f->input, "Input of every trial (as rapid run); none: a synthetic archive (--synth-*)")
      ->check(NotEmpty("a file, folder or glob"));
  cmd->add_option("--model", f->model, "Model name (rapid models lists them)")
      ->capture_default_str()
      ->check(NotEmpty("a model name (rapid models lists them)"));
  cmd->add_option("--weights", f->weights, "SeisBench weight file (.pt); default: the model's bundled weights")
      ->check(NotEmpty("a weight file"));
  cmd->add_option("--backend", f->backend, "Backend of the cpu device in every trial: onednn or torch")
      ->check(CLI::IsMember(CpuBackends()))
      ->capture_default_str();
  cmd->add_option("--output", f->output, "Folder of trials.csv, best.toml and the trials' outputs (trials/N/)")
      ->capture_default_str()
      ->check(NotEmpty("a folder"));
  cmd->add_option("--time-budget", f->time_budget, "Wall time the tune may spend, e.g. 10m; run again to go on")
      ->capture_default_str()
      ->check(DurationValue(/*zero_ok=*/false));
  cmd->add_option("--devices", f->devices,
                  "auto (the CPU and every CUDA device), or a list as rapid run's (cpu,cuda:0): GPU sets tried")
      ->capture_default_str();
  cmd->add_option("--cpus", f->cpus,
                  "CPUs to tune on, e.g. 0-3 (default: all this process may use); with --query: a number of CPUs");
  cmd->add_option("--stations", f->stations,
                  "Station counts to measure, e.g. 12,50 (default: 20 % steps of the input's); with --query: one count");
  cmd->add_option("--cpu-counts", f->cpu_counts, "CPU counts to measure, e.g. 1,2 (default: 20 % steps of --cpus)");
  cmd->add_option("--batch-sizes", f->batch_sizes,
                  "Batch sizes searched, e.g. 4,8,16,32 (default: 1-256 on CPUs, 16-1024 on GPUs)");
  cmd->add_option("--confirm", f->confirm, "Best configurations of each context measured a second time")
      ->capture_default_str()
      ->check(WholeNumberAtLeast(0));
  cmd->add_option("--max-ram", f->max_ram, "Passed to every trial (rapid run --max-ram)")->check(ByteSizeValue());
  cmd->add_option("--synth-stations", f->synth_stations, "Synthetic input (no --input): stations")
      ->capture_default_str()
      ->check(WholeNumberAtLeast(1, kMaxSynthStations));
  cmd->add_option("--synth-duration", f->synth_duration, "Synthetic input: length, e.g. 10m")
      ->capture_default_str()
      ->check(DurationValue(/*zero_ok=*/false, /*whole_seconds=*/true, kMaxSynthDurationS * kNanosPerSecond));
  cmd->add_option("--synth-rates", f->synth_rates, "Synthetic input: sampling rates in Hz, cycled over stations")
      ->capture_default_str()
      ->check(RatesValue());
  cmd->add_flag("--query", f->query,
                "Print the fastest measured configuration for --cpus N, --stations N (and --gpus N) from "
                "--output's trials.csv, as TOML for rapid run --config");
  cmd->add_option("--gpus", f->gpus, "With --query: GPUs available")->capture_default_str()->check(WholeNumberAtLeast(0));
  return [f] { return f->query ? Query(*f) : Tune(*f); };
}

}  // namespace rapid
