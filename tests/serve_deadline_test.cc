// `rapid serve` under more work than it can do in time: the queue's limit answered 429 at once,
// requests past --request-timeout answered 504, and the windows of a request past its deadline
// dropped rather than computed for nobody, each window counted once as computed or cancelled.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "http_client.h"
#include "io/mseed_writer.h"
#include "models/registry.h"
#include "serve/model_service.h"
#include "serve_test_util.h"
#include "test_util.h"

namespace rapid {
namespace {

using testing::Http;
using testing::HttpAnswer;
using testing::kMseed;
using testing::MetricValue;
using testing::RequestMemoryHeldOnceSettled;
using testing::ServeProcess;
using testing::StationBody;
using testing::Stations;

// Windows computed and windows cancelled by the server at `port` (/metrics).
std::pair<int64_t, int64_t> ComputedAndCancelled(int port) {
  const std::string metrics = Http(port, "GET", "/metrics").body;
  return {MetricValue(metrics, "rapid_windows_total"), MetricValue(metrics, "rapid_windows_cancelled_total")};
}

// The same once they add up to `windows` (a request answered 504 while being computed may still
// have a running batch to finish: on two busy cores one torch forward took 1.3 s), or after two
// minutes.
std::pair<int64_t, int64_t> ComputedAndCancelledOnceSettled(int port, int64_t windows) {
  auto [computed, cancelled] = ComputedAndCancelled(port);
  const auto settle_by = std::chrono::steady_clock::now() + std::chrono::minutes(2);
  while (computed + cancelled != windows && std::chrono::steady_clock::now() < settle_by) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::tie(computed, cancelled) = ComputedAndCancelled(port);
  }
  return {computed, cancelled};
}

// More than the queue holds: the excess is answered 429 with Retry-After at once, the admitted ones
// 200; a request that waits past --request-timeout gets 504.
TEST(ServeTest, OverloadIsAnsweredWith429And504) {
  ServeProcess server({"--instances", "1", "--batch-size", "1", "--max-queue-windows", "40", "--request-timeout", "60s"});
  ASSERT_GT(server.port(), 0);
  std::string all;
  for (const std::string& s : Stations()) all += StationBody(s);  // ~140 windows
  std::vector<HttpAnswer> answers(6);
  std::vector<std::thread> clients;
  for (size_t i = 0; i < answers.size(); ++i) {
    clients.emplace_back([&, i] { answers[i] = Http(server.port(), "POST", "/v1/models/phasenet/picks", all, kMseed); });
  }
  for (std::thread& t : clients) t.join();
  int ok = 0, too_many = 0;
  int64_t body_windows = 0;  // of one `all` body, from an answer
  for (const HttpAnswer& a : answers) {
    if (a.status == 200) {
      ok += 1;
      body_windows = nlohmann::json::parse(a.body).at("windows").get<int64_t>();
    }
    if (a.status == 429) {
      too_many += 1;
      EXPECT_EQ(a.headers.at("retry-after"), "1");
    }
  }
  std::string statuses;
  for (const HttpAnswer& a : answers) statuses += std::to_string(a.status) + " " + a.body.substr(0, 200) + "\n";
  // The first is admitted alone (larger than the limit, into an empty queue); the others arrive
  // while it computes (a slow machine could finish it before the last arrives: then that one is
  // admitted too).
  EXPECT_GE(ok, 1) << statuses;
  EXPECT_GE(too_many, 4) << statuses;
  EXPECT_EQ(ok + too_many, 6) << statuses;
  EXPECT_EQ(server.Terminate(), 0);

  // 504: a queue long enough for six such bodies, one instance, and a 150 ms timeout: the first is
  // computed (~0.15 s here; 504 too on a slower machine), the last ones wait past the timeout in
  // the FIFO and are never fed. On the torch backend, so that computing a body takes clearly longer
  // than the server takes to read the next one: on oneDNN (~0.06 s a body) a loaded machine could
  // read the bodies no faster than it computed them, and none would wait.
  ServeProcess slow({"--instances", "1", "--batch-size", "1", "--max-queue-windows", "100000", "--request-timeout",
                     "150ms", "--backend", "torch"});
  ASSERT_GT(slow.port(), 0);
  std::vector<HttpAnswer> late(6);
  clients.clear();
  for (size_t i = 0; i < late.size(); ++i) {
    clients.emplace_back([&, i] { late[i] = Http(slow.port(), "POST", "/v1/models/phasenet/picks", all, kMseed); });
  }
  for (std::thread& t : clients) t.join();
  int answered = 0, timed_out = 0, never_fed = 0;
  for (const HttpAnswer& a : late) {
    answered += a.status == 200;
    timed_out += a.status == 504;
    never_fed += a.status == 504 && a.body.find("(not computed)") != std::string::npos;
  }
  std::string late_statuses;
  for (const HttpAnswer& a : late) late_statuses += std::to_string(a.status) + " " + a.body.substr(0, 300) + "\n";
  EXPECT_GE(timed_out, 1) << late_statuses;
  EXPECT_GE(never_fed, 1) << late_statuses;  // waited in the queue past the timeout: its windows were dropped
  EXPECT_EQ(answered + timed_out, 6);
  // Every admitted window was computed or cancelled, never both (a request fed before its deadline
  // has its queued windows dropped too); the last running batch may still be finishing.
  ASSERT_GT(body_windows, 0);
  const auto [computed, cancelled] = ComputedAndCancelledOnceSettled(slow.port(), 6 * body_windows);
  EXPECT_EQ(computed + cancelled, 6 * body_windows) << computed << " computed, " << cancelled << " cancelled";
  EXPECT_GT(cancelled, 0);
  // Requests answered 504, fed or not, give their request memory back once their windows are done.
  EXPECT_EQ(RequestMemoryHeldOnceSettled(slow.port()), 0);
  EXPECT_EQ(slow.Terminate(), 0);
}

// A day of noise on the three channels of a 100 Hz station.
std::vector<TraceSegment> NoiseDay() {
  std::vector<TraceSegment> channels;
  uint32_t state = 12345;
  for (const char* code : {"HHZ", "HHN", "HHE"}) {
    TraceSegment s;
    s.id = {"XX", "DAY", "00", code};
    s.start = 1704067200LL * kNanosPerSecond;  // 2024-01-01
    s.rate_hz = 100.0;
    s.samples.resize(8'640'000);
    for (double& v : s.samples) {
      state = state * 1664525u + 1013904223u;
      v = static_cast<double>(state >> 22) - 512.0;
    }
    channels.push_back(std::move(s));
  }
  return channels;
}

// A request past its deadline while its one long instrument is still being fed (a day of a 100 Hz
// station, 1 s to answer it): answered 504, and its windows stop being computed at once, also
// those of the pieces fed after the deadline (before, all 5,756 were computed for nobody and none
// counted cancelled). Every window is counted once; the request memory comes back.
TEST(ServeTest, ARequestPastItsDeadlineStopsBeingComputed) {
  std::vector<TraceSegment> channels = NoiseDay();
  std::string day;
  ASSERT_TRUE(EncodeMseed(channels, SampleEncoding::kSteim2, 4096, &day).ok());
  LoadedModel phasenet;
  ASSERT_TRUE(LoadModel("phasenet", "", &phasenet).ok());
  const int64_t windows = ModelService::EstimateWindows(channels, phasenet.model->Spec());
  ASSERT_GT(windows, 5000);
  ServeProcess server({"--instances", "1", "--intra-threads", "1", "--request-timeout", "1s"});
  ASSERT_GT(server.port(), 0);
  const HttpAnswer a = Http(server.port(), "POST", "/v1/models/phasenet/picks", day, kMseed);
  EXPECT_EQ(a.status, 504) << a.body.substr(0, 300);
  const int64_t computed_by_the_answer = ComputedAndCancelled(server.port()).first;
  const auto [computed, cancelled] = ComputedAndCancelledOnceSettled(server.port(), windows);
  EXPECT_EQ(computed + cancelled, windows) << computed << " computed, " << cancelled << " cancelled";
  // Only batches running at the deadline may finish (the CPU batch is at most 8 windows); the
  // bound leaves room for the time the metrics take to read, and is a tenth of what was computed
  // after the answer before.
  EXPECT_LE(computed - computed_by_the_answer, windows / 10) << computed_by_the_answer << " computed by the answer";
  EXPECT_EQ(RequestMemoryHeldOnceSettled(server.port()), 0);
  EXPECT_EQ(server.Terminate(), 0);
}

}  // namespace
}  // namespace rapid
