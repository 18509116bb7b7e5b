#include "live/live_http.h"

#include "serve/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

namespace rapid {

namespace {

constexpr char kStreamPath[] = "/v1/picks/stream";
constexpr char kKeepalive[] = ": keepalive\n\n";
// Beyond the subscribers, so that /metrics and /healthz still answer when the stream is full.
constexpr int64_t kSpareConnections = 32;
// How long Stop lets closed SSE connections write what they hold before cutting them.
constexpr std::chrono::milliseconds kStopGrace{500};


void Family(const std::string& name, const char* type, const char* help, std::string* out) {
  *out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

std::string StationSample(const std::string& name, const std::string& station, const std::string& value) {
  return name + "{station=\"" + PrometheusLabel(station) + "\"} " + value + "\n";
}

HttpResponse ErrorResponse(int status, const std::string& message) {
  HttpResponse r;
  r.status = status;
  r.body = nlohmann::json{{"error", message}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

int64_t MonotonicNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// One SSE event: each line of `data` its own `data:` field (the client joins them with "\n").
std::string PickEvent(const std::string& data) {
  std::string event = "event: pick\n";
  size_t begin = 0;
  while (true) {
    const size_t end = data.find_first_of("\r\n", begin);
    event += "data: " + data.substr(begin, end == std::string::npos ? std::string::npos : end - begin) + "\n";
    if (end == std::string::npos) break;
    begin = end + (data.compare(end, 2, "\r\n") == 0 ? 2 : 1);
  }
  return event + "\n";
}

}  // namespace

std::string RenderLiveMetrics(const LiveStreamMetrics& m) {
  struct Counter {
    const char* name;
    const char* help;
    int64_t value;
  };
  const Counter counters[] = {
      {"rapid_stream_records_total", "Data records received and fed to the pipeline.", m.records_total},
      {"rapid_stream_picks_total", "Picks written.", m.picks_total},
      {"rapid_stream_reconnects_total", "SeedLink connections made again after one was lost.", m.reconnects_total},
      {"rapid_stream_dropped_records_total", "Records dropped as repeats or too late.", m.dropped_records_total},
      {"rapid_stream_duplicate_packets_total", "SeedLink packets received twice.", m.duplicate_packets_total},
      {"rapid_stream_malformed_packets_total", "SeedLink packets that could not be read.", m.malformed_packets_total},
  };
  std::string out;
  for (const Counter& c : counters) {
    Family(c.name, "counter", c.help, &out);
    out += std::string(c.name) + " " + std::to_string(c.value) + "\n";
  }
  Family("rapid_stream_records_per_second", "gauge", "Records received per second over the last ~10 s.", &out);
  out += "rapid_stream_records_per_second " + PrometheusNumber(m.records_per_s) + "\n";
  Family("rapid_stream_picks_per_second", "gauge", "Picks written per second over the last ~10 s.", &out);
  out += "rapid_stream_picks_per_second " + PrometheusNumber(m.picks_per_s) + "\n";
  Family("rapid_stream_subscribers", "gauge", "Clients of the Server-Sent Events pick stream.", &out);
  out += "rapid_stream_subscribers " + std::to_string(m.subscribers) + "\n";
  Family("rapid_stream_station_lag_seconds", "gauge",
         "Wall-clock time minus the end of the newest sample received, by station.", &out);
  for (const LiveStationStatus& s : m.stations) {
    if (!std::isnan(s.lag_s)) out += StationSample("rapid_stream_station_lag_seconds", s.station, PrometheusNumber(s.lag_s));
  }
  Family("rapid_stream_station_records_total", "counter", "Data records received and fed, by station.", &out);
  for (const LiveStationStatus& s : m.stations) {
    out += StationSample("rapid_stream_station_records_total", s.station, std::to_string(s.records));
  }
  Family("rapid_stream_station_dropped_records_total", "counter", "Records dropped as repeats or too late, by station.",
         &out);
  for (const LiveStationStatus& s : m.stations) {
    out += StationSample("rapid_stream_station_dropped_records_total", s.station, std::to_string(s.dropped_records));
  }
  return out;
}

LiveRateMeter::LiveRateMeter(int64_t window_ns) : window_ns_(window_ns) {}

double LiveRateMeter::Sample(int64_t now_ns, int64_t total) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!samples_.empty()) now_ns = std::max(now_ns, samples_.back().first);
  // The newest sample matters only as a later base: one too close to its predecessor is replaced.
  const size_t n = samples_.size();
  if (n >= 2 && now_ns - samples_[n - 2].first < window_ns_ / 64) {
    samples_.back() = {now_ns, total};
  } else {
    samples_.emplace_back(now_ns, total);
  }
  // The base is the newest sample at least a window old: the older ones are let go.
  while (samples_.size() >= 2 && samples_[1].first <= now_ns - window_ns_) samples_.pop_front();
  const auto [base_ns, base_total] = samples_.front();
  if (now_ns <= base_ns || total < base_total) return 0.0;
  return static_cast<double>(total - base_total) / (static_cast<double>(now_ns - base_ns) / 1e9);
}

LiveHttpFront::LiveHttpFront(LiveHttpOptions opts, MetricsProvider metrics)
    : opts_(std::move(opts)), metrics_(std::move(metrics)) {}

LiveHttpFront::~LiveHttpFront() { Stop(); }

Status LiveHttpFront::Start() {
  HttpServerOptions http;
  http.host = opts_.host;
  http.port = opts_.port;
  http.threads = 1;  // every handler is short; the writes are asynchronous
  http.max_body_bytes = 64 * 1024;
  http.max_connections = opts_.max_subscribers + kSpareConnections;
  http.read_timeout = opts_.read_timeout;
  http.max_stream_queue_bytes = opts_.max_subscriber_queue_bytes;
  http.listen_flag = "--serve";
  server_ = std::make_unique<HttpServer>(http, [this](HttpRequest&& request, HttpServer::Respond respond) {
    Handle(std::move(request), std::move(respond));
  });
  Status started = server_->Start();
  if (!started.ok()) {
    server_.reset();
    return started;
  }
  port_ = server_->port();
  keepalive_ = std::thread([this] { KeepaliveLoop(); });
  return Status::OK();
}

int LiveHttpFront::port() const { return port_; }

void LiveHttpFront::Handle(HttpRequest&& request, HttpServer::Respond respond) {
  const std::string& path = request.path;
  const bool get = request.method == "GET";
  const bool get_or_head = get || request.method == "HEAD";
  auto not_allowed = [&](const char* allow) {
    HttpResponse r = ErrorResponse(405, request.method + " is not allowed on " + path + " (use " + allow + ")");
    r.headers.push_back({"Allow", allow});
    respond(std::move(r));
  };
  if (path == "/healthz") {
    if (!get_or_head) return not_allowed("GET");
    HttpResponse r;
    r.content_type = "text/plain; charset=utf-8";
    r.body = "ok";
    return respond(std::move(r));
  }
  if (path == "/metrics") {
    if (!get_or_head) return not_allowed("GET");
    return SendMetrics(std::move(respond));
  }
  if (path == kStreamPath) {
    if (!get) return not_allowed("GET");
    return Subscribe(std::move(respond));
  }
  respond(ErrorResponse(404, "no route " + path + " (this server has " + kStreamPath + ", /metrics and /healthz)"));
}

void LiveHttpFront::Subscribe(HttpServer::Respond respond) {
  {
    // The slot is taken now, so that concurrent requests cannot overshoot the limit.
    std::lock_guard<std::mutex> lock(mu_);
    std::erase_if(subscribers_, [](const std::shared_ptr<HttpStreamWriter>& w) { return !w->open(); });
    const int64_t taken = static_cast<int64_t>(subscribers_.size()) + reserved_;
    if (stopping_ || taken >= opts_.max_subscribers) {
      HttpResponse r = ErrorResponse(503, "the pick stream already has its " + std::to_string(opts_.max_subscribers) +
                                              " subscribers");
      r.headers.push_back({"Retry-After", "5"});
      respond(std::move(r));
      return;
    }
    reserved_ += 1;
  }
  HttpResponse r;
  r.content_type = "text/event-stream";
  r.headers = {{"Cache-Control", "no-cache"}, {"X-Accel-Buffering", "no"}};
  r.on_stream = [this](std::shared_ptr<HttpStreamWriter> writer) {
    std::lock_guard<std::mutex> lock(mu_);
    reserved_ -= 1;
    if (writer->open()) subscribers_.push_back(std::move(writer));
  };
  respond(std::move(r));
}

void LiveHttpFront::SendMetrics(HttpServer::Respond respond) {
  LiveStreamMetrics m = metrics_ ? metrics_() : LiveStreamMetrics{};
  const int64_t now_ns = MonotonicNanos();
  m.records_per_s = records_rate_.Sample(now_ns, m.records_total);
  m.picks_per_s = picks_rate_.Sample(now_ns, m.picks_total);
  m.subscribers = subscribers();
  HttpResponse r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.body = RenderLiveMetrics(m);
  respond(std::move(r));
}

void LiveHttpFront::PublishPick(const std::string& json_line) { Broadcast(PickEvent(json_line)); }

void LiveHttpFront::Broadcast(const std::string& chunk) {
  std::lock_guard<std::mutex> lock(mu_);
  std::erase_if(subscribers_, [&chunk](const std::shared_ptr<HttpStreamWriter>& w) { return !w->Write(chunk); });
}

int LiveHttpFront::subscribers() {
  std::lock_guard<std::mutex> lock(mu_);
  std::erase_if(subscribers_, [](const std::shared_ptr<HttpStreamWriter>& w) { return !w->open(); });
  return static_cast<int>(subscribers_.size());
}

void LiveHttpFront::KeepaliveLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_cv_.wait_for(lock, opts_.keepalive_period, [this] { return stopping_; })) {
    std::erase_if(subscribers_, [](const std::shared_ptr<HttpStreamWriter>& w) { return !w->Write(kKeepalive); });
  }
}

void LiveHttpFront::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (keepalive_.joinable()) keepalive_.join();
  if (server_) {
    // Closing lets each SSE connection write what it holds and end cleanly; a client too slow for
    // that is cut by Stop after the grace period.
    server_->StopAccepting();
    const auto deadline = std::chrono::steady_clock::now() + kStopGrace;
    while (server_->streams() > 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    server_->Stop();
    server_.reset();  // closes the sockets still open
  }
  std::lock_guard<std::mutex> lock(mu_);
  subscribers_.clear();
}

}  // namespace rapid
