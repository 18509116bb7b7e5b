// The HTTP/1.1 front of `rapid serve`, on Boost.Beast/Asio (docs/decisions.md says why): accepts
// connections, reads each request with a deadline and a body limit, hands it to the handler, and
// writes whatever the handler answers — possibly later and from another thread. Everything a
// client can get wrong is answered, never fatal: a request that cannot be parsed gets 400, a body
// over the limit 413, a request not received within the read timeout 408 (a slow client never holds
// a thread: all I/O is asynchronous), a connection over the limit 503, a body that does not fit in
// the request memory (HttpServerOptions::request_memory) 503 or 413 before it is read. A body
// refused unread is then read and dropped for up to 2 s, so a client that sent it without waiting
// for `100 Continue` gets the answer rather than a reset. A response may also have an
// open-ended body (HttpResponse::on_stream, e.g. Server-Sent Events), written through an
// HttpStreamWriter for as long as the client stays. Beast types stay inside http_server.cc.
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

#include "core/byte_budget.h"
#include "core/status.h"

namespace rapid {

struct HttpRequest {
  std::string method;                          // "GET", "POST", …
  std::string path;                            // target before '?', e.g. "/v1/models/phasenet/picks"
  std::map<std::string, std::string> query;    // decoded query parameters
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  // The body's bytes in HttpServerOptions::request_memory (nothing without one): the handler may
  // keep the lease, resized to what the request goes on to hold.
  ByteLease memory;
  std::string Header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? "" : it->second;
  }
};

// The open-ended body of a streamed response (HttpResponse::on_stream). Writes are queued and
// written by the server's threads, so no call waits for the client.
// Thread safety: every method may be called from any thread.
class HttpStreamWriter {
 public:
  virtual ~HttpStreamWriter() = default;
  // Queues `chunk` after what is already queued. true: queued. false, now and on every later call:
  // the response is over — the client went away, Close() was called, the server stopped or is
  // draining, or this chunk would have put more than HttpServerOptions::max_stream_queue_bytes in
  // the queue (bytes not yet accepted by the socket), in which case the connection is dropped.
  virtual bool Write(std::string chunk) = 0;
  // Ends the response: what is queued is still written, then the connection is closed. Idempotent.
  virtual void Close() = 0;
  // false once Write would return false (a client that went away is noticed without a Write, as
  // soon as its connection reports it).
  virtual bool open() const = 0;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra ones, e.g. Retry-After
  // Kept until the response is written or dropped, e.g. the lease of the request memory its body
  // counts in (not for streamed responses: released once their head is queued).
  std::shared_ptr<void> hold;
  // Set: the body is open-ended. The server writes the status line and the headers (no
  // Content-Length; `Connection: close`: the body ends when the connection does), then `body` if
  // any, and calls `on_stream` once, on a server thread, with the writer of the rest; the callback
  // may keep the writer and must not block. The writer is already closed for a HEAD request
  // (headers only) and while draining (`body` only). The request stops counting in pending() here;
  // the read timeout does not apply to the body.
  std::function<void(std::shared_ptr<HttpStreamWriter>)> on_stream;
};

struct HttpServerOptions {
  std::string host = "127.0.0.1";  // loopback unless the user says otherwise
  int port = 8080;                 // 0: any free port (port() says which)
  int threads = 2;                 // I/O threads (handlers must not block them for long)
  int64_t max_body_bytes = int64_t{64} << 20;
  // Set: a request's body is reserved here (its Content-Length; a chunked body, max_body_bytes)
  // before it is read, and HttpRequest::memory holds it. A body larger than the whole budget gets
  // 413, one that does not fit beside those held 503 with Retry-After; neither is read.
  ByteBudget* request_memory = nullptr;
  int64_t max_connections = 256;
  std::chrono::milliseconds read_timeout{10000};  // the whole request, headers and body
  // A streamed response whose unwritten bytes would exceed this is dropped (a client that reads
  // too slowly must not hold the writer's memory or stall it); more tolerates longer stalls.
  int64_t max_stream_queue_bytes = int64_t{1} << 20;
  std::string listen_flag = "--listen";  // names host:port in Start's errors
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
  // Connection: close), so a request already on its way is never lost; streamed responses are
  // closed as by HttpStreamWriter::Close; Stop() closes the rest.
  void StopAccepting();
  // Ends every streamed response at once (their writers report closed), stops the I/O and joins
  // the threads; never waits for a client. The sockets still open are closed when the server is
  // destroyed. Idempotent.
  void Stop();
  // Requests read but not yet answered.
  int64_t pending() const;
  int64_t connections() const;
  // Streamed responses whose connection is still open (counted in connections() too).
  int64_t streams() const;

 private:
  friend class Session;  // one connection (http_server.cc)
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rapid
