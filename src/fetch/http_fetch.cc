#include "fetch/http_fetch.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <mutex>
#include <thread>

namespace rapid {

namespace {

void GlobalInitOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

size_t AppendBody(char* data, size_t size, size_t count, void* reply) {
  static_cast<HttpReply*>(reply)->body.append(data, size * count);
  return size * count;
}

size_t ReadHeader(char* data, size_t size, size_t count, void* reply) {
  std::string line(data, size * count);
  std::string lower = line;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (lower.rfind("retry-after:", 0) == 0) {
    std::string value = line.substr(12);
    value.erase(0, value.find_first_not_of(" \t"));
    value.erase(value.find_last_not_of(" \t\r\n") + 1);
    static_cast<HttpReply*>(reply)->retry_after = value;
  }
  return size * count;
}

}  // namespace

HttpFetcher::HttpFetcher(std::string auth, std::chrono::seconds timeout) : auth_(std::move(auth)), timeout_(timeout) {
  GlobalInitOnce();
  curl_ = curl_easy_init();
}

HttpFetcher::~HttpFetcher() { curl_easy_cleanup(static_cast<CURL*>(curl_)); }

HttpReply HttpFetcher::Call(const std::string& url, const std::string* post_body) {
  HttpReply reply;
  CURL* c = static_cast<CURL*>(curl_);
  if (c == nullptr) {
    reply.error = "libcurl could not start";
    return reply;
  }
  curl_easy_reset(c);
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, static_cast<long>(timeout_.count()));
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "rapid-fetch/" RAPID_VERSION);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, AppendBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &reply);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, ReadHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &reply);
  curl_slist* headers = nullptr;
  if (post_body != nullptr) {
    headers = curl_slist_append(headers, "Content-Type: text/plain");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, post_body->data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(post_body->size()));
  }
  if (!auth_.empty()) {
    curl_easy_setopt(c, CURLOPT_USERPWD, auth_.c_str());
    curl_easy_setopt(c, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_ANY));
  }
  const CURLcode rc = curl_easy_perform(c);
  curl_slist_free_all(headers);
  if (rc != CURLE_OK) {
    reply.status = 0;
    reply.error = curl_easy_strerror(rc);
    reply.body.clear();
    return reply;
  }
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  reply.status = static_cast<int>(status);
  return reply;
}

bool Retryable(const HttpReply& reply) {
  return reply.status == 0 || reply.status == 429 || reply.status == 500 || reply.status == 502 || reply.status == 503 ||
         reply.status == 504;
}

std::chrono::milliseconds RetryDelay(const HttpReply& reply, int attempt, const HttpRetryPolicy& policy) {
  std::chrono::milliseconds wait = policy.first_delay * (int64_t{1} << std::min(attempt - 1, 20));
  if (!reply.retry_after.empty() &&
      reply.retry_after.find_first_not_of("0123456789") == std::string::npos && reply.retry_after.size() < 9) {
    wait = std::chrono::seconds(std::atoi(reply.retry_after.c_str()));
  }
  return std::min(wait, policy.max_delay);
}

HttpReply CallWithRetries(HttpFetcher* fetcher, const std::string& url, const std::string* post_body,
                          const HttpRetryPolicy& policy, const std::function<bool(const HttpReply&)>& usable, int* tries,
                          const std::atomic<bool>* stop) {
  HttpReply reply;
  for (*tries = 1;; ++*tries) {
    reply = fetcher->Call(url, post_body);
    const bool again = Retryable(reply) || (usable && !usable(reply));
    if (!again || *tries >= policy.max_tries) return reply;
    const auto until = std::chrono::steady_clock::now() + RetryDelay(reply, *tries, policy);
    while (std::chrono::steady_clock::now() < until) {
      if (stop != nullptr && stop->load()) return reply;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
}

}  // namespace rapid
