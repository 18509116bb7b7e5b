// `rapid fetch`: an archive from an FDSN web service (fetch/fetch_run.h, docs/fetch.md).
#include <spdlog/spdlog.h>

#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "cli/option_checks.h"
#include "cli/stop_signals.h"
#include "core/exit_codes.h"
#include "engine/time_chunks.h"
#include "fetch/fetch_run.h"

namespace rapid {

namespace {

struct FetchFlags {
  std::string host, start, end, networks = "*", stations = "*", locations = "*", channels = "*";
  std::string chunk = "60m", overlap = "0s", output, layout = "chunks", auth;
  int64_t jobs = 4, tries = 6;
  std::string progress = "auto";
};

int Fetch(const FetchFlags& f) {
  FetchOptions o;
  o.host = f.host;
  o.start = *ParseIsoTime(f.start);
  o.end = *ParseIsoTime(f.end);
  if (o.end <= o.start) {
    spdlog::error("--end {} is not after --start {}", f.end, f.start);
    return kExitUsage;
  }
  o.networks = f.networks;
  o.stations = f.stations;
  o.locations = f.locations;
  o.channels = f.channels;
  o.layout = f.layout == "sds" ? FetchLayout::kSds : FetchLayout::kChunks;
  o.chunk_ns = *ParseDurationNs(f.chunk);
  o.overlap_ns = *ParseDurationNs(f.overlap);
  if (o.overlap_ns >= o.chunk_ns) {
    spdlog::error("--overlap {} must be shorter than --chunk {}", f.overlap, f.chunk);
    return kExitUsage;
  }
  o.output_dir = f.output;
  o.jobs = static_cast<int>(f.jobs);
  o.auth = f.auth;
  o.retry.max_tries = static_cast<int>(f.tries);
  o.progress = f.progress != "off";
  o.stop = InstallStopHandlers();
  FetchReport report;
  if (Status s = RunFetch(o, &report); !s.ok()) {
    spdlog::error("{}", s.message());
    return report.slices == 0 && report.channels == 0 ? kExitUsage : kExitInternal;
  }
  for (const FetchError& e : report.errors) spdlog::error("{}: {}", e.what, e.message);
  std::fprintf(stderr,
               "rapid fetch: %lld channels, %lld files (%lld already there), %lld written (%.1f MB) in %lld requests "
               "(%lld retries), %zu without data, %zu errors in %.1f s → %s\n",
               static_cast<long long>(report.channels), static_cast<long long>(report.slices),
               static_cast<long long>(report.already_done), static_cast<long long>(report.written),
               static_cast<double>(report.bytes) / 1e6, static_cast<long long>(report.requests),
               static_cast<long long>(report.retries), report.no_data.size(), report.errors.size(), report.wall_s,
               f.output.c_str());
  if (report.channels == 0) spdlog::warn("the station service lists no channel for these patterns and times");
  if (report.interrupted) return kExitInterrupted;
  return report.errors.empty() ? kExitOk : kExitUnitsFailed;
}

}  // namespace

CommandAction AddFetchCommand(CLI::App* app) {
  auto flags = std::make_shared<FetchFlags>();
  CLI::App* cmd = app->add_subcommand("fetch", "Build an archive from an FDSN web service, in a layout rapid run reads");
  cmd->add_option("--host", flags->host, "FDSN web service, e.g. https://service.earthscope.org (the /fdsnws/… paths are added)")
      ->required()
      ->check(NotEmpty("a URL"));
  cmd->add_option("--start", flags->start, "Start time (ISO-8601 UTC)")->required()->check(IsoTimeValue());
  cmd->add_option("--end", flags->end, "End time (ISO-8601 UTC)")->required()->check(IsoTimeValue());
  cmd->add_option("--networks", flags->networks, "Network codes, comma-separated, * and ? wildcards")->capture_default_str()
      ->check(NotEmpty("network codes"));
  cmd->add_option("--stations", flags->stations, "Station codes")->capture_default_str()->check(NotEmpty("station codes"));
  cmd->add_option("--locations", flags->locations, "Location codes (-- for the empty one)")->capture_default_str()
      ->check(NotEmpty("location codes"));
  cmd->add_option("--channels", flags->channels, "Channel codes, e.g. HH?,HN?")->capture_default_str()
      ->check(NotEmpty("channel codes"));
  cmd->add_option("--chunk", flags->chunk, "Time chunk of the timechunk layout")->capture_default_str()
      ->check(DurationValue(/*zero_ok=*/false));
  cmd->add_option("--overlap", flags->overlap, "Each chunk but the first starts this much early (as EQCCTPro's)")
      ->capture_default_str()
      ->check(DurationValue(/*zero_ok=*/true));
  cmd->add_option("--layout", flags->layout, "chunks (EQCCTPro's <t0>_<t1>/<STA>/ folders) or sds (YEAR/NET/STA/CHA.D/)")
      ->capture_default_str()
      ->check(OneOf({"chunks", "sds"}));
  cmd->add_option("--output", flags->output, "Archive folder (a rerun completes it)")->required()->check(NotEmpty("a folder"));
  cmd->add_option("--jobs", flags->jobs, "Requests at once")->capture_default_str()->check(WholeNumberAtLeast(1, 64));
  cmd->add_option("--tries", flags->tries, "Tries of a request the service refuses for now (429, 5xx) or cuts short")
      ->capture_default_str()
      ->check(WholeNumberAtLeast(1, 100));
  cmd->add_option("--auth", flags->auth, "user:password for restricted data (dataselect queryauth)")->check(NotEmpty("user:password"));
  cmd->add_option("--progress", flags->progress, "auto (a line every 10 s) or off")->capture_default_str()->check(OneOf({"auto", "off"}));
  return [flags] { return Fetch(*flags); };
}

}  // namespace rapid
