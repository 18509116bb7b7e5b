// rapid fetch's HTTP (fetch/http_fetch.h) against a loopback server (rapid serve's HTTP front,
// scripted): 429 and 503 retried after Retry-After or a doubling delay, 204 an answer, a body
// refused by the caller asked for again, tries bounded, a dead port, POST bodies, and basic
// authentication after the server's challenge.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <mutex>

#include "fetch/http_fetch.h"
#include "serve/http_server.h"

namespace rapid {
namespace {

using Clock = std::chrono::steady_clock;

// Answers each request with the next scripted response (the last one repeats), remembering the requests.
class ScriptedServer {
 public:
  explicit ScriptedServer(std::deque<HttpResponse> script) : script_(std::move(script)) {
    HttpServerOptions o;
    o.port = 0;
    server_ = std::make_unique<HttpServer>(o, [this](HttpRequest&& r, HttpServer::Respond respond) {
      HttpResponse answer;
      {
        std::lock_guard<std::mutex> lock(mu_);
        HttpRequest seen;  // a request is move-only (it holds its memory lease)
        seen.method = r.method;
        seen.path = r.path;
        seen.query = r.query;
        seen.headers = r.headers;
        seen.body = r.body;
        requests_.push_back(std::move(seen));
        answer = script_.size() > 1 ? script_.front() : script_.back();
        if (script_.size() > 1) script_.pop_front();
        if (answer.status == 200 && answer.body == "echo") answer.body = r.method + " " + r.Header("content-type") + " " + r.body;
        if (answer.status == 200 && answer.body == "auth") answer.body = r.Header("authorization");
        if (answer.status == 401 && !r.Header("authorization").empty() && script_.size() <= 1) answer = {200, "text/plain", r.Header("authorization"), {}};
      }
      respond(std::move(answer));
    });
    EXPECT_TRUE(server_->Start().ok());
  }
  ~ScriptedServer() { server_->Stop(); }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(server_->port()) + path; }
  size_t requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_.size();
  }

 private:
  std::mutex mu_;
  std::deque<HttpResponse> script_;
  std::vector<HttpRequest> requests_;
  std::unique_ptr<HttpServer> server_;
};

HttpResponse Reply(int status, std::string body, std::vector<std::pair<std::string, std::string>> headers = {}) {
  return {status, "text/plain", std::move(body), std::move(headers)};
}

HttpRetryPolicy Quick() { return {6, std::chrono::milliseconds(50), std::chrono::milliseconds(3000)}; }

TEST(HttpFetchTest, TooManyRequestsWaitsForRetryAfterThenAnswers) {
  ScriptedServer server({Reply(429, "slow down", {{"Retry-After", "1"}}), Reply(200, "data")});
  HttpFetcher fetcher("", std::chrono::seconds(10));
  int tries = 0;
  const auto t0 = Clock::now();
  const HttpReply r = CallWithRetries(&fetcher, server.url("/fdsnws/station/1/query"), nullptr, Quick(), nullptr, &tries, nullptr);
  const double waited = std::chrono::duration<double>(Clock::now() - t0).count();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "data");
  EXPECT_EQ(tries, 2);
  EXPECT_GE(waited, 0.95);  // Retry-After: 1, not the 50 ms of the policy
  EXPECT_LT(waited, 5.0);
}

TEST(HttpFetchTest, UnavailableIsRetriedWithADoublingDelayAndTriesAreBounded) {
  ScriptedServer server({Reply(503, "busy"), Reply(503, "busy"), Reply(200, "data")});
  HttpFetcher fetcher("", std::chrono::seconds(10));
  int tries = 0;
  HttpReply r = CallWithRetries(&fetcher, server.url("/q"), nullptr, Quick(), nullptr, &tries, nullptr);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(tries, 3);
  EXPECT_EQ(RetryDelay(HttpReply{503, "", "", ""}, 1, Quick()), std::chrono::milliseconds(50));
  EXPECT_EQ(RetryDelay(HttpReply{503, "", "", ""}, 3, Quick()), std::chrono::milliseconds(200));
  EXPECT_EQ(RetryDelay(HttpReply{503, "", "86400", ""}, 1, Quick()), std::chrono::milliseconds(3000));  // capped

  ScriptedServer always({Reply(503, "busy")});
  r = CallWithRetries(&fetcher, always.url("/q"), nullptr, {3, std::chrono::milliseconds(10), std::chrono::milliseconds(10)},
                      nullptr, &tries, nullptr);
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(tries, 3);
  EXPECT_EQ(always.requests(), 3u);
}

TEST(HttpFetchTest, NoDataIsAnAnswerAndARefusedBodyIsAskedAgain) {
  ScriptedServer nodata({Reply(204, "")});
  HttpFetcher fetcher("", std::chrono::seconds(10));
  int tries = 0;
  HttpReply r = CallWithRetries(&fetcher, nodata.url("/q"), nullptr, Quick(), nullptr, &tries, nullptr);
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(tries, 1);

  ScriptedServer cut({Reply(200, "cut"), Reply(200, "whole")});
  r = CallWithRetries(&fetcher, cut.url("/q"), nullptr, Quick(), [](const HttpReply& x) { return x.body == "whole"; }, &tries,
                      nullptr);
  EXPECT_EQ(r.body, "whole");
  EXPECT_EQ(tries, 2);
}

TEST(HttpFetchTest, PostSendsItsBodyAndADeadPortIsNoAnswer) {
  ScriptedServer server({Reply(200, "echo")});
  HttpFetcher fetcher("", std::chrono::seconds(10));
  const std::string body = "TX PB35 00 HHZ 2024-12-15T11:00:00.000000 2024-12-15T12:00:00.000000\n";
  HttpReply r = fetcher.Call(server.url("/fdsnws/dataselect/1/query"), &body);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "POST text/plain " + body);

  int port = 0;
  {
    ScriptedServer gone({Reply(200, "x")});
    port = std::stoi(gone.url("").substr(gone.url("").rfind(':') + 1));
  }
  int tries = 0;
  r = CallWithRetries(&fetcher, "http://127.0.0.1:" + std::to_string(port) + "/q", nullptr,
                      {2, std::chrono::milliseconds(10), std::chrono::milliseconds(10)}, nullptr, &tries, nullptr);
  EXPECT_EQ(r.status, 0);
  EXPECT_FALSE(r.error.empty());
  EXPECT_EQ(tries, 2);
}

TEST(HttpFetchTest, CredentialsAreSentAfterTheServersChallenge) {
  ScriptedServer server({Reply(401, "who?", {{"WWW-Authenticate", "Basic realm=\"fdsn\""}})});
  HttpFetcher fetcher("alice:secret", std::chrono::seconds(10));
  const HttpReply r = fetcher.Call(server.url("/fdsnws/dataselect/1/queryauth"), nullptr);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "Basic YWxpY2U6c2VjcmV0");  // base64("alice:secret")
}

}  // namespace
}  // namespace rapid
