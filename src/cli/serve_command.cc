// `rapid serve`: online picking over HTTP (serve/serve_app.h, docs/serve.md).
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>

#include "cli/commands.h"
#include "cli/config_file.h"
#include "cli/option_checks.h"
#include "cli/plan_flags.h"
#include "cli/stop_signals.h"
#include "core/atomic_file.h"
#include "core/exit_codes.h"
#include "dispatch/resource_probe.h"
#include "dsp/fft.h"
#include "io/mseed_reader.h"
#include "engine/time_chunks.h"
#include "serve/http_server.h"
#include "serve/serve_app.h"

namespace rapid {

namespace {

struct ServeFlags {
  std::string listen = "127.0.0.1:8080", models = "phasenet", weights;
  PlanFlags plan;
  int64_t max_queue_windows = 0, max_connections = 256, io_threads = 2, compute_nice = 5;
  std::string max_batch_delay = "5ms", request_timeout = "10s", max_body = "64MiB", drain_timeout = "30s";
  std::string max_request_memory;  // empty: RequestMemoryBytes's default
  std::string auth_token_file, port_file, config;
};

// The request memory (docs/serve.md): --max-request-memory, else enough to decode a body of
// --max-body and at least 2 GiB, but at most a quarter of the memory (--max-ram, else what the
// machine has available), so that with the FFT plan cache it leaves the model room in a 1 GiB
// container (at half, `rapid serve` was refused there). InvalidArgument when the machine cannot
// be probed.
Status RequestMemoryBytes(const ServeFlags& flags, int64_t* out) {
  if (!flags.max_request_memory.empty()) {
    *out = *ParseByteSize(flags.max_request_memory);
    return Status::OK();
  }
  int64_t memory = flags.plan.max_ram.empty() ? 0 : *ParseByteSize(flags.plan.max_ram);
  if (memory == 0) {
    MachineResources machine;
    RAPID_RETURN_IF_ERROR(ProbeMachine(&machine));
    memory = UsableMemoryBytes(machine);
  }
  const int64_t decode_largest_body = (1 + kDecodeBytesPerInputByte) * *ParseByteSize(flags.max_body);
  *out = std::min(std::max(int64_t{2} << 30, decode_largest_body), memory / 4);
  return Status::OK();
}

std::vector<std::string> SplitCommas(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

std::chrono::milliseconds Ms(const std::string& duration) {
  return std::chrono::milliseconds(*ParseDurationNs(duration) / 1000000);
}

HttpServerOptions HttpOptionsOf(const ServeFlags& flags) {
  HttpServerOptions http;
  SplitListenAddress(flags.listen, &http.host, &http.port);
  http.threads = static_cast<int>(flags.io_threads);
  http.max_body_bytes = *ParseByteSize(flags.max_body);
  http.max_connections = flags.max_connections;
  http.read_timeout = Ms(flags.request_timeout);
  return http;
}

// One service per --model, planned, loaded and warmed up, each leaving its share of the request
// memory and of the FFT plan cache unplanned. InvalidArgument naming the flag.
Status LoadServices(const ServeFlags& flags, int64_t request_memory_bytes,
                    std::vector<std::unique_ptr<ModelService>>* services) {
  const std::vector<std::string> names = SplitCommas(flags.models);
  if (!SplitCommas(flags.weights).empty() && names.size() != 1) {
    return Status::InvalidArgument("--weights names one model's weights; with several models use NAME:TAG or the bundled weights");
  }
  for (const std::string& name : names) {
    ModelServiceOptions o;
    o.model = name;
    o.weights = flags.weights;
    o.max_batch_delay_ms = *ParseDurationNs(flags.max_batch_delay) / 1000000;
    o.compute_nice = static_cast<int>(flags.compute_nice);
    o.max_queue_windows = flags.max_queue_windows;
    RAPID_RETURN_IF_ERROR(PlanRequestOf(flags.plan, &o.plan));
    o.plan.ram_share = 1.0 / static_cast<double>(names.size());
    o.plan.preprocess_bytes = (request_memory_bytes + kFftPlanCacheBytes) / static_cast<int64_t>(names.size());
    std::unique_ptr<ModelService> service;
    if (Status s = ModelService::Create(o, &service); !s.ok()) {
      return Status::InvalidArgument("--model " + name + ": " + s.message() +
                                     " (its preprocessing share is the request memory, " +
                                     FormatBytes(request_memory_bytes) +
                                     ", and the FFT plan cache; see --max-request-memory)");
    }
    spdlog::info("{}: {} instance(s), batch {}, max queue {} windows", service->name(), service->plan().instances,
                 service->plan().batch_size, service->max_queue_windows());
    services->push_back(std::move(service));
  }
  return Status::OK();
}

// After the stop signal: /readyz says 503, no new connections, every accepted request answered
// (within `timeout`), then everything stops. True when every request was answered.
bool DrainAndStop(std::chrono::milliseconds timeout, ServeApp* app, HttpServer* server) {
  const auto drain_start = std::chrono::steady_clock::now();
  app->BeginDrain();
  server->StopAccepting();
  const bool drained = app->Drain(timeout);
  while (server->pending() > 0 && std::chrono::steady_clock::now() - drain_start < timeout) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const bool answered = drained && server->pending() == 0;
  server->Stop();
  app->Shutdown();  // the models' threads end while the server's objects still exist
  std::fprintf(stderr, "rapid serve: %s in %.2f s\n", answered ? "drained" : "drain timed out",
               std::chrono::duration<double>(std::chrono::steady_clock::now() - drain_start).count());
  return answered;
}

int Serve(const ServeFlags& flags) {
  ServeAppOptions app_opts;
  app_opts.request_timeout = Ms(flags.request_timeout);
  if (!flags.auth_token_file.empty()) {
    std::ifstream in(flags.auth_token_file);
    if (!in || !std::getline(in, app_opts.auth_token) || app_opts.auth_token.empty()) {
      spdlog::error("--auth-token-file {}: cannot read a token (one line) from it", flags.auth_token_file);
      return kExitUsage;
    }
  }
  int64_t request_memory_bytes = 0;
  if (Status s = RequestMemoryBytes(flags, &request_memory_bytes); !s.ok()) {
    spdlog::error("{}", s.message());
    return kExitUsage;
  }
  ByteBudget request_memory(request_memory_bytes);
  std::vector<std::unique_ptr<ModelService>> services;
  if (Status s = LoadServices(flags, request_memory_bytes, &services); !s.ok()) {
    spdlog::error("{}", s.message());
    return kExitUsage;
  }
  const int64_t largest_body = request_memory_bytes / (1 + kDecodeBytesPerInputByte);
  spdlog::info("request memory {}: bodies up to {} can be decoded{}", FormatBytes(request_memory_bytes),
               FormatBytes(largest_body),
               largest_body < *ParseByteSize(flags.max_body) ? " (larger ones below --max-body get 413)" : "");
  app_opts.request_memory = &request_memory;
  ServeApp app(app_opts, std::move(services));
  HttpServerOptions http = HttpOptionsOf(flags);
  http.request_memory = &request_memory;
  HttpServer server(http,
                    [&app](HttpRequest&& r, HttpServer::Respond respond) { app.Handle(std::move(r), std::move(respond)); });
  const std::atomic<bool>* stop = InstallStopHandlers();
  if (Status s = server.Start(); !s.ok()) {
    spdlog::error("{}", s.message());
    return kExitUsage;
  }
  const std::string address =
      "http://" + flags.listen.substr(0, flags.listen.rfind(':')) + ":" + std::to_string(server.port());
  std::fprintf(stderr, "rapid serve: listening on %s\n", address.c_str());
  if (!flags.port_file.empty()) {
    if (Status s = WriteFileAtomically(flags.port_file, std::to_string(server.port()) + "\n"); !s.ok()) {
      spdlog::error("--port-file: {}", s.message());
    }
  }
  while (!stop->load()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  return DrainAndStop(Ms(flags.drain_timeout), &app, &server) ? kExitOk : kExitInternal;
}


}  // namespace

CommandAction AddServeCommand(CLI::App* app) {
  auto flags = std::make_shared<ServeFlags>();
  CLI::App* cmd = app->add_subcommand("serve", "Pick phases online: miniSEED over HTTP, dynamic batching across requests");
  cmd->add_option("--listen", flags->listen, "Address to listen on (loopback unless told otherwise; port 0: any free port)")
      ->capture_default_str()
      ->check(ListenValue());
  cmd->add_option("--model", flags->models, "Models to serve, comma-separated (rapid models lists them)")
      ->capture_default_str()
      ->check(NotEmpty("a model name (rapid models lists them)"));
  cmd->add_option("--weights", flags->weights, "SeisBench weight file(s) of the one model served")->check(NotEmpty("a weight file"));
  AddPlanFlags(cmd, &flags->plan, "per model");
  cmd->add_option("--max-batch-delay", flags->max_batch_delay,
                  "Longest wait of the oldest queued window for its batch to fill, e.g. 5ms (0: full batches only)")
      ->capture_default_str()
      ->check(DurationValue(/*zero_ok=*/true));
  cmd->add_option("--max-queue-windows", flags->max_queue_windows,
                  "Windows admitted and not yet answered, per model, beyond which requests get 429 (default: about 0.25 s of "
                  "the instances' work, at least 4 batches)")
      ->check(WholeNumberAtLeast(1));
  cmd->add_option("--request-timeout", flags->request_timeout,
                  "Longest time to receive a request, and to answer it once received (then 408 / 504)")
      ->capture_default_str()
      ->check(DurationValue(/*zero_ok=*/false));
  cmd->add_option("--max-body", flags->max_body, "Largest request body (then 413), e.g. 64MiB")
      ->capture_default_str()
      ->check(ByteSizeValue());
  cmd->add_option("--max-request-memory", flags->max_request_memory,
                  "Memory that requests in progress may hold: bodies being received and decoded (up to " +
                      std::to_string(1 + kDecodeBytesPerInputByte) +
                      "x their size), decoded requests with their resampling and answers; beyond it 503, or 413 for "
                      "a request that needs more alone (default: what a body of --max-body needs, at least 2GiB, at "
                      "most a quarter of --max-ram or of the memory available)")
      ->check(ByteSizeValue());
  cmd->add_option("--max-connections", flags->max_connections, "Open connections beyond which new ones get 503")
      ->capture_default_str()
      ->check(WholeNumberAtLeast(1, 100000));
  cmd->add_option("--io-threads", flags->io_threads, "HTTP threads")->capture_default_str()->check(WholeNumberAtLeast(1, 64));
  cmd->add_option("--compute-nice", flags->compute_nice,
                  "Nice increment of the model instances' threads: above 0 the HTTP threads answer first under load "
                  "(0: the instances compete with them, and with other processes, as equals)")
      ->capture_default_str()
      ->check(WholeNumberAtLeast(0, 19));
  cmd->add_option("--auth-token-file", flags->auth_token_file,
                  "File whose first line is the bearer token every request but /healthz and /readyz must carry")
      ->check(NotEmpty("a file"));
  cmd->add_option("--drain-timeout", flags->drain_timeout,
                  "On SIGTERM/SIGINT: longest wait for accepted requests to be answered")
      ->capture_default_str()
      ->check(DurationValue(/*zero_ok=*/true));
  cmd->add_option("--port-file", flags->port_file, "Write the port listened on to this file once listening")
      ->check(NotEmpty("a file"));
  cmd->add_option("--config", flags->config, "TOML file of flags (keys are flag names); flags given here win")
      ->check(NotEmpty("a TOML file"));
  return [flags, cmd] { return ApplyConfigFlag(flags->config, cmd) ? Serve(*flags) : kExitUsage; };
}

}  // namespace rapid
