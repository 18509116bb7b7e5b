// The HTTP/1.1 front of `rapid serve`, on Boost.Beast/Asio (docs/decisions.md says why): accepts
// connections, reads each request with a deadline and a body limit, hands it to the handler, and
// writes whatever the handler answers — possibly later and from another thread. Everything a
// client can get wrong is answered, never fatal: a request that cannot be parsed gets 400, a body
// over the limit 413, a request not received within the read timeout 408 (a slow client never holds
// a thread: all I/O is asynchronous), a connection over the limit 503. Beast types stay inside
// http_server.cc.
// Thread safety: Start/StopAccepting/Stop from one thread; the handler runs on the server's
// threads, and `respond` may be called once from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"

namespace rapid {

struct HttpRequest {
  std::string method;                          // "GET", "POST", …
  std::string path;                            // target before '?', e.g. "/v1/models/phasenet/picks"
  std::map<std::string, std::string> query;    // decoded query parameters
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string Header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? "" : it->second;
  }
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra ones, e.g. Retry-After
};

struct HttpServerOptions {
  std::string host = "127.0.0.1";  // loopback unless the user says otherwise
  int port = 8080;                 // 0: any free port (port() says which)
  int threads = 2;                 // I/O threads (handlers must not block them for long)
  int64_t max_body_bytes = int64_t{64} << 20;
  int64_t max_connections = 256;
  std::chrono::milliseconds read_timeout{10000};  // the whole request, headers and body
};

class HttpServer {
 public:
  using Respond = std::function<void(HttpResponse)>;
  using Handler = std::function<void(HttpRequest&&, Respond)>;

  HttpServer(HttpServerOptions opts, Handler handler);
  ~HttpServer();  // Stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds, listens and starts the threads. InvalidArgument: a bad host; IOError: the port cannot be
  // bound (the message names host:port and the reason).
  Status Start();
  int port() const;
  // Draining: no new connections; on open ones every request read is answered (with
  // Connection: close), so a request already on its way is never lost; Stop() closes the rest.
  void StopAccepting();
  // Closes everything and joins the threads.
  void Stop();
  // Requests read but not yet answered.
  int64_t pending() const;
  int64_t connections() const;

 private:
  friend class Session;  // one connection (http_server.cc)
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rapid
