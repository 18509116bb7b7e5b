// The HTTP front of `rapid stream` (live/live_http.h) and the streamed responses of the HTTP server
// under it (serve/http_server.h), over real loopback sockets: picks delivered to every subscriber in
// order, departed and too-slow subscribers dropped without stalling the publisher, keepalives,
// /metrics, the subscriber limit, bad requests, and a prompt Stop with connections open.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "http_client.h"
#include "raw_http_client.h"
#include "live/live_http.h"
#include "serve/http_server.h"

namespace rapid {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using testing::Http;
using testing::HttpAnswer;
using testing::RawClient;

bool WaitFor(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!done()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

constexpr char kStream[] = "/v1/picks/stream";

std::string PickLine(int i, size_t padding = 0) {
  char seq[16];
  std::snprintf(seq, sizeof seq, "%08d", i);
  return std::string(R"({"trace_id":"TX.PB01.00.HH","phase":"P","seq":")") + seq + "\",\"pad\":\"" +
         std::string(padding, 'x') + "\"}";
}

std::string PickEvent(const std::string& line) { return "event: pick\ndata: " + line + "\n\n"; }

LiveHttpOptions TestOptions() {
  LiveHttpOptions o;
  o.port = 0;
  o.keepalive_period = std::chrono::hours(1);  // none unless a test asks
  return o;
}

TEST(LiveHttpTest, SubscribersGetEveryPickInOrderAndDepartedOnesAreDropped) {
  LiveHttpFront front(TestOptions(), nullptr);
  ASSERT_TRUE(front.Start().ok());
  RawClient a(front.port(), kStream), b(front.port(), kStream);
  ASSERT_TRUE(WaitFor([&] { return front.subscribers() == 2; }, 5000ms));
  std::string expected;
  for (int i = 0; i < 50; ++i) {
    front.PublishPick(PickLine(i));
    expected += PickEvent(PickLine(i));
  }
  for (RawClient* c : {&a, &b}) {
    ASSERT_TRUE(c->ReadUntil([&](const RawClient& r) { return r.body().size() >= expected.size(); }, 5000ms));
    EXPECT_EQ(c->body(), expected);
    const std::string head = Lower(c->head());
    EXPECT_EQ(head.rfind("http/1.1 200 ok\r\n", 0), 0u) << head;
    EXPECT_NE(head.find("\r\ncontent-type: text/event-stream\r\n"), std::string::npos) << head;
    EXPECT_NE(head.find("\r\ncache-control: no-cache\r\n"), std::string::npos) << head;
    EXPECT_NE(head.find("\r\nconnection: close\r\n"), std::string::npos) << head;
    EXPECT_EQ(head.find("content-length"), std::string::npos) << head;
  }
  a.Close();
  ASSERT_TRUE(WaitFor([&] { return front.subscribers() == 1; }, 5000ms)) << "a departed subscriber is kept";
  const std::string more = PickLine(50) + "\n" + PickLine(51);  // two lines: two data fields
  front.PublishPick(more);
  expected += "event: pick\ndata: " + PickLine(50) + "\ndata: " + PickLine(51) + "\n\n";
  ASSERT_TRUE(b.ReadUntil([&](const RawClient& r) { return r.body().size() >= expected.size(); }, 5000ms));
  EXPECT_EQ(b.body(), expected);
  EXPECT_EQ(front.subscribers(), 1);
}

TEST(LiveHttpTest, ASubscriberThatDoesNotReadIsDroppedWithoutStallingTheOthers) {
  LiveHttpOptions o = TestOptions();
  o.max_subscriber_queue_bytes = 512 * 1024;
  LiveHttpFront front(o, nullptr);
  ASSERT_TRUE(front.Start().ok());
  RawClient slow(front.port(), kStream, /*rcvbuf_bytes=*/4096);
  RawClient fast(front.port(), kStream);
  ASSERT_TRUE(WaitFor([&] { return front.subscribers() == 2; }, 5000ms));
  constexpr int kPicks = 8000;  // ~8 MB: far over the slow one's bound and its sockets' buffers
  const int64_t event_bytes = static_cast<int64_t>(PickEvent(PickLine(0, 960)).size());
  ASSERT_TRUE(fast.ReadUntil([](const RawClient& r) { return r.HeadComplete(); }, 5000ms));
  const int64_t head_bytes = static_cast<int64_t>(fast.head().size());
  fast.ForgetText();  // from here on, text() is the body
  const int64_t total_bytes = head_bytes + kPicks * event_bytes;
  std::thread reader([&] {
    fast.ReadUntil([&](const RawClient& r) { return r.received_bytes() >= total_bytes; }, 60000ms);
  });
  double slowest_publish_s = 0;
  for (int i = 0; i < kPicks; ++i) {
    // The fast subscriber keeps up (never more than 128 KiB behind), so only the slow one can be over.
    WaitFor([&] { return (i * event_bytes + head_bytes) - fast.received_bytes() < 128 * 1024; }, 10000ms);
    const auto t0 = Clock::now();
    front.PublishPick(PickLine(i, 960));
    slowest_publish_s = std::max(slowest_publish_s, std::chrono::duration<double>(Clock::now() - t0).count());
  }
  reader.join();
  std::string expected;
  for (int i = 0; i < kPicks; ++i) expected += PickEvent(PickLine(i, 960));
  EXPECT_TRUE(fast.text() == expected) << "the fast subscriber got " << fast.text().size() << " of " << expected.size()
                                       << " bytes";
  EXPECT_TRUE(WaitFor([&] { return front.subscribers() == 1; }, 5000ms)) << "the slow subscriber is kept";
  EXPECT_LT(slowest_publish_s, 0.25);
  // The slow client finds its connection ended after a prefix of the stream.
  ASSERT_TRUE(slow.ReadUntilClosed(10000ms));
  const std::string got = slow.body();
  EXPECT_LT(got.size(), expected.size());
  EXPECT_EQ(got, expected.substr(0, got.size()));
}

TEST(LiveHttpTest, KeepaliveCommentsArriveEveryPeriod) {
  LiveHttpOptions o = TestOptions();
  o.keepalive_period = 50ms;
  LiveHttpFront front(o, nullptr);
  ASSERT_TRUE(front.Start().ok());
  RawClient c(front.port(), kStream);
  const auto t0 = Clock::now();
  const std::string keepalive = ": keepalive\n\n";
  ASSERT_TRUE(c.ReadUntil([&](const RawClient& r) { return r.body().size() >= 2 * keepalive.size(); }, 3000ms))
      << c.text();
  EXPECT_LT(Clock::now() - t0, 2000ms);
  const std::string body = c.body();
  ASSERT_EQ(body.size() % keepalive.size(), 0u) << body;
  for (size_t at = 0; at < body.size(); at += keepalive.size()) EXPECT_EQ(body.substr(at, keepalive.size()), keepalive);
}

// Every sample line of Prometheus text: "name{labels}" → value; each sample's family declared first.
std::map<std::string, std::string> ParseSamples(const std::string& text) {
  std::map<std::string, std::string> samples;
  std::map<std::string, std::string> types;
  size_t begin = 0;
  while (begin < text.size()) {
    const size_t end = text.find('\n', begin);
    const std::string line = text.substr(begin, end - begin);
    begin = end == std::string::npos ? text.size() : end + 1;
    if (line.rfind("# TYPE ", 0) == 0) {
      const std::string rest = line.substr(7);
      types[rest.substr(0, rest.find(' '))] = rest.substr(rest.find(' ') + 1);
      continue;
    }
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    const std::string key = line.substr(0, space);
    const std::string family = key.substr(0, key.find('{'));
    EXPECT_TRUE(types.count(family)) << "no # TYPE before " << line;
    samples[key] = line.substr(space + 1);
  }
  return samples;
}

LiveStreamMetrics SampleMetrics() {
  LiveStreamMetrics m;
  m.stations = {{"TX_PB01", 2.5, 120, 3}, {"TX_\"Q\\1", std::nan(""), 7, 0}};
  m.records_total = 127;
  m.picks_total = 42;
  m.reconnects_total = 2;
  m.dropped_records_total = 3;
  m.duplicate_packets_total = 4;
  m.malformed_packets_total = 5;
  m.records_per_s = 12.5;
  m.picks_per_s = 0.25;
  return m;
}

TEST(LiveHttpMetricsTest, RendersCountersGaugesAndEscapedStationLabels) {
  LiveStreamMetrics m = SampleMetrics();
  m.stations.push_back({"TX_NL\nX", 0.125, 1, 1});
  const std::string text = RenderLiveMetrics(m);
  const auto s = ParseSamples(text);
  EXPECT_EQ(s.at("rapid_stream_records_total"), "127");
  EXPECT_EQ(s.at("rapid_stream_picks_total"), "42");
  EXPECT_EQ(s.at("rapid_stream_reconnects_total"), "2");
  EXPECT_EQ(s.at("rapid_stream_dropped_records_total"), "3");
  EXPECT_EQ(s.at("rapid_stream_duplicate_packets_total"), "4");
  EXPECT_EQ(s.at("rapid_stream_malformed_packets_total"), "5");
  EXPECT_EQ(s.at("rapid_stream_records_per_second"), "12.5");
  EXPECT_EQ(s.at("rapid_stream_picks_per_second"), "0.25");
  EXPECT_EQ(s.at("rapid_stream_station_lag_seconds{station=\"TX_PB01\"}"), "2.5");
  EXPECT_EQ(s.at("rapid_stream_station_records_total{station=\"TX_PB01\"}"), "120");
  EXPECT_EQ(s.at("rapid_stream_station_dropped_records_total{station=\"TX_PB01\"}"), "3");
  EXPECT_EQ(s.at(R"(rapid_stream_station_records_total{station="TX_\"Q\\1"})"), "7");
  EXPECT_EQ(s.at(R"(rapid_stream_station_lag_seconds{station="TX_NL\nX"})"), "0.125");
  EXPECT_EQ(s.count(R"(rapid_stream_station_lag_seconds{station="TX_\"Q\\1"})"), 0u) << "an unknown lag is absent";
  EXPECT_NE(text.find("# TYPE rapid_stream_records_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE rapid_stream_station_lag_seconds gauge\n"), std::string::npos);
  EXPECT_NE(text.find("# HELP rapid_stream_picks_total "), std::string::npos);
}

TEST(LiveHttpMetricsTest, MetricsRouteServesTheProvidersValuesAndRates) {
  std::atomic<int64_t> records{1000};
  LiveHttpFront front(TestOptions(), [&] {
    LiveStreamMetrics m = SampleMetrics();
    m.records_total = records.load();
    return m;
  });
  ASSERT_TRUE(front.Start().ok());
  const HttpAnswer first = Http(front.port(), "GET", "/metrics");
  ASSERT_EQ(first.status, 200) << first.error;
  EXPECT_EQ(first.headers.at("content-type").rfind("text/plain; version=0.0.4", 0), 0u);
  auto s = ParseSamples(first.body);
  EXPECT_EQ(s.at("rapid_stream_records_total"), "1000");
  EXPECT_EQ(s.at("rapid_stream_picks_total"), "42");
  EXPECT_EQ(s.at("rapid_stream_records_per_second"), "0") << "no rate from one sample";
  EXPECT_EQ(s.at("rapid_stream_subscribers"), "0");
  EXPECT_EQ(s.at(R"(rapid_stream_station_dropped_records_total{station="TX_\"Q\\1"})"), "0");
  const auto t0 = Clock::now();
  std::this_thread::sleep_for(200ms);
  records = 2000;
  s = ParseSamples(Http(front.port(), "GET", "/metrics").body);
  const double elapsed_s = std::chrono::duration<double>(Clock::now() - t0).count();
  const double rate = std::stod(s.at("rapid_stream_records_per_second"));
  EXPECT_LE(rate, 1000 / 0.2 + 1e-6);
  EXPECT_GE(rate, 1000 / (elapsed_s + 0.5));
}

TEST(LiveHttpRateMeterTest, RateOverTheWindowFromInjectedTimes) {
  constexpr int64_t kS = 1'000'000'000;
  LiveRateMeter meter(10 * kS);
  EXPECT_EQ(meter.Sample(0, 0), 0.0);                   // one sample: no rate
  EXPECT_DOUBLE_EQ(meter.Sample(1 * kS, 100), 100.0);   // from t=0
  EXPECT_DOUBLE_EQ(meter.Sample(5 * kS, 500), 100.0);   // from t=0
  EXPECT_DOUBLE_EQ(meter.Sample(12 * kS, 1700), 1600.0 / 11);  // from t=1, the newest ≥ 10 s old
  EXPECT_DOUBLE_EQ(meter.Sample(30 * kS, 1700), 0.0);   // from t=12: nothing new
  EXPECT_DOUBLE_EQ(meter.Sample(31 * kS, 1800), 100.0 / 19);
  EXPECT_EQ(meter.Sample(32 * kS, 10), 0.0) << "a total that fell gives no rate";
  EXPECT_EQ(meter.Sample(20 * kS, 20), 0.0) << "a sample from the past is taken as now";

  // Called very often: the samples are merged, and the rate is still the total's slope.
  LiveRateMeter busy(10 * kS);
  for (int64_t t_ms = 0; t_ms <= 60'000; ++t_ms) {
    const double rate = busy.Sample(t_ms * 1'000'000, t_ms * 3);  // 3000 per second
    if (t_ms >= 1) ASSERT_NEAR(rate, 3000.0, 1e-6) << t_ms;
  }
}

TEST(LiveHttpTest, SubscribersOverTheLimitGet503) {
  LiveHttpOptions o = TestOptions();
  o.max_subscribers = 1;
  LiveHttpFront front(o, nullptr);
  ASSERT_TRUE(front.Start().ok());
  auto first = std::make_unique<RawClient>(front.port(), kStream);
  ASSERT_TRUE(WaitFor([&] { return front.subscribers() == 1; }, 5000ms));
  const HttpAnswer refused = Http(front.port(), "GET", kStream);
  EXPECT_EQ(refused.status, 503);
  EXPECT_NE(nlohmann::json::parse(refused.body).value("error", ""), "") << refused.body;
  EXPECT_EQ(refused.headers.count("retry-after"), 1u);
  EXPECT_EQ(Http(front.port(), "GET", "/healthz").status, 200) << "other routes still answer";
  first.reset();
  ASSERT_TRUE(WaitFor([&] { return front.subscribers() == 0; }, 5000ms));
  RawClient second(front.port(), kStream);
  ASSERT_TRUE(second.ReadUntil([](const RawClient& r) { return r.HeadComplete(); }, 5000ms));
  EXPECT_EQ(second.head().rfind("HTTP/1.1 200", 0), 0u) << second.head();
}

TEST(LiveHttpTest, GarbageGets400AndTheServerGoesOn) {
  LiveHttpFront front(TestOptions(), nullptr);
  ASSERT_TRUE(front.Start().ok());
  RawClient garbage(front.port(), std::string("\x16\x03\x01 not http at all\r\n\r\n"));
  ASSERT_TRUE(garbage.ReadUntilClosed(5000ms));
  EXPECT_EQ(garbage.text().rfind("HTTP/1.1 400", 0), 0u) << garbage.text();
  const HttpAnswer health = Http(front.port(), "GET", "/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body, "ok");
}

TEST(LiveHttpTest, UnknownPathsGet404AndOtherMethods405) {
  LiveHttpFront front(TestOptions(), nullptr);
  ASSERT_TRUE(front.Start().ok());
  const HttpAnswer missing = Http(front.port(), "GET", "/v1/picks");
  EXPECT_EQ(missing.status, 404);
  EXPECT_NE(nlohmann::json::parse(missing.body).value("error", ""), "") << missing.body;
  for (const auto& [method, path] : std::vector<std::pair<std::string, std::string>>{
           {"POST", "/metrics"}, {"DELETE", "/healthz"}, {"POST", kStream}, {"PUT", kStream}}) {
    const HttpAnswer a = Http(front.port(), method, path, method == "GET" ? "" : "{}");
    EXPECT_EQ(a.status, 405) << method << " " << path;
    EXPECT_EQ(a.headers.count("allow") ? a.headers.at("allow") : "", "GET") << method << " " << path;
    EXPECT_NE(nlohmann::json::parse(a.body).value("error", ""), "") << a.body;
  }
  EXPECT_EQ(front.subscribers(), 0);
}

TEST(LiveHttpTest, StopWithOpenStreamsIsPromptAndEndsThem) {
  LiveHttpOptions o = TestOptions();
  o.max_subscriber_queue_bytes = 16 << 20;  // `stuck` stays subscribed with megabytes queued
  LiveHttpFront front(o, nullptr);
  ASSERT_TRUE(front.Start().ok());
  std::vector<std::unique_ptr<RawClient>> clients;
  for (int i = 0; i < 3; ++i) clients.push_back(std::make_unique<RawClient>(front.port(), kStream));
  RawClient stuck(front.port(), kStream, /*rcvbuf_bytes=*/4096);  // never reads
  ASSERT_TRUE(WaitFor([&] { return front.subscribers() == 4; }, 5000ms));
  std::vector<std::thread> readers;
  std::atomic<int> ended{0};
  for (auto& c : clients) {
    readers.emplace_back([&c, &ended] { ended += c->ReadUntilClosed(5000ms) ? 1 : 0; });
  }
  // 6 MB: more than `stuck` and its sockets can take (the kernel's send buffer is at most 4 MiB).
  constexpr int kPicks = 3000;
  for (int i = 0; i < kPicks; ++i) front.PublishPick(PickLine(i, 2000));
  EXPECT_EQ(front.subscribers(), 4);
  const auto t0 = Clock::now();
  front.Stop();
  EXPECT_LT(Clock::now() - t0, 2000ms);
  ASSERT_TRUE(stuck.ReadUntilClosed(5000ms)) << "the stuck stream did not end";
  EXPECT_LT(stuck.body().size(), kPicks * PickEvent(PickLine(0, 2000)).size());
  for (std::thread& t : readers) t.join();
  EXPECT_EQ(ended.load(), 3) << "a stream did not end";
  EXPECT_LT(Clock::now() - t0, 3000ms);
  for (auto& c : clients) {
    EXPECT_EQ(c->body().size(), kPicks * PickEvent(PickLine(0, 2000)).size()) << "what was published is delivered";
  }
  EXPECT_EQ(front.subscribers(), 0);
  front.PublishPick(PickLine(101));  // after Stop: nothing to send to, nothing happens
  const auto t1 = Clock::now();
  front.Stop();
  EXPECT_LT(Clock::now() - t1, 100ms);
}

TEST(LiveHttpTest, StartOnABusyPortNamesIt) {
  LiveHttpFront first(TestOptions(), nullptr);
  ASSERT_TRUE(first.Start().ok());
  LiveHttpOptions o = TestOptions();
  o.port = first.port();
  LiveHttpFront second(o, nullptr);
  const Status s = second.Start();
  EXPECT_EQ(s.code(), Status::Code::kIOError);
  EXPECT_NE(s.message().find("127.0.0.1:" + std::to_string(first.port())), std::string::npos) << s.message();
}

// The server's streamed responses directly: the read timeout does not cut them, a departed client
// is noticed without a write, StopAccepting ends them after what is queued.
TEST(LiveHttpServerStreamTest, StreamOutlivesTheReadTimeoutAndNoticesTheClientLeaving) {
  std::mutex mu;
  std::vector<std::shared_ptr<HttpStreamWriter>> writers;
  HttpServerOptions opts;
  opts.port = 0;
  opts.read_timeout = 100ms;
  HttpServer server(opts, [&](HttpRequest&&, HttpServer::Respond respond) {
    HttpResponse r;
    r.content_type = "text/plain";
    r.body = "first\n";
    r.on_stream = [&](std::shared_ptr<HttpStreamWriter> w) {
      std::lock_guard<std::mutex> lock(mu);
      writers.push_back(std::move(w));
    };
    respond(std::move(r));
  });
  ASSERT_TRUE(server.Start().ok());
  auto writer_count = [&] {
    std::lock_guard<std::mutex> lock(mu);
    return writers.size();
  };
  auto client = std::make_unique<RawClient>(server.port(), "/a");
  ASSERT_TRUE(WaitFor([&] { return writer_count() == 1; }, 5000ms));
  std::this_thread::sleep_for(400ms);  // four read timeouts
  EXPECT_TRUE(writers[0]->Write("late\n"));
  ASSERT_TRUE(client->ReadUntil([](const RawClient& r) { return r.body() == "first\nlate\n"; }, 5000ms))
      << client->text();
  EXPECT_EQ(server.pending(), 0);
  EXPECT_EQ(server.streams(), 1);
  client.reset();
  EXPECT_TRUE(WaitFor([&] { return !writers[0]->open(); }, 5000ms)) << "the departed client is not noticed";
  EXPECT_FALSE(writers[0]->Write("nobody\n"));
  EXPECT_TRUE(WaitFor([&] { return server.streams() == 0; }, 5000ms));

  RawClient other(server.port(), "/b");
  ASSERT_TRUE(WaitFor([&] { return writer_count() == 2; }, 5000ms));
  EXPECT_TRUE(writers[1]->Write("queued\n"));
  server.StopAccepting();
  EXPECT_FALSE(writers[1]->Write("after\n"));
  ASSERT_TRUE(other.ReadUntilClosed(5000ms));
  EXPECT_EQ(other.body(), "first\nqueued\n");
  const auto t0 = Clock::now();
  server.Stop();
  EXPECT_LT(Clock::now() - t0, 1000ms);
}

TEST(LiveHttpServerStreamTest, StopEndsOpenStreamsAndTheirWriters) {
  std::mutex mu;
  std::shared_ptr<HttpStreamWriter> writer;
  HttpServerOptions opts;
  opts.port = 0;
  auto server = std::make_unique<HttpServer>(opts, [&](HttpRequest&& request, HttpServer::Respond respond) {
    HttpResponse r;
    if (request.path == "/stream") {
      r.on_stream = [&](std::shared_ptr<HttpStreamWriter> w) {
        std::lock_guard<std::mutex> lock(mu);
        writer = std::move(w);
      };
    }
    respond(std::move(r));
  });
  ASSERT_TRUE(server->Start().ok());
  EXPECT_EQ(Http(server->port(), "GET", "/plain").status, 200) << "ordinary answers are unchanged";
  {  // HEAD: the head alone, and a writer already closed
    RawClient head(server->port(), "HEAD /stream HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_TRUE(head.ReadUntilClosed(5000ms));
    EXPECT_EQ(head.text().rfind("HTTP/1.1 200", 0), 0u) << head.text();
    EXPECT_TRUE(head.HeadComplete() && head.body().empty()) << head.text();
    std::lock_guard<std::mutex> lock(mu);
    ASSERT_NE(writer, nullptr);
    EXPECT_FALSE(writer->open());
    EXPECT_FALSE(writer->Write("x"));
    writer.reset();
  }
  RawClient client(server->port(), "/stream");
  ASSERT_TRUE(WaitFor([&] {
    std::lock_guard<std::mutex> lock(mu);
    return writer != nullptr;
  }, 5000ms));
  const auto t0 = Clock::now();
  server->Stop();
  EXPECT_LT(Clock::now() - t0, 1000ms);
  EXPECT_FALSE(writer->open());
  EXPECT_FALSE(writer->Write("x"));
  server.reset();  // the writer outlives the server harmlessly
  EXPECT_FALSE(writer->Write("y"));
  EXPECT_TRUE(client.ReadUntilClosed(2000ms));
}

}  // namespace
}  // namespace rapid
