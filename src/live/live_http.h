// The HTTP front of `rapid stream` (`--serve HOST:PORT`), on serve/http_server.h:
//   GET /v1/picks/stream  Server-Sent Events: each published pick as `event: pick` + `data: <JSON>`,
//                         and a `: keepalive` comment every keepalive period;
//   GET /metrics          Prometheus text exposition 0.0.4 of the live stream (RenderLiveMetrics);
//   GET /healthz          200 "ok".
// Other paths are answered 404, other methods 405 (JSON error bodies, as `rapid serve`'s). A slow
// or departed subscriber is dropped; publishing never waits for a client.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/status.h"
#include "serve/http_server.h"

namespace rapid {

struct LiveStationStatus {
  std::string station;  // SeedLink's station name, "NET_STA"
  // Wall-clock now minus the end time of the newest sample received from the station, in seconds;
  // NaN when unknown (no sample yet), and then not rendered.
  double lag_s = std::numeric_limits<double>::quiet_NaN();
  int64_t records = 0;          // data records received and fed
  int64_t dropped_records = 0;  // repeats and late records
};

// A snapshot of the live stream, taken by the metrics provider when /metrics is asked for.
struct LiveStreamMetrics {
  std::vector<LiveStationStatus> stations;  // rendered in this order
  int64_t records_total = 0;
  int64_t picks_total = 0;
  int64_t reconnects_total = 0;
  int64_t dropped_records_total = 0;
  int64_t duplicate_packets_total = 0;
  int64_t malformed_packets_total = 0;
  // Filled by LiveHttpFront when rendering (whatever the provider put there): the rates of the
  // totals above over the last ~10 s (LiveRateMeter), and the SSE subscribers connected.
  double records_per_s = 0.0;
  double picks_per_s = 0.0;
  int64_t subscribers = 0;
};

// Prometheus text exposition format 0.0.4: # HELP and # TYPE lines, then the samples; label values
// escaped as the format asks (backslash, double quote, newline).
std::string RenderLiveMetrics(const LiveStreamMetrics& metrics);

// The rate of a growing total over roughly the last `window_ns`, from samples of the total taken
// when asked (e.g. at each /metrics request), so nothing needs a timer.
// Thread safety: every method may be called from any thread.
class LiveRateMeter {
 public:
  explicit LiveRateMeter(int64_t window_ns = 10 * int64_t{1'000'000'000});
  // Adds the sample (now_ns: a monotonic clock's nanoseconds) and returns the total's change per
  // second since the newest earlier sample at least window_ns old (the oldest kept when none is).
  // 0 when there is no earlier sample, no time has passed, or the total fell. Samples closer than
  // window_ns / 64 are merged, so memory stays bounded however often it is called. A sample older
  // than the newest is taken as at the newest's time.
  double Sample(int64_t now_ns, int64_t total);

 private:
  const int64_t window_ns_;
  std::mutex mu_;                                      // guards samples_
  std::deque<std::pair<int64_t, int64_t>> samples_;  // (time ns, total), oldest first
};

struct LiveHttpOptions {
  std::string host = "127.0.0.1";  // loopback unless the user says otherwise
  int port = 8080;                 // 0: any free port (port() says which)
  int max_subscribers = 64;        // SSE clients at once; more are answered 503
  // A comment line sent to every subscriber so that proxies and clients see a live connection;
  // shorter finds departed clients sooner, at a few bytes each time.
  std::chrono::milliseconds keepalive_period{15000};
  // Bytes a subscriber may leave unread before it is dropped: more lets a client pause longer, at
  // that much memory per subscriber.
  int64_t max_subscriber_queue_bytes = int64_t{1} << 20;
  std::chrono::milliseconds read_timeout{10000};  // for reading a request
};

// Thread safety: Start/Stop from one thread; PublishPick, subscribers() and port() from any. The
// metrics provider is called on the server's thread, concurrently with anything else.
class LiveHttpFront {
 public:
  using MetricsProvider = std::function<LiveStreamMetrics()>;

  LiveHttpFront(LiveHttpOptions opts, MetricsProvider metrics);
  ~LiveHttpFront();  // Stop()
  LiveHttpFront(const LiveHttpFront&) = delete;
  LiveHttpFront& operator=(const LiveHttpFront&) = delete;

  // Binds, listens and starts the server and the keepalive thread. InvalidArgument: the host is
  // not an IP address; IOError: the port cannot be bound (the message names host:port and why).
  // REQUIRES: called once.
  Status Start();
  int port() const;  // the bound port once Start succeeded
  // Sends `json_line` to every subscriber as `event: pick\ndata: <json_line>\n\n` (a line break in it
  // starts another `data:` line, which SSE clients join back with "\n"). Never waits for a client:
  // a subscriber that is gone or over its queue bound is dropped.
  void PublishPick(const std::string& json_line);
  int subscribers();  // open SSE connections (departed ones are pruned first)
  // Ends the SSE connections (clients see the end of the stream), stops the server and joins the
  // threads; returns within about half a second whatever the clients do. Idempotent.
  void Stop();

 private:
  void Handle(HttpRequest&& request, HttpServer::Respond respond);
  void Subscribe(HttpServer::Respond respond);
  void SendMetrics(HttpServer::Respond respond);
  // Writes `chunk` to every subscriber, dropping those whose writer refuses it.
  void Broadcast(const std::string& chunk);
  void KeepaliveLoop();

  const LiveHttpOptions opts_;
  const MetricsProvider metrics_;
  std::unique_ptr<HttpServer> server_;
  int port_ = 0;
  LiveRateMeter records_rate_, picks_rate_;

  std::mutex mu_;  // guards subscribers_, reserved_ and stopping_
  std::vector<std::shared_ptr<HttpStreamWriter>> subscribers_;
  int reserved_ = 0;  // subscriptions admitted whose stream has not started yet
  bool stopping_ = false;
  std::condition_variable stop_cv_;  // wakes the keepalive thread at Stop
  std::thread keepalive_;
};

}  // namespace rapid
