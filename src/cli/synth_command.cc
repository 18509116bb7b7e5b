#include <spdlog/spdlog.h>

#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "cli/option_checks.h"
#include "core/exit_codes.h"
#include "engine/time_chunks.h"
#include "synth/synth.h"

namespace rapid {

namespace {

struct SynthFlags {
  std::string output, duration = "10m", chunk = "60m", overlap = "0s", rates = "100", start;
  int64_t stations = 3;
  uint64_t seed = 1;
};

int Synth(const SynthFlags& f) {
  SynthOptions o;
  o.stations = f.stations;
  o.seed = f.seed;
  // --duration, --chunk, --overlap, --start and --rates were checked when read (option_checks.h).
  o.duration_s = *ParseDurationNs(f.duration) / kNanosPerSecond;
  o.chunk_s = *ParseDurationNs(f.chunk) / kNanosPerSecond;
  o.overlap_s = *ParseDurationNs(f.overlap) / kNanosPerSecond;
  if (!f.start.empty()) o.start = *ParseIsoTime(f.start);
  (void)ParseRatesHz(f.rates, &o.rates_hz);
  int64_t files = 0;
  Status s = WriteSynthArchive(f.output, o, &files);
  if (!s.ok()) {
    spdlog::error("{}", s.message());
    return s.code() == Status::Code::kInvalidArgument ? kExitUsage : kExitInternal;
  }
  std::fprintf(stderr, "rapid synth: %lld stations, %lld miniSEED files, arrivals in %s/arrivals.csv\n",
               static_cast<long long>(o.stations), static_cast<long long>(files), f.output.c_str());
  return kExitOk;
}

}  // namespace

CommandAction AddSynthCommand(CLI::App* app) {
  auto f = std::make_shared<SynthFlags>();
  CLI::App* cmd = app->add_subcommand("synth", "Write a synthetic archive with planted P and S arrivals");
  cmd->add_option("--output", f->output, "Output folder")->required()->check(NotEmpty("a folder"));
  cmd->add_option("--stations", f->stations, "Number of stations")
      ->capture_default_str()
      ->check(WholeNumberAtLeast(1, kMaxSynthStations));
  cmd->add_option("--duration", f->duration, "Length of the archive (e.g. 10m, 1h)")
      ->capture_default_str()
      ->check(DurationValue(/*zero_ok=*/false, /*whole_seconds=*/true, kMaxSynthDurationS * kNanosPerSecond));
  cmd->add_option("--chunk", f->chunk, "Chunk length")
      ->capture_default_str()
      ->check(DurationValue(/*zero_ok=*/false, /*whole_seconds=*/true));
  cmd->add_option("--overlap", f->overlap, "Chunk overlap (chunk i starts this much early)")
      ->capture_default_str()
      ->check(DurationValue(/*zero_ok=*/true, /*whole_seconds=*/true));
  cmd->add_option("--rates", f->rates, "Sampling rates in Hz, cycled over stations")->capture_default_str()->check(RatesValue());
  cmd->add_option("--start", f->start, "Start time (ISO-8601; default 2024-01-01T00:00:00Z)")->check(IsoTimeValue());
  cmd->add_option("--seed", f->seed, "Random seed")->capture_default_str()->check(WholeNumberAtLeast(0));
  return [f] { return Synth(*f); };
}

}  // namespace rapid
