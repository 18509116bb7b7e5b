#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "backends/backend.h"
#include "cli/commands.h"
#include "cli/config_file.h"
#include "cli/option_checks.h"
#include "cli/stop_signals.h"
#include "cluster/cluster_run.h"
#include "cluster/mpi_comm.h"
#include "core/exit_codes.h"
#include "dispatch/resource_probe.h"
#include "engine/eqcctpro_windows.h"
#include "engine/picking_run.h"
#include "engine/time_chunks.h"
#include "models/device.h"

namespace rapid {

namespace {

namespace fs = std::filesystem;

// More threads than any machine RAPID runs on has cores: a mistyped value (100000 threads would
// stall the machine before the planner could say no).
constexpr int64_t kMaxThreadsFlag = 1024;

struct RunFlags {
  std::string input, layout = "auto", model, weights, output = "rapid-output", format = "csv";
  std::string start, end, chunk, overlap;
  bool save_probabilities = false, resume = false;
  int64_t batch_size = 0, intra_threads = 0, instances = 0, batch_wait_ms = 0;
  std::string progress = "auto";
  std::string max_ram, max_vram, cpus, devices = "cpu", backend = "onednn";
  std::string config;
  int64_t max_stations = 0;
  std::string preset, taper, bandpass;
  int64_t bandpass_corners = 0;
  double p_threshold = 0.0, s_threshold = 0.0;
};

// --preset, --taper, --bandpass and the thresholds into *opts (the values were checked).
void ApplyPickingFlags(const RunFlags& flags, RunOptions* opts) {
  opts->eqcctpro_preset = flags.preset == "eqcctpro";
  if (opts->eqcctpro_preset) opts->filter = EqcctproDefaultFilter();
  if (!flags.taper.empty()) opts->filter.taper_s = static_cast<double>(*ParseDurationNs(flags.taper)) / kNanosPerSecond;
  if (!flags.bandpass.empty()) {
    opts->filter.bandpass = true;
    (void)ParseBandHz(flags.bandpass, &opts->filter.low_hz, &opts->filter.high_hz);
  }
  if (flags.bandpass_corners > 0) opts->filter.corners = static_cast<int>(flags.bandpass_corners);
  if (flags.p_threshold > 0) opts->thresholds["P"] = flags.p_threshold;
  if (flags.s_threshold > 0) opts->thresholds["S"] = flags.s_threshold;
}

// Prints a short table of the picks for a person at a terminal.
void PrintPickTable(const std::string& picks_csv) {
  std::ifstream in(picks_csv);
  std::string line;
  std::getline(in, line);  // header
  std::printf("%-14s %-5s %-27s %-7s\n", "trace_id", "phase", "peak_time", "prob");
  int rows = 0;
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    size_t pos = 0;
    while (true) {
      size_t c = line.find(',', pos);
      f.push_back(line.substr(pos, c - pos));
      if (c == std::string::npos) break;
      pos = c + 1;
    }
    if (f.size() < 4) continue;
    std::printf("%-14s %-5s %-27s %-7.3f\n", f[0].c_str(), f[1].c_str(), f[2].c_str(), std::atof(f[3].c_str()));
    ++rows;
  }
  std::printf("%d picks\n", rows);
}

// Under mpirun/srun the run is one job over the ranks (cluster/cluster_run.h; one rank is a plain
// run): MPI is started here. False, having said why, when it cannot be.
bool StartMpiIfLaunched(std::unique_ptr<MpiComm>* mpi) {
  if (!LaunchedByMpiLauncher()) return true;
  const Status s = MpiComm::Init(mpi);
  if (!s.ok()) spdlog::error("{}", s.message());
  return s.ok();
}

int Run(const RunFlags& flags) {
  RunOptions opts;
  const bool demo = flags.input.empty();
  opts.input = demo ? BundledSampleDir() : flags.input;
  // The values were checked when the command line was read (option_checks.h).
  opts.layout = *ParseLayout(flags.layout);
  opts.model = !flags.model.empty() ? flags.model : flags.preset == "eqcctpro" ? "eqcct" : "phasenet";
  ApplyPickingFlags(flags, &opts);
  if (flags.bandpass_corners > 0 && !opts.filter.bandpass) {
    spdlog::error("--bandpass-corners needs --bandpass (or --preset eqcctpro)");
    return kExitUsage;
  }
  opts.weights = flags.weights;
  opts.output_dir = flags.output;
  opts.save_probabilities = flags.save_probabilities;
  if (flags.progress == "off") opts.progress = RunOptions::Progress::kOff;
  opts.plan.batch_size = flags.batch_size;
  opts.max_batch_wait_ms = flags.batch_wait_ms;
  opts.plan.intra_threads = flags.intra_threads;
  opts.plan.instances = flags.instances;
  opts.plan.cpu_backend = flags.backend;
  opts.write_quakeml = ("," + flags.format + ",").find(",quakeml,") != std::string::npos;
  opts.write_eqcctpro = ("," + flags.format + ",").find(",eqcctpro,") != std::string::npos;
  if (Status s = ParseDeviceList(flags.devices, &opts.plan.devices); !s.ok()) {  // also asks libtorch for the devices
    spdlog::error("--devices {}: {}", flags.devices, s.message());
    return kExitUsage;
  }
  if (!flags.max_vram.empty()) opts.plan.max_vram_bytes = *ParseByteSize(flags.max_vram);
  if (!flags.max_ram.empty()) opts.plan.max_ram_bytes = *ParseByteSize(flags.max_ram);
  if (!flags.cpus.empty()) (void)ParseCpuList(flags.cpus, &opts.plan.cpus);
  if (!flags.start.empty()) opts.start = *ParseIsoTime(flags.start);
  if (!flags.end.empty()) opts.end = *ParseIsoTime(flags.end);
  if (!flags.chunk.empty()) opts.chunk_ns = *ParseDurationNs(flags.chunk);
  if (!flags.overlap.empty()) opts.overlap_ns = *ParseDurationNs(flags.overlap);
  if (opts.start != kUnsetTime && opts.end != kUnsetTime && opts.end <= opts.start) {
    spdlog::error("--end {} is not after --start {}: the selection is empty", flags.end, flags.start);
    return kExitUsage;
  }
  opts.max_stations = flags.max_stations;
  opts.resume = flags.resume;
  opts.stop = InstallStopHandlers();
  std::unique_ptr<MpiComm> mpi;
  if (!StartMpiIfLaunched(&mpi)) return kExitUsage;
  RunReport report;
  const RunOutcome outcome = mpi && mpi->size() > 1 ? RunPickingOnCluster(opts, mpi.get(), &report) : RunPicking(opts, &report);
  if (mpi && mpi->rank() != 0) {  // a worker: rank 0 tells what the job did
    if (outcome.configuration_error()) spdlog::error("rank {}: {}", mpi->rank(), outcome.status().message());
    return outcome.configuration_error() ? kExitUsage : kExitOk;
  }
  if (outcome.configuration_error()) {
    spdlog::error("{}", outcome.status().message());
    return kExitUsage;
  }
  for (const RunError& e : report.errors) {
    // Name the file (else the unit) once: reader messages often begin with the path already.
    const std::string& who = e.file.empty() ? e.unit : e.file;
    const bool named = who.empty() || e.message.compare(0, who.size(), who) == 0;
    spdlog::error("{}{}", named ? "" : who + ": ", e.message);
  }
  if (!outcome.status().ok()) {
    spdlog::error("{}", outcome.status().message());
    return kExitInternal;
  }
  std::fprintf(stderr, "rapid: %lld/%lld units, %lld windows, %lld picks in %.2f s (peak RSS %.0f MiB) → %s\n",
               static_cast<long long>(report.units_done), static_cast<long long>(report.units_total),
               static_cast<long long>(report.windows), static_cast<long long>(report.picks), report.wall_s,
               static_cast<double>(report.peak_rss_bytes) / (1 << 20), opts.output_dir.c_str());
  if (report.interrupted) {
    std::fprintf(stderr,
                 "rapid: interrupted: the outputs hold the %lld units done; run the same command with --resume to "
                 "continue\n",
                 static_cast<long long>(report.units_done));
    return kExitInterrupted;
  }
  if (demo) PrintPickTable(opts.output_dir + "/picks.csv");
  return report.errors.empty() && report.units_failed == 0 ? kExitOk : kExitUnitsFailed;
}

}  // namespace

std::string BundledSampleDir() {
  if (const char* env = std::getenv("RAPID_DATA_DIR"); env != nullptr && *env != '\0') return env;
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    fs::path candidate = exe.parent_path().parent_path() / "data" / "texnet-sample";
    if (fs::is_directory(candidate, ec)) return candidate.string();
  }
  return std::string(RAPID_SOURCE_DIR) + "/data/texnet-sample";
}

namespace {

// The devices, backend, memory budgets, CPUs and the planner's choices made by hand.
void AddResourceFlags(CLI::App* cmd, RunFlags* flags) {
  cmd->add_option("--max-ram", flags->max_ram, "Host memory budget, e.g. 4G (default: 70% of available)")
      ->check(ByteSizeValue());
  cmd->add_option("--devices", flags->devices,
                  "Devices to run on, comma-separated: cpu, cuda:N (cuda:0,1 = cuda:0 and cuda:1), e.g. cpu,cuda:0")
      ->capture_default_str();
  cmd->add_option("--backend", flags->backend, "Backend of the cpu device: onednn, or torch (the reference)")
      ->check(CLI::IsMember(CpuBackends()))
      ->capture_default_str();
  cmd->add_option("--max-vram", flags->max_vram, "GPU memory budget per device, e.g. 20G (default: 80% of free)")
      ->check(ByteSizeValue());
  cmd->add_option("--cpus", flags->cpus, "CPUs the run keeps to, e.g. 0-3 or 0,2 (every thread of the run; instances pinned within)")
      ->check(CpuListValue());
  cmd->add_option("--batch-wait", flags->batch_wait_ms,
                  "Longest wait (ms) for a batch to fill before running what is queued (default 0: full batches)")
      ->check(WholeNumberAtLeast(0));
  cmd->add_option("--batch-size", flags->batch_size, "Windows per forward call (default: planner)")
      ->check(WholeNumberAtLeast(1));
  cmd->add_option("--instances", flags->instances, "Model instances, one thread each (default: planner)")
      ->check(WholeNumberAtLeast(1, kMaxThreadsFlag));
  cmd->add_option("--intra-threads", flags->intra_threads, "Threads per forward call (default: planner)")
      ->check(WholeNumberAtLeast(1, kMaxThreadsFlag));
}

}  // namespace

CommandAction AddRunCommand(CLI::App* app) {
  auto flags = std::make_shared<RunFlags>();
  CLI::App* cmd = app->add_subcommand("run", "Pick phases in miniSEED data (no --input: the bundled real sample)");
  cmd->add_option("--input", flags->input, "miniSEED file, folder, glob, or timechunk-layout root")
      ->check(NotEmpty("a file, folder or glob"));
  cmd->add_option("--layout", flags->layout, "Input layout: auto, chunks, sds or files")
      ->capture_default_str()
      ->check(OneOf({"auto", "chunks", "sds", "files"}));
  cmd->add_option("--model", flags->model, "Model name (rapid models lists them); NAME:TAG loads SeisBench's cached weights of that tag, "
                  "newest version ($SEISBENCH_CACHE_ROOT, else ~/.seisbench); default phasenet (eqcct with --preset eqcctpro)")
      ->check(NotEmpty("a model name (rapid models lists them)"));
  cmd->add_option("--weights", flags->weights, "SeisBench weight file (.pt); its .json is read if present")
      ->check(NotEmpty("a weight file"));
  cmd->add_option("--start", flags->start, "Ignore samples before this time (ISO-8601, UTC)")->check(IsoTimeValue());
  cmd->add_option("--end", flags->end, "Ignore samples after this time (ISO-8601, UTC)")->check(IsoTimeValue());
  cmd->add_option("--chunk", flags->chunk,
                  "Process [--start, --end] in time chunks of this length, e.g. 10m (EQCCTPro semantics; picks "
                  "do not depend on it; it sets the eqcctpro output's chunks)")
      ->check(DurationValue(/*zero_ok=*/false));
  cmd->add_option("--overlap", flags->overlap, "Overlap of consecutive time chunks, e.g. 2m (with --chunk)")
      ->check(DurationValue(/*zero_ok=*/true));
  cmd->add_option("--output", flags->output, "Output folder (picks.csv, run.json, probabilities/)")
      ->capture_default_str()
      ->check(NotEmpty("a folder"));
  cmd->add_option("--format", flags->format,
                  "Pick formats, comma-separated: csv (always written), quakeml (picks.xml), eqcctpro")
      ->capture_default_str()
      ->check(ListOf({"csv", "quakeml", "eqcctpro"}));
  AddResourceFlags(cmd, flags.get());
  cmd->add_flag("--resume", flags->resume,
                "Continue the unfinished run whose journal is in --output (same model, weights and input)");
  cmd->add_flag("--save-probabilities", flags->save_probabilities,
                "Also write probability traces as float32 miniSEED under probabilities/");
  cmd->add_option("--progress", flags->progress, "Progress on stderr: auto (a line on a terminal, else every 10 s) or off")
      ->capture_default_str()
      ->check(OneOf({"auto", "off"}));
  cmd->add_option("--max-stations", flags->max_stations,
                  "Pick only the first N stations (NET.STA.LOC order): a quick look, or a trial of rapid tune")
      ->check(WholeNumberAtLeast(1));
  cmd->add_option("--preset", flags->preset,
                  "eqcctpro: EQCCTPro's own EQCCT pipeline (5 s taper, 1-45 Hz band-pass, 42 s windows, per-window "
                  "picks at P 0.001 / S 0.02, its X_prediction_results.csv) instead of SeisBench's semantics")
      ->check(OneOf({"eqcctpro"}));
  cmd->add_option("--p-threshold", flags->p_threshold, "Threshold of the P label (default: the model's or the preset's)")
      ->check(ThresholdValue());
  cmd->add_option("--s-threshold", flags->s_threshold, "Threshold of the S label (default: the model's or the preset's)")
      ->check(ThresholdValue());
  cmd->add_option("--taper", flags->taper,
                  "Cosine taper at each end of every continuous segment before windowing, e.g. 5s (off by default; "
                  "changes picks away from SeisBench's)")
      ->check(DurationValue(/*zero_ok=*/true));
  cmd->add_option("--bandpass", flags->bandpass,
                  "Zero-phase Butterworth band-pass LOW,HIGH in Hz before windowing, e.g. 1,45 (a high-pass where HIGH "
                  "is not below Nyquist; off by default)")
      ->check(BandValue());
  cmd->add_option("--bandpass-corners", flags->bandpass_corners, "Butterworth corners of --bandpass (default 2)")
      ->check(WholeNumberAtLeast(1, 10));
  cmd->add_option("--config", flags->config,
                  "TOML file of flags, e.g. best.toml from rapid tune (keys are flag names: batch-size = 32); "
                  "flags given here win")
      ->check(NotEmpty("a TOML file"));
  return [flags, cmd] { return ApplyConfigFlag(flags->config, cmd) ? Run(*flags) : kExitUsage; };
}

}  // namespace rapid
