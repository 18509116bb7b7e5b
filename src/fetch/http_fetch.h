// HTTP for `rapid fetch`, on libcurl (Debian libcurl4-openssl-dev: HTTPS, redirects, digest
// authentication as FDSN's queryauth asks), with the retry rules a public data centre expects:
// 429 and 503 (and 500/502/504, and a dropped connection) retried after the Retry-After the server
// gives, else after a doubling delay; every other status is an answer.
// Thread safety: an HttpFetcher per thread; CallWithRetries is a function of its arguments.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <string>

namespace rapid {

struct HttpReply {
  int status = 0;           // 0: no answer (error says why)
  std::string body;
  std::string retry_after;  // the header, when given
  std::string error;
};

class HttpFetcher {
 public:
  // `auth` "user:password" (empty: none); `timeout` for a whole request.
  HttpFetcher(std::string auth, std::chrono::seconds timeout);
  ~HttpFetcher();
  HttpFetcher(const HttpFetcher&) = delete;
  HttpFetcher& operator=(const HttpFetcher&) = delete;

  // GET `url`, or POST `post_body` (text/plain) when it is not null.
  HttpReply Call(const std::string& url, const std::string* post_body);

 private:
  void* curl_;  // CURL*
  std::string auth_;
  std::chrono::seconds timeout_;
};

struct HttpRetryPolicy {
  int max_tries = 6;
  std::chrono::milliseconds first_delay{1000};
  std::chrono::milliseconds max_delay{120000};  // also caps a Retry-After
};

// Whether `reply` is to be asked for again: no answer, 429, 500, 502, 503, 504.
bool Retryable(const HttpReply& reply);
// The wait before try `attempt` (1 = the first retry): Retry-After (seconds) when the reply gives
// it, else first_delay doubled per attempt; at most max_delay.
std::chrono::milliseconds RetryDelay(const HttpReply& reply, int attempt, const HttpRetryPolicy& policy);

// Calls until an answer that is not Retryable and that `usable` accepts (a body checked whole:
// a 200 whose miniSEED is cut short is asked for again), or the tries run out, or `stop` reads
// true; returns the last reply and sets *tries.
HttpReply CallWithRetries(HttpFetcher* fetcher, const std::string& url, const std::string* post_body,
                          const HttpRetryPolicy& policy, const std::function<bool(const HttpReply&)>& usable, int* tries,
                          const std::atomic<bool>* stop);

}  // namespace rapid
