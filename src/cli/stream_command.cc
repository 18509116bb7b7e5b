// `rapid stream`: real-time picking from a SeedLink server (live/stream_session.h, docs/realtime.md).
#include <spdlog/spdlog.h>

#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "cli/config_file.h"
#include "cli/option_checks.h"
#include "cli/plan_flags.h"
#include "cli/stop_signals.h"
#include "core/exit_codes.h"
#include "engine/time_chunks.h"
#include "live/stream_session.h"

namespace rapid {

namespace {

struct StreamFlags {
  std::string seedlink, replay, model = "phasenet", weights, output, state, start, formats = "csv", protocol = "auto";
  std::string serve, port_file;
  std::vector<std::string> selects;
  std::string max_batch_delay = "5ms", max_channel_lag = "30s", resample_piece = "10s", config;
  PlanFlags plan;
  double p_threshold = 0, s_threshold = 0, speed = 1.0;
};

Status OptionsOf(const StreamFlags& f, StreamOptions* o) {
  if (f.seedlink.empty() == f.replay.empty()) return Status::InvalidArgument("give one of --seedlink HOST:PORT and --replay ARCHIVE");
  o->replay = f.replay;
  o->replay_speed = f.speed;
  if (!f.seedlink.empty()) {
    const size_t colon = f.seedlink.rfind(':');
    if (colon == std::string::npos || colon == 0 || f.seedlink.find_first_not_of("0123456789", colon + 1) != std::string::npos ||
        colon + 1 == f.seedlink.size()) {
      return Status::InvalidArgument("--seedlink " + f.seedlink + ": expected HOST:PORT");
    }
    o->seedlink.host = f.seedlink.substr(0, colon);
    o->seedlink.port = std::stoi(f.seedlink.substr(colon + 1));
  }
  o->seedlink.allow_v4 = f.protocol != "3.1";
  for (const std::string& s : f.selects.empty() ? std::vector<std::string>{"*_*"} : f.selects) {
    StreamSelector sel;
    RAPID_RETURN_IF_ERROR(ParseStreamSelector(s, &sel));
    o->seedlink.selectors.push_back(sel);
  }
  if (!f.start.empty()) o->seedlink.start = *ParseIsoTime(f.start);
  o->model = f.model;
  o->weights = f.weights;
  o->output_dir = f.output;
  o->state_path = f.state;
  o->jsonl_stdout = f.formats.find("jsonl") != std::string::npos;
  o->quakeml = f.formats.find("quakeml") != std::string::npos;
  if (!f.serve.empty()) {
    o->serve.emplace();
    SplitListenAddress(f.serve, &o->serve->host, &o->serve->port);
  }
  if (!f.port_file.empty() && f.serve.empty()) return Status::InvalidArgument("--port-file needs --serve");
  o->port_file = f.port_file;
  o->max_batch_delay_ms = *ParseDurationNs(f.max_batch_delay) / 1000000;
  o->max_channel_lag_ns = *ParseDurationNs(f.max_channel_lag);
  const NanoTime piece_ns = *ParseDurationNs(f.resample_piece);
  if (piece_ns % kNanosPerSecond != 0) return Status::InvalidArgument("--resample-piece " + f.resample_piece + ": whole seconds");
  o->resample = piece_ns == 0 ? ResamplePieces() : ResamplePieces::LowLatency(piece_ns / kNanosPerSecond);
  if (f.p_threshold > 0) o->thresholds["P"] = f.p_threshold;
  if (f.s_threshold > 0) o->thresholds["S"] = f.s_threshold;
  return PlanRequestOf(f.plan, &o->plan);
}

int Stream(const StreamFlags& flags) {
  StreamOptions opts;
  if (Status s = OptionsOf(flags, &opts); !s.ok()) {
    spdlog::error("{}", s.message());
    return kExitUsage;
  }
  const std::atomic<bool>* stop = InstallStopHandlers();
  StreamSummary summary;
  const Status s = RunStream(opts, *stop, &summary);
  if (!s.ok() && summary.wall_s == 0) {  // refused before streaming: the reason alone
    spdlog::error("{}", s.message());
    return kExitUsage;
  }
  std::fprintf(stderr,
               "rapid stream: %lld records from %lld stations, %lld picks; %lld connections, %lld repeated and %lld "
               "malformed packets, %lld records dropped (late or repeated), %lld undecodable; %lld picks already written before "
               "a restart\n",
               static_cast<long long>(summary.records), static_cast<long long>(summary.stations),
               static_cast<long long>(summary.picks), static_cast<long long>(summary.connections),
               static_cast<long long>(summary.duplicates), static_cast<long long>(summary.malformed),
               static_cast<long long>(summary.dropped_records), static_cast<long long>(summary.undecodable),
               static_cast<long long>(summary.repeats_dropped));
  if (summary.latency_picks > 0) {
    std::fprintf(stderr, "rapid stream: pick latency p50 %.3f s, p99 %.3f s over %lld picks; CPU %.1f s in %.1f s wall\n",
                 summary.latency_p50_s, summary.latency_p99_s, static_cast<long long>(summary.latency_picks), summary.cpu_s,
                 summary.wall_s);
  } else {
    std::fprintf(stderr, "rapid stream: CPU %.1f s in %.1f s wall\n", summary.cpu_s, summary.wall_s);
  }
  if (!s.ok()) {
    spdlog::error("{}", s.message());
    return s.code() == Status::Code::kIOError ? kExitInternal : kExitUsage;
  }
  return kExitOk;
}

}  // namespace

CommandAction AddStreamCommand(CLI::App* app) {
  auto flags = std::make_shared<StreamFlags>();
  CLI::App* cmd = app->add_subcommand("stream", "Pick phases in real time from a SeedLink server");
  cmd->add_option("--seedlink", flags->seedlink, "SeedLink server, HOST:PORT")->check(NotEmpty("HOST:PORT"));
  cmd->add_option("--replay", flags->replay, "Instead of a server: an archive (any rapid run reads) played as if live")
      ->check(NotEmpty("an archive"));
  cmd->add_option("--speed", flags->speed, "Replay speed: 1 real time, 10 ten times faster")->capture_default_str()->check(
      CLI::PositiveNumber);
  cmd->add_option("--select", flags->selects, "Streams: NET_STA[:LOCCHA], * and ? wildcards (repeat for more; default *_*)")
      ->check(NotEmpty("a NET_STA pattern"));
  cmd->add_option("--output", flags->output, "Folder of the picks (DIR/picks/YYYY-MM-DD.csv)")->required()->check(NotEmpty("a folder"));
  cmd->add_option("--model", flags->model, "Model (rapid models lists them)")->capture_default_str()->check(NotEmpty("a model name"));
  cmd->add_option("--weights", flags->weights, "SeisBench weight file(s)")->check(NotEmpty("a weight file"));
  cmd->add_option("--state", flags->state, "State file: where each station and instrument takes up after a restart (also after a kill)")
      ->check(NotEmpty("a file"));
  cmd->add_option("--start", flags->start, "Without a state: ask the server for its data from this time (else new data)")
      ->check(IsoTimeValue());
  cmd->add_option("--format", flags->formats,
                  "Outputs besides the daily CSV: jsonl (one JSON pick per line on stdout), quakeml (DIR/picks/YYYY-MM-DD.xml)")
      ->capture_default_str()
      ->check(ListOf({"csv", "jsonl", "quakeml"}));
  cmd->add_option("--serve", flags->serve,
                  "Also serve the picks as Server-Sent Events (GET /v1/picks/stream) and metrics (GET /metrics) on "
                  "HOST:PORT (loopback unless told otherwise; port 0: any free port)")
      ->check(ListenValue());
  cmd->add_option("--port-file", flags->port_file, "With --serve: write the port listened on to this file once listening")
      ->check(NotEmpty("a file"));
  cmd->add_option("--seedlink-protocol", flags->protocol, "auto (4.0 when offered, else 3.1) or 3.1")
      ->capture_default_str()
      ->check(OneOf({"auto", "3.1"}));
  cmd->add_option("--max-channel-lag", flags->max_channel_lag,
                  "A channel this far behind its station's others stops holding them back (it is taken as absent)")
      ->capture_default_str()
      ->check(DurationValue(/*zero_ok=*/false));
  cmd->add_option("--resample-piece", flags->resample_piece,
                  "Channels at another rate than the model's are resampled in pieces this long (whole seconds), so their "
                  "picks wait at most twice this; 0: as rapid run (exact, but Fourier rates such as 40 or 250 Hz then wait "
                  "for hours)")
      ->capture_default_str()
      ->check(DurationValue(/*zero_ok=*/true));
  cmd->add_option("--max-batch-delay", flags->max_batch_delay, "Longest wait of a window for its batch to fill")
      ->capture_default_str()
      ->check(DurationValue(/*zero_ok=*/true));
  cmd->add_option("--p-threshold", flags->p_threshold, "Threshold of the P label (default: the model's)")->check(ThresholdValue());
  cmd->add_option("--s-threshold", flags->s_threshold, "Threshold of the S label (default: the model's)")->check(ThresholdValue());
  AddPlanFlags(cmd, &flags->plan, "");
  cmd->add_option("--config", flags->config, "TOML file of flags (keys are flag names); flags given here win")
      ->check(NotEmpty("a TOML file"));
  return [flags, cmd] { return ApplyConfigFlag(flags->config, cmd) ? Stream(*flags) : kExitUsage; };
}

}  // namespace rapid
