#include <spdlog/spdlog.h>

#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "engine/time_chunks.h"
#include "synth/synth.h"

namespace rapid {

namespace {

struct SynthFlags {
  std::string output, duration = "10m", chunk = "60m", overlap = "0s", rates = "100", start;
  int64_t stations = 3;
  uint64_t seed = 1;
};

// Whole seconds of a duration such as "90s", "10m", "2h"; -1 when malformed or not whole seconds.
int64_t DurationS(const std::string& text) {
  auto ns = ParseDurationNs(text);
  if (!ns || *ns < 0 || *ns % kNanosPerSecond != 0) return -1;
  return *ns / kNanosPerSecond;
}

int Synth(const SynthFlags& f) {
  SynthOptions o;
  o.stations = f.stations;
  o.seed = f.seed;
  o.duration_s = DurationS(f.duration);
  o.chunk_s = DurationS(f.chunk);
  o.overlap_s = DurationS(f.overlap);
  if (o.duration_s <= 0 || o.chunk_s <= 0 || o.overlap_s < 0) {
    spdlog::error("synth: --duration, --chunk and --overlap take values like 90s, 10m, 2h");
    return 1;
  }
  if (!f.start.empty()) {
    auto t = ParseIsoTime(f.start);
    if (!t) {
      spdlog::error("synth: --start: cannot read '{}' as ISO-8601", f.start);
      return 1;
    }
    o.start = *t;
  }
  if (Status s = ParseRatesHz(f.rates, &o.rates_hz); !s.ok()) {
    spdlog::error("synth: --rates: {}", s.message());
    return 1;
  }
  int64_t files = 0;
  Status s = WriteSynthArchive(f.output, o, &files);
  if (!s.ok()) {
    spdlog::error("{}", s.message());
    return s.code() == Status::Code::kInvalidArgument ? 1 : 3;
  }
  std::fprintf(stderr, "rapid synth: %lld stations, %lld miniSEED files, arrivals in %s/arrivals.csv\n",
               static_cast<long long>(o.stations), static_cast<long long>(files), f.output.c_str());
  return 0;
}

}  // namespace

CommandAction AddSynthCommand(CLI::App* app) {
  auto f = std::make_shared<SynthFlags>();
  CLI::App* cmd = app->add_subcommand("synth", "Write a synthetic archive with planted P and S arrivals");
  cmd->add_option("--output", f->output, "Output folder")->required();
  cmd->add_option("--stations", f->stations, "Number of stations")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--duration", f->duration, "Length of the archive (e.g. 10m, 1h)")->capture_default_str();
  cmd->add_option("--chunk", f->chunk, "Chunk length")->capture_default_str();
  cmd->add_option("--overlap", f->overlap, "Chunk overlap (chunk i starts this much early)")->capture_default_str();
  cmd->add_option("--rates", f->rates, "Sampling rates in Hz, cycled over stations")->capture_default_str();
  cmd->add_option("--start", f->start, "Start time (ISO-8601; default 2024-01-01T00:00:00Z)");
  cmd->add_option("--seed", f->seed, "Random seed")->capture_default_str();
  return [f] { return Synth(*f); };
}

}  // namespace rapid
