// `rapid serve` over real loopback HTTP (issue 17): every route and error code, picks equal to
// `rapid run`'s on the bundled sample posted as 12 concurrent requests, a slow client timed out
// while others are served, the request memory, a drain under load that loses nothing
// (overload and deadlines: serve_deadline_test.cc).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <future>
#include <fstream>
#include <set>
#include <thread>

#include "http_client.h"
#include "raw_http_client.h"
#include "io/mseed_reader.h"
#include "serve/serve_app.h"
#include "serve_test_util.h"
#include "test_util.h"

namespace rapid {
namespace {

using testing::Http;
using testing::HttpAnswer;
using testing::kMseed;
using testing::MetricValue;
using testing::RequestMemoryHeld;
using testing::RequestMemoryHeldOnceSettled;
using testing::RunRapid;
using testing::ServeProcess;
using testing::StationBody;
using testing::Stations;
using testing::SynthBody;
using testing::TempDir;

// Picks of 12 stations posted at once equal `rapid run`'s on the same files (same batch size).
TEST(ServeTest, TwelveConcurrentRequestsGiveRapidRunsPicks) {
  TempDir dir;
  std::string log;
  ASSERT_EQ(RunRapid({"run", "--output", dir.Path("run"), "--instances", "2", "--batch-size", "4", "--progress", "off"},
                     &log),
            0)
      << log;
  std::vector<std::string> want_rows;
  {
    std::ifstream in(dir.Path("run/picks.csv"));
    std::string line;
    std::getline(in, line);
    while (std::getline(in, line)) want_rows.push_back(line);
  }
  ASSERT_GE(want_rows.size(), 5u);
  // A queue that holds all twelve whatever the machine's speed (the default is ~0.25 s of work).
  ServeProcess server({"--instances", "2", "--batch-size", "4", "--max-batch-delay", "20ms", "--max-queue-windows", "10000",
                       "--request-timeout", "60s"});
  ASSERT_GT(server.port(), 0);
  const std::vector<std::string> stations = Stations();
  ASSERT_EQ(stations.size(), 12u);
  std::vector<HttpAnswer> answers(stations.size());
  std::vector<std::thread> clients;
  for (size_t i = 0; i < stations.size(); ++i) {
    clients.emplace_back([&, i] {
      std::map<std::string, std::string> h = kMseed;
      h["Accept"] = "text/csv";
      answers[i] = Http(server.port(), "POST", "/v1/models/phasenet/picks", StationBody(stations[i]), h);
    });
  }
  for (std::thread& t : clients) t.join();
  std::vector<std::string> got_rows;
  for (size_t i = 0; i < answers.size(); ++i) {
    ASSERT_EQ(answers[i].status, 200) << stations[i] << " " << answers[i].body << answers[i].error;
    EXPECT_EQ(answers[i].headers["content-type"], "text/csv");
    std::istringstream in(answers[i].body);
    std::string line;
    std::getline(in, line);
    EXPECT_EQ(line, "trace_id,phase,peak_time,peak_value,start_time,end_time,model");
    while (std::getline(in, line)) got_rows.push_back(line);
  }
  std::sort(got_rows.begin(), got_rows.end());
  std::sort(want_rows.begin(), want_rows.end());
  EXPECT_EQ(got_rows, want_rows);
  // The same request as JSON: the shape of the answer.
  HttpAnswer a = Http(server.port(), "POST", "/v1/models/phasenet/picks", StationBody("PB35"), kMseed);
  ASSERT_EQ(a.status, 200) << a.body;
  const nlohmann::json j = nlohmann::json::parse(a.body);
  EXPECT_EQ(j.at("model"), "phasenet");
  EXPECT_EQ(j.at("stations"), nlohmann::json({"TX.PB35.00"}));
  EXPECT_GT(j.at("windows").get<int>(), 5);
  EXPECT_TRUE(j.at("errors").empty());
  for (const char* k : {"queue", "compute", "total"}) EXPECT_GE(j.at("timing_ms").at(k).get<double>(), 0.0) << k;
  EXPECT_EQ(server.Terminate(), 0);
}

TEST(ServeTest, RoutesAndErrorAnswers) {
  TempDir dir;
  const std::string token_file = dir.Path("token");
  std::ofstream(token_file) << "s3cret\n";
  ServeProcess server({"--auth-token-file", token_file, "--max-body", "200KiB"});
  ASSERT_GT(server.port(), 0);
  const int port = server.port();
  const std::map<std::string, std::string> auth = {{"Authorization", "Bearer s3cret"},
                                                   {"Content-Type", "application/vnd.fdsn.mseed"}};
  EXPECT_EQ(Http(port, "GET", "/healthz").status, 200);  // no token needed
  EXPECT_EQ(Http(port, "GET", "/readyz").status, 200);
  EXPECT_EQ(Http(port, "GET", "/v1/models").status, 401);
  EXPECT_EQ(Http(port, "GET", "/v1/models", "", {{"Authorization", "Bearer wrong"}}).status, 401);
  HttpAnswer models = Http(port, "GET", "/v1/models", "", auth);
  ASSERT_EQ(models.status, 200);
  EXPECT_EQ(nlohmann::json::parse(models.body).at("models").at(0).at("name"), "phasenet");
  EXPECT_EQ(Http(port, "GET", "/nowhere", "", auth).status, 404);
  HttpAnswer unknown = Http(port, "POST", "/v1/models/nomodel/picks", "x", auth);
  EXPECT_EQ(unknown.status, 404);
  EXPECT_NE(unknown.body.find("phasenet"), std::string::npos) << unknown.body;  // says what is served
  HttpAnswer get_picks = Http(port, "GET", "/v1/models/phasenet/picks", "", auth);
  EXPECT_EQ(get_picks.status, 405);
  EXPECT_EQ(get_picks.headers["allow"], "POST");
  EXPECT_EQ(Http(port, "POST", "/healthz").status, 405);
  {  // HEAD: the GET's headers, Content-Length included, and no body (read to the close)
    const int fd = testing::ConnectLoopback(port);
    ASSERT_GE(fd, 0);
    const std::string head = "HEAD /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer s3cret\r\nConnection: close\r\n\r\n";
    ASSERT_EQ(send(fd, head.data(), head.size(), 0), static_cast<ssize_t>(head.size()));
    std::string reply, chunk(4096, '\0');
    for (ssize_t n; (n = recv(fd, chunk.data(), chunk.size(), 0)) > 0;) reply.append(chunk, 0, static_cast<size_t>(n));
    close(fd);
    EXPECT_EQ(reply.compare(0, 12, "HTTP/1.1 200"), 0) << reply;
    const size_t end = reply.find("\r\n\r\n");
    ASSERT_NE(end, std::string::npos) << reply;
    EXPECT_EQ(reply.size(), end + 4) << "HEAD answered with a body: " << reply;
    EXPECT_NE(reply.find("Content-Length: " + std::to_string(models.body.size()) + "\r\n"), std::string::npos) << reply;
  }
  {  // Expect: 100-continue (curl's way with bodies over 1 MiB): the body goes after the interim answer
    const int fd = testing::ConnectLoopback(port);
    ASSERT_GE(fd, 0);
    const std::string body = StationBody("PB35");
    const std::string header = "POST /v1/models/phasenet/picks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer s3cret\r\n"
                               "Content-Length: " + std::to_string(body.size()) +
                               "\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n";
    ASSERT_EQ(send(fd, header.data(), header.size(), 0), static_cast<ssize_t>(header.size()));
    std::string reply, chunk(65536, '\0');
    const ssize_t n = recv(fd, chunk.data(), chunk.size(), 0);
    ASSERT_GT(n, 0);
    EXPECT_EQ(chunk.substr(0, static_cast<size_t>(n)), "HTTP/1.1 100 Continue\r\n\r\n");
    ASSERT_EQ(send(fd, body.data(), body.size(), 0), static_cast<ssize_t>(body.size()));
    for (ssize_t m; (m = recv(fd, chunk.data(), chunk.size(), 0)) > 0;) reply.append(chunk, 0, static_cast<size_t>(m));
    close(fd);
    EXPECT_EQ(reply.compare(0, 12, "HTTP/1.1 200"), 0) << reply.substr(0, 300);
    EXPECT_NE(reply.find("\"picks\""), std::string::npos) << reply.substr(0, 300);
  }
  // Bodies and parameters.
  HttpAnswer empty = Http(port, "POST", "/v1/models/phasenet/picks", "", auth);
  EXPECT_EQ(empty.status, 400);
  HttpAnswer garbage = Http(port, "POST", "/v1/models/phasenet/picks", std::string(4096, 'z'), auth);
  EXPECT_EQ(garbage.status, 400);
  EXPECT_NE(garbage.body.find("not miniSEED"), std::string::npos) << garbage.body;
  EXPECT_EQ(Http(port, "POST", "/v1/models/phasenet/picks?P_threshold=2", StationBody("PB35"), auth).status, 400);
  EXPECT_EQ(Http(port, "POST", "/v1/models/phasenet/picks?X_threshold=0.5", StationBody("PB35"), auth).status, 400);
  EXPECT_EQ(Http(port, "POST", "/v1/models/phasenet/picks?colour=red", StationBody("PB35"), auth).status, 400);
  HttpAnswer big = Http(port, "POST", "/v1/models/phasenet/picks", std::string(300 * 1024, 'a'), auth);
  EXPECT_EQ(big.status, 413);
  // A malformed stretch in the middle: 400, and the good stations are still picked.
  const std::string mixed = StationBody("PB35") + std::string(1024, '\x7f') + StationBody("HBVL");
  HttpAnswer partial = Http(port, "POST", "/v1/models/phasenet/picks?P_threshold=0.1", mixed, auth);
  EXPECT_EQ(partial.status, 400);
  const nlohmann::json pj = nlohmann::json::parse(partial.body);
  EXPECT_EQ(pj.at("stations"), nlohmann::json({"TX.HBVL.00", "TX.PB35.00"}));
  ASSERT_EQ(pj.at("errors").size(), 1u);
  EXPECT_NE(pj.at("errors").at(0).get<std::string>().find("not miniSEED"), std::string::npos) << pj.at("errors");
  // Lower thresholds give more picks: the query overrides the model's.
  const auto count = [&](const std::string& q) {
    return nlohmann::json::parse(Http(port, "POST", "/v1/models/phasenet/picks" + q, StationBody("PB35"), auth).body)
        .at("picks")
        .size();
  };
  EXPECT_GT(count("?P_threshold=0.05&S_threshold=0.05"), count(""));
  // /annotate: float32 miniSEED, one trace per label; or JSON.
  HttpAnswer traces = Http(port, "POST", "/v1/models/phasenet/annotate", StationBody("PB35"), auth);
  ASSERT_EQ(traces.status, 200) << traces.body;
  EXPECT_EQ(traces.headers["content-type"], "application/vnd.fdsn.mseed");
  MseedFileContents decoded;
  ASSERT_TRUE(DecodeMseedBytes(traces.body, "answer", ReaderOptions(), &decoded).ok());
  std::set<std::string> channels;
  for (const TraceSegment& s : decoded.segments) {
    channels.insert(s.id.channel);
    EXPECT_EQ(s.rate_hz, 100.0);
    EXPECT_EQ(s.id.StationKey(), "TX.PB35.00");
  }
  EXPECT_EQ(channels, (std::set<std::string>{"N", "P", "S"}));
  HttpAnswer json_traces = Http(port, "POST", "/v1/models/phasenet/annotate?format=json", StationBody("PB35"), auth);
  ASSERT_EQ(json_traces.status, 200);
  const nlohmann::json tj = nlohmann::json::parse(json_traces.body);
  ASSERT_EQ(tj.at("traces").size(), 3u);
  EXPECT_EQ(tj.at("traces").at(0).at("data").size(), decoded.segments.at(0).samples.size());
  // Metrics: the required families, and the requests answered so far.
  HttpAnswer metrics = Http(port, "GET", "/metrics", "", auth);
  ASSERT_EQ(metrics.status, 200);
  for (const char* name : {"rapid_requests_total{model=\"phasenet\",route=\"picks\",code=\"200\"}",
                           "rapid_requests_total{model=\"phasenet\",route=\"picks\",code=\"400\"}",
                           "rapid_request_duration_seconds_bucket", "rapid_queue_wait_seconds_count",
                           "rapid_inference_duration_seconds_sum", "rapid_batch_size_bucket", "rapid_queue_windows{",
                           "rapid_windows_total", "rapid_windows_cancelled_total", "rapid_process_resident_memory_bytes"}) {
    EXPECT_NE(metrics.body.find(name), std::string::npos) << name;
  }
  EXPECT_EQ(server.Terminate(), 0);
}

// A client that sends half a request and stalls gets 408 after the read timeout; meanwhile
// other clients are answered at once.
TEST(ServeTest, SlowClientTimesOutWhileOthersAreServed) {
  ServeProcess server({"--request-timeout", "1s"});
  ASSERT_GT(server.port(), 0);
  const int fd = testing::ConnectLoopback(server.port());
  ASSERT_GE(fd, 0);
  const std::string partial = "POST /v1/models/phasenet/picks HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nabc";
  ASSERT_EQ(send(fd, partial.data(), partial.size(), 0), static_cast<ssize_t>(partial.size()));
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 5; ++i) EXPECT_EQ(Http(server.port(), "GET", "/healthz").status, 200);
  EXPECT_EQ(Http(server.port(), "POST", "/v1/models/phasenet/picks", StationBody("PB35"), kMseed).status, 200);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 1.0);
  std::string reply(4096, '\0');
  const ssize_t n = recv(fd, reply.data(), reply.size(), 0);  // blocks until the server answers
  ASSERT_GT(n, 0);
  reply.resize(static_cast<size_t>(n));
  EXPECT_EQ(reply.compare(0, 12, "HTTP/1.1 408"), 0) << reply;
  EXPECT_GE(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 0.9);
  close(fd);
  EXPECT_EQ(server.Terminate(), 0);
}

// Over --max-connections: a new connection gets 503 and is closed; the held ones still work.
TEST(ServeTest, ConnectionsOverTheLimitGet503) {
  ServeProcess server({"--max-connections", "2"});
  ASSERT_GT(server.port(), 0);
  std::vector<int> held;
  for (int i = 0; i < 2; ++i) {
    const int fd = testing::ConnectLoopback(server.port());
    ASSERT_GE(fd, 0);
    held.push_back(fd);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // both accepted
  HttpAnswer third = Http(server.port(), "GET", "/healthz");
  EXPECT_EQ(third.status, 503) << third.error;
  EXPECT_EQ(third.headers["retry-after"], "1");
  const std::string get = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_EQ(send(held[0], get.data(), get.size(), 0), static_cast<ssize_t>(get.size()));
  std::string reply(1024, '\0');
  const ssize_t n = recv(held[0], reply.data(), reply.size(), 0);
  ASSERT_GT(n, 0);
  EXPECT_EQ(reply.compare(0, 12, "HTTP/1.1 200"), 0) << reply;
  for (int fd : held) close(fd);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // released
  EXPECT_EQ(Http(server.port(), "GET", "/healthz").status, 200);
  EXPECT_EQ(server.Terminate(), 0);
}

// The request memory (--max-request-memory) holds bodies from their headers on and decoded requests
// until answered: a request that needs more than all of it gets 413, one that does not fit beside
// the bodies in progress 503 with Retry-After, and everything is given back afterwards.
TEST(ServeTest, RequestMemoryBoundsBodiesAndDecodedRequests) {
  TempDir dir;
  // 0.5 MB; decoded and resampled to 100 Hz it may hold about 87 MB.
  const std::string hour_at_40hz = SynthBody(dir, "40hz", {"--duration", "1h", "--rates", "40"});
  // A budget that cannot hold the request memory beside the model is refused before listening.
  std::string refusal;
  EXPECT_EQ(RunRapid({"serve", "--listen", "127.0.0.1:0", "--max-ram", "1GiB", "--max-request-memory", "900MiB"},
                     &refusal),
            1);
  EXPECT_NE(refusal.find("preprocessing"), std::string::npos) << refusal;
  EXPECT_NE(refusal.find("--max-request-memory"), std::string::npos) << refusal;
  {  // The default: a quarter of --max-ram here (less than what a 64 MiB body needs, 2.06 GiB).
    ServeProcess small({"--max-ram", "1536MiB"});
    ASSERT_GT(small.port(), 0);
    EXPECT_EQ(MetricValue(Http(small.port(), "GET", "/metrics").body, "rapid_request_memory_capacity_bytes"),
              int64_t{384} << 20);
    EXPECT_EQ(small.Terminate(), 0);
  }
  constexpr int64_t kCapacity = int64_t{40} << 20, kBody = int64_t{2} << 20;
  ServeProcess server({"--max-body", "2MiB", "--max-request-memory", "40MiB"});
  ASSERT_GT(server.port(), 0);
  EXPECT_EQ(MetricValue(Http(server.port(), "GET", "/metrics").body, "rapid_request_memory_capacity_bytes"), kCapacity);
  EXPECT_EQ(Http(server.port(), "POST", "/v1/models/phasenet/picks", StationBody("PB35"), kMseed).status, 200);
  HttpAnswer too_big = Http(server.port(), "POST", "/v1/models/phasenet/picks", hour_at_40hz, kMseed);
  EXPECT_EQ(too_big.status, 413) << too_big.body;
  EXPECT_NE(too_big.body.find("--max-request-memory"), std::string::npos) << too_big.body;
  EXPECT_EQ(RequestMemoryHeldOnceSettled(server.port()), 0);
  // Bodies announced and not sent hold their Content-Length: 20 of 2 MiB fill the 40 MiB.
  const std::string announce = "POST /v1/models/phasenet/picks HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                               std::to_string(kBody) + "\r\n\r\n";
  std::vector<int> slow;
  for (int64_t i = 0; i < kCapacity / kBody; ++i) {
    slow.push_back(testing::ConnectLoopback(server.port()));
    ASSERT_GE(slow.back(), 0);
    ASSERT_EQ(send(slow.back(), announce.data(), announce.size(), 0), static_cast<ssize_t>(announce.size()));
  }
  for (int k = 0; k < 100 && RequestMemoryHeld(server.port()) < kCapacity; ++k) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(RequestMemoryHeld(server.port()), kCapacity);
  HttpAnswer full = Http(server.port(), "POST", "/v1/models/phasenet/picks", StationBody("PB35"), kMseed);
  EXPECT_EQ(full.status, 503) << full.body;
  EXPECT_EQ(full.headers["retry-after"], "1");
  EXPECT_NE(full.body.find("request memory full"), std::string::npos) << full.body;
  // Refused before their bodies are read, clients that send them whole without waiting for
  // `100 Continue` still receive the answer (the server reads and drops them), not a reset.
  HttpAnswer full_sent = Http(server.port(), "POST", "/v1/models/phasenet/picks", std::string(kBody, 'a'), kMseed);
  EXPECT_EQ(full_sent.status, 503) << full_sent.error;
  HttpAnswer over_max = Http(server.port(), "POST", "/v1/models/phasenet/picks", std::string(4 * kBody, 'a'), kMseed);
  EXPECT_EQ(over_max.status, 413) << over_max.error;
  for (int fd : slow) close(fd);
  EXPECT_EQ(RequestMemoryHeldOnceSettled(server.port()), 0);
  EXPECT_EQ(Http(server.port(), "POST", "/v1/models/phasenet/picks", StationBody("PB35"), kMseed).status, 200);
  EXPECT_EQ(RequestMemoryHeldOnceSettled(server.port()), 0);
  EXPECT_EQ(server.Terminate(), 0);
}

// An answer holds its request's memory until it is written: while a client does not read a large
// answer (an hour's probability traces as JSON, about 23 MB), the memory stays held; once read, it
// is given back.
TEST(ServeTest, AnAnswerHoldsItsRequestMemoryUntilWritten) {
  TempDir dir;
  const std::string body = SynthBody(dir, "hour", {"--duration", "1h"});
  ServeProcess server({});
  ASSERT_GT(server.port(), 0);
  testing::RawClient client(server.port(),
                            "POST /v1/models/phasenet/annotate?format=json HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                                std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body,
                            /*rcvbuf_bytes=*/4096);
  ASSERT_TRUE(client.ReadUntil([](const testing::RawClient& c) { return c.HeadComplete(); }, std::chrono::seconds(60)));
  EXPECT_EQ(client.head().compare(0, 12, "HTTP/1.1 200"), 0) << client.head();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // not reading
  EXPECT_GT(RequestMemoryHeld(server.port()), 0);
  ASSERT_TRUE(client.ReadUntilClosed(std::chrono::seconds(60)));
  const nlohmann::json answer = nlohmann::json::parse(client.body());
  size_t values = 0;  // of every label over the hour, in block pieces
  for (const nlohmann::json& t : answer.at("traces")) values += t.at("data").size();
  EXPECT_EQ(values, 3u * 360000u);
  EXPECT_EQ(RequestMemoryHeldOnceSettled(server.port()), 0);
  EXPECT_EQ(server.Terminate(), 0);
}

// Many small requests from many clients at once (the feeder opening streams while instances
// deliver blocks: a lock-order slip deadlocks here): every one answered, the same station's picks
// the same every time.
TEST(ServeTest, ManySmallConcurrentRequestsAreAllAnsweredAlike) {
  ServeProcess server({"--instances", "2", "--batch-size", "4", "--max-queue-windows", "100000", "--request-timeout", "60s"});
  ASSERT_GT(server.port(), 0);
  const std::vector<std::string> stations = Stations();
  std::vector<std::string> bodies;
  for (const std::string& s : stations) bodies.push_back(StationBody(s));
  constexpr int kClients = 32, kEach = 8;
  std::vector<std::vector<HttpAnswer>> answers(kClients, std::vector<HttpAnswer>(kEach));
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      for (int k = 0; k < kEach; ++k) {
        answers[c][k] = Http(server.port(), "POST", "/v1/models/phasenet/picks", bodies[(c + k) % bodies.size()], kMseed);
      }
    });
  }
  for (std::thread& t : clients) t.join();
  std::map<size_t, std::string> picks_of;  // station index → its picks, as first answered
  for (int c = 0; c < kClients; ++c) {
    for (int k = 0; k < kEach; ++k) {
      const HttpAnswer& a = answers[c][k];
      ASSERT_EQ(a.status, 200) << a.error << a.body.substr(0, 200);
      const std::string picks = nlohmann::json::parse(a.body).at("picks").dump();
      auto [it, fresh] = picks_of.try_emplace(static_cast<size_t>(c + k) % bodies.size(), picks);
      EXPECT_EQ(it->second, picks) << stations[it->first];
    }
  }
  EXPECT_EQ(server.Terminate(), 0);
}

// Two models in one process: each has its route and picks, and each plan grows into half of what
// --max-ram leaves, so the two together stay within it.
TEST(ServeTest, TwoModelsShareOneProcessAndItsMemoryBudget) {
  const int64_t max_ram = int64_t{3} << 30;
  ServeProcess server({"--model", "phasenet,eqcct", "--max-ram", "3GiB"});
  ASSERT_GT(server.port(), 0);
  HttpAnswer models = Http(server.port(), "GET", "/v1/models");
  ASSERT_EQ(models.status, 200);
  const nlohmann::json list = nlohmann::json::parse(models.body).at("models");
  ASSERT_EQ(list.size(), 2u);
  for (const nlohmann::json& m : list) {  // each: the memory held when planned + half of the rest
    EXPECT_LT(m.at("host_budget_bytes").get<int64_t>(), max_ram - (max_ram >> 3)) << m.dump();
  }
  for (const std::string model : {"phasenet", "eqcct"}) {
    HttpAnswer a = Http(server.port(), "POST", "/v1/models/" + model + "/picks", StationBody("PB35"), kMseed);
    ASSERT_EQ(a.status, 200) << model << " " << a.body.substr(0, 300);
    const nlohmann::json j = nlohmann::json::parse(a.body);
    EXPECT_EQ(j.at("model"), model);
    EXPECT_GT(j.at("windows").get<int64_t>(), 0) << model;
  }
  EXPECT_EQ(server.Terminate(), 0);
}

// SIGTERM while requests are in flight: /readyz turns 503, every request already accepted is
// answered 200, the process exits 0.
TEST(ServeTest, DrainUnderLoadAnswersEveryAcceptedRequest) {
  ServeProcess server({"--instances", "1", "--batch-size", "2", "--drain-timeout", "60s", "--max-queue-windows", "10000",
                       "--request-timeout", "60s"});
  ASSERT_GT(server.port(), 0);
  const std::vector<std::string> stations = Stations();
  std::vector<HttpAnswer> answers(stations.size());
  std::vector<std::thread> clients;
  for (size_t i = 0; i < stations.size(); ++i) {
    clients.emplace_back(
        [&, i] { answers[i] = Http(server.port(), "POST", "/v1/models/phasenet/picks", StationBody(stations[i]), kMseed); });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the requests are in
  const int port = server.port();
  std::thread terminator([&] { EXPECT_EQ(server.Terminate(), 0); });
  // While draining, readiness says so (the listener may already be closed: no answer then).
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  HttpAnswer ready = Http(port, "GET", "/readyz");
  EXPECT_TRUE(ready.status == 503 || ready.status == 0) << ready.status;
  for (std::thread& t : clients) t.join();
  terminator.join();
  for (size_t i = 0; i < answers.size(); ++i) {
    EXPECT_EQ(answers[i].status, 200) << stations[i] << ": " << answers[i].error << answers[i].body;
  }
}

// Draining, seen from the routes: /readyz 503, picking requests 503 with Retry-After, health 200.
TEST(ServeAppTest, DrainingTurnsReadinessAndNewWorkAway) {
  ModelServiceOptions o;
  o.model = "phasenet";
  o.plan.instances = 1;
  o.plan.batch_size = 2;
  std::unique_ptr<ModelService> service;
  ASSERT_TRUE(ModelService::Create(o, &service).ok());
  std::vector<std::unique_ptr<ModelService>> services;
  services.push_back(std::move(service));
  ServeApp app(ServeAppOptions(), std::move(services));
  auto call = [&](const std::string& method, const std::string& path, const std::string& body) {
    HttpRequest r;
    r.method = method;
    r.path = path;
    r.body = body;
    std::promise<HttpResponse> answer;
    app.Handle(std::move(r), [&](HttpResponse a) { answer.set_value(std::move(a)); });
    return answer.get_future().get();
  };
  EXPECT_EQ(call("GET", "/readyz", "").status, 200);
  EXPECT_EQ(call("POST", "/v1/models/phasenet/picks", StationBody("PB35")).status, 200);
  app.BeginDrain();
  EXPECT_EQ(call("GET", "/readyz", "").status, 503);
  EXPECT_EQ(call("GET", "/healthz", "").status, 200);
  HttpResponse refused = call("POST", "/v1/models/phasenet/picks", StationBody("PB35"));
  EXPECT_EQ(refused.status, 503);
  EXPECT_TRUE(app.Drain(std::chrono::seconds(10)));
}

}  // namespace
}  // namespace rapid
