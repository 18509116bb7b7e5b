// The routes of `rapid serve` (docs/serve.md): requests from the HTTP server (serve/http_server.h)
// to the served models (serve/model_service.h), answers in JSON, CSV or miniSEED, and metrics.
//   POST /v1/models/{model}/picks      miniSEED body → picks (JSON; picks.csv with Accept: text/csv)
//   POST /v1/models/{model}/annotate   miniSEED body → probability traces (float32 miniSEED; JSON)
//   GET  /v1/models, /healthz, /readyz, /metrics
// Errors are answers: 400 (malformed miniSEED or parameter; the body's good stations are still
// picked), 401 (token configured and not given), 404, 405, 413 (a request that needs more than the
// whole request memory), 429, 503 (draining, or the request memory is full), 504. A request's
// memory lease (HttpRequest::memory) is resized before decoding and after, and goes with its answer.
// Thread safety: Handle from any server thread; BeginDrain from one.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "serve/http_server.h"
#include "serve/metrics.h"
#include "serve/model_service.h"

namespace rapid {

struct ServeAppOptions {
  std::string auth_token;  // empty: no token asked for
  std::chrono::milliseconds request_timeout{10000};
  // The HTTP server's HttpServerOptions::request_memory, reported in /metrics (may be null).
  const ByteBudget* request_memory = nullptr;
};

class ServeApp {
 public:
  // The services are owned; their observers are set to feed the metrics.
  ServeApp(ServeAppOptions opts, std::vector<std::unique_ptr<ModelService>> models);
  ~ServeApp();

  void Handle(HttpRequest&& request, HttpServer::Respond respond);
  // /readyz answers 503 and new picking requests are refused from now on.
  void BeginDrain();
  // Waits until every admitted request is answered, at most `timeout`; true when all were.
  bool Drain(std::chrono::milliseconds timeout);
  // Stops the models (their threads end; requests still open are answered or dropped). REQUIRES:
  // the server stopped (Handle is not called any more) but not destroyed: late answers are posted
  // to its stopped threads, which discard them.
  void Shutdown();

 private:
  void HandlePicking(HttpRequest&& request, ModelService* model, bool annotate, HttpServer::Respond respond);
  HttpResponse ModelsList() const;

  ServeAppOptions opts_;
  ServeMetrics metrics_;  // before models_: the models' threads report to it until they end
  std::atomic<bool> draining_{false};
  std::map<std::string, std::unique_ptr<ModelService>> models_;
};

}  // namespace rapid
