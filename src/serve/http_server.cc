#include "serve/http_server.h"

#include <atomic>
#include <utility>  // before Boost 1.74 Asio, whose awaitable.hpp uses std::exchange without it

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <array>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include "serve/request_parsing.h"

namespace rapid {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

constexpr size_t kHeaderLimitBytes = 64 * 1024;
// After answering a request whose body was not read (413, or 503 for memory), the connection stays
// open this long at most, reading and dropping what the client still sends, so that a client
// sending its body without waiting for `100 Continue` receives the answer rather than a reset.
constexpr std::chrono::seconds kLingerTime{2};
constexpr size_t kLingerBufferBytes = 64 * 1024;

std::string ErrorJson(const std::string& message) {
  std::string escaped;
  for (char c : message) {
    if (c == '"' || c == '\\') escaped += '\\';
    if (static_cast<unsigned char>(c) < 0x20) continue;
    escaped += c;
  }
  return "{\"error\": \"" + escaped + "\"}";
}

}  // namespace

class Session;

// One streamed response's queue, shared by the writer handles given out and by its session. The
// session is referenced weakly: a writer kept past its connection, or its server, holds no socket.
class StreamChannel final : public HttpStreamWriter {
 public:
  StreamChannel(std::weak_ptr<Session> session, int64_t max_queue_bytes)
      : session_(std::move(session)), max_queue_bytes_(max_queue_bytes) {}
  bool Write(std::string chunk) override;
  void Close() override;
  bool open() const override;

  // On the session's strand: the queued chunks, moved out. *close_after: nothing more will come
  // (closed or aborted), so the connection is to be closed once what was taken is written.
  std::vector<std::string> TakeQueued(bool* close_after);
  void Written(size_t bytes);
  // The response is over (connection gone, over the bound, server stopping): the queue is
  // dropped, the session forgotten, every later Write false.
  void Abort();

 private:
  // Posts a flush to the session unless one is on its way; false when the session is gone.
  // REQUIRES: mu_ held.
  bool ScheduleFlushLocked();
  // Posts `method` of the session to its strand; false when the session is gone. REQUIRES: mu_ held.
  bool PostLocked(void (Session::*method)());

  mutable std::mutex mu_;  // guards every field below
  std::weak_ptr<Session> session_;
  std::vector<std::string> queue_;
  int64_t unwritten_bytes_ = 0;  // queued or being written
  bool open_ = true;             // not aborted
  bool closing_ = false;         // Close() called: the queue is the last of the body
  bool flush_posted_ = false;
  const int64_t max_queue_bytes_;
};

struct HttpServer::Impl {
  HttpServerOptions opts;
  Handler handler;
  // Declared before ioc, so it outlives the sessions the io_context still holds when destroyed.
  std::mutex streams_mu;  // guards streams and streams_stopped
  std::vector<std::weak_ptr<StreamChannel>> streams;
  bool streams_stopped = false;  // Stop() was called: a stream registered now is aborted at once
  net::io_context ioc;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::optional<tcp::acceptor> acceptor;
  std::vector<std::thread> threads;
  std::atomic<int64_t> pending{0}, connections{0}, streams_open{0};
  std::atomic<bool> draining{false};
  int port = 0;

  void Accept();
  // Keeps `channel` for StopAccepting/Stop; aborts it when the server has stopped.
  void RegisterStream(const std::shared_ptr<StreamChannel>& channel);
  // Applies `fn` to every stream still alive; `stop` also marks the server stopped.
  void ForEachStream(bool stop, const std::function<void(StreamChannel&)>& fn);
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, HttpServer::Impl* server)
      : stream_(std::move(socket)), read_timer_(stream_.get_executor()), server_(server) {
    server_->connections += 1;
  }
  ~Session() {
    if (channel_) {
      channel_->Abort();
      server_->streams_open -= 1;
    }
    server_->connections -= 1;
  }

  net::any_io_executor executor() { return stream_.get_executor(); }

  void Start() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->Read(); });
  }

  // Over the connection limit: one 503 and close.
  void Refuse() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      self->WriteError(503, "too many connections", {{"Retry-After", "1"}});
    });
  }

 private:
  void Read() {
    head_ = false;
    body_unread_ = false;
    if (server_->draining) {
      Close();
      return;
    }
    parser_.emplace();
    parser_->body_limit(static_cast<uint64_t>(server_->opts.max_body_bytes));
    parser_->header_limit(kHeaderLimitBytes);
    reading_ = true;
    timed_out_ = false;
    // The read deadline is a timer of our own, not the stream's expiry (which closes the socket):
    // a late client must still get its 408.
    stream_.expires_never();
    read_timer_.expires_after(server_->opts.read_timeout);
    read_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec || !self->reading_) return;
      self->timed_out_ = true;
      beast::error_code ignored;
      self->stream_.socket().cancel(ignored);
    });
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&Session::OnHeader, shared_from_this()));
  }

  // A client that sent `Expect: 100-continue` (curl does, for bodies over 1 MiB) waits for the
  // interim answer before sending its body; then the body, under the same read deadline.
  void OnHeader(beast::error_code ec, size_t) {
    if (ec) return OnRead(ec, 0);
    if (!ReserveBody()) return;
    const auto expect = parser_->get()[http::field::expect];
    if (!parser_->is_done() && beast::iequals(expect, "100-continue")) {
      continue_ = {http::status::continue_, 11};
      http::async_write(stream_, continue_, [self = shared_from_this()](beast::error_code ec, size_t) {
        if (ec) return self->OnRead(ec, 0);
        self->ReadBody();
      });
      return;
    }
    ReadBody();
  }

  // The body's bytes in HttpServerOptions::request_memory, before it is read. False: refused and
  // answered (413 or 503), the body never read (LingerAndClose drops it).
  bool ReserveBody() {
    ByteBudget* budget = server_->opts.request_memory;
    memory_ = ByteLease(budget);
    if (budget == nullptr) return true;
    int64_t bytes = 0;
    if (const auto length = parser_->content_length()) {
      bytes = static_cast<int64_t>(*length);
    } else if (parser_->chunked()) {
      bytes = server_->opts.max_body_bytes;  // its length is known only at its end
    }
    if (memory_.Resize(bytes)) return true;
    reading_ = false;
    body_unread_ = true;
    read_timer_.cancel();
    const std::string of = " of " + std::to_string(budget->capacity()) + " bytes (--max-request-memory)";
    if (bytes > budget->capacity()) {
      WriteError(413, "a body of " + std::to_string(bytes) + " bytes is more than the request memory" + of, {});
    } else {
      WriteError(503, "request memory full: requests in progress hold " + std::to_string(budget->held()) + of,
                 {{"Retry-After", "1"}});
    }
    return false;
  }

  void ReadBody() {
    http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&Session::OnRead, shared_from_this()));
  }

  void OnRead(beast::error_code ec, size_t) {
    ByteLease memory = std::move(memory_);  // given back on every path but the handler's
    reading_ = false;
    read_timer_.cancel();
    if (timed_out_ && ec) {
      if (parser_->got_some()) {
        WriteError(408, "the request was not received within the read timeout", {});
      } else {
        Close();
      }
      return;
    }
    if (ec == http::error::body_limit) {
      body_unread_ = true;
      WriteError(413, "body larger than --max-body (" + std::to_string(server_->opts.max_body_bytes) + " bytes)", {});
      return;
    }
    if (ec == http::error::header_limit) {
      WriteError(431, "request headers too large", {});
      return;
    }
    if (ec == http::error::end_of_stream || ec == net::error::eof || ec == net::error::connection_reset ||
        ec == net::error::operation_aborted) {
      Close();
      return;
    }
    if (ec) {
      if (parser_->got_some()) {
        WriteError(400, "malformed HTTP request: " + ec.message(), {});
      } else {
        Close();
      }
      return;
    }
    http::request<http::string_body> req = parser_->release();
    keep_alive_ = req.keep_alive();
    head_ = req.method() == http::verb::head;
    HttpRequest r;
    r.method = std::string(req.method_string());
    std::string target_error;
    if (!ParseTarget(std::string(req.target()), &r.path, &r.query, &target_error)) {
      WriteError(400, target_error, {});
      return;
    }
    for (const auto& field : req) {
      std::string name(field.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      r.headers[name] = std::string(field.value());
    }
    r.body = std::move(req.body());
    r.memory = std::move(memory);
    server_->pending += 1;
    stream_.expires_never();  // now waiting for the handler, not for the client
    auto self = shared_from_this();
    server_->handler(std::move(r), [self](HttpResponse response) {
      net::post(self->stream_.get_executor(), [self, response = std::move(response)]() mutable {
        self->Write(std::move(response), /*counted=*/true, !self->keep_alive_);
      });
    });
  }

  void WriteError(int status, const std::string& message, std::vector<std::pair<std::string, std::string>> headers) {
    HttpResponse r;
    r.status = status;
    r.body = ErrorJson(message);
    r.headers = std::move(headers);
    Write(std::move(r), /*counted=*/false, /*close=*/true);
  }

  void Write(HttpResponse response, bool counted, bool close) {
    if (response.on_stream) return StartStream(std::move(response), counted);
    close = close || server_->draining;
    res_ = {};
    res_.version(11);
    res_.result(static_cast<unsigned>(response.status));
    res_.set(http::field::server, "rapid");
    res_.set(http::field::content_type, response.content_type);
    for (const auto& [name, value] : response.headers) res_.set(name, value);
    res_.body() = std::move(response.body);
    hold_ = std::move(response.hold);
    res_.keep_alive(!close);
    res_.prepare_payload();
    if (head_) res_.body().clear();  // HEAD: the GET's headers (Content-Length included), no body
    stream_.expires_after(server_->opts.read_timeout);
    http::async_write(stream_, res_, [self = shared_from_this(), counted, close](beast::error_code ec, size_t) {
      self->res_.body().clear();
      self->hold_.reset();
      if (counted) self->server_->pending -= 1;
      if (ec || close) {
        if (!ec && self->body_unread_) return self->LingerAndClose();
        self->Close();
      } else {
        self->Read();
      }
    });
  }

  void Close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }

  // The answer is written and the client may still be sending the body: stop sending, then read and
  // drop until it stops or kLingerTime passes (the stream's deadline closes the socket).
  void LingerAndClose() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    linger_buffer_.resize(kLingerBufferBytes);
    stream_.expires_after(kLingerTime);
    DropUntilClosed();
  }

  void DropUntilClosed() {
    stream_.async_read_some(net::buffer(linger_buffer_), [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->Close();
      self->DropUntilClosed();
    });
  }

 public:  // for StreamChannel, on the strand
  // Writes what the channel holds, one batch at a time; closes the connection after the last.
  void FlushStream() {
    if (writing_stream_) return;  // the write's completion flushes again
    bool close_after = false;
    stream_out_ = channel_->TakeQueued(&close_after);
    if (stream_out_.empty()) {
      if (close_after) Close();
      return;
    }
    std::vector<net::const_buffer> buffers;
    for (const std::string& chunk : stream_out_) buffers.push_back(net::buffer(chunk));
    writing_stream_ = true;
    net::async_write(stream_, buffers, [self = shared_from_this()](beast::error_code ec, size_t bytes) {
      self->writing_stream_ = false;
      self->stream_out_.clear();
      if (ec) return self->EndStream();
      self->channel_->Written(bytes);
      self->FlushStream();
    });
  }

  // The streamed response is over without its end: the client went, or the writer was dropped.
  void EndStream() {
    channel_->Abort();
    Close();
  }

 private:
  // The head of a streamed response, then its writer to the handler (HttpResponse::on_stream).
  void StartStream(HttpResponse response, bool counted) {
    if (counted) server_->pending -= 1;
    http::response<http::empty_body> head;
    head.version(11);
    head.result(static_cast<unsigned>(response.status));
    head.set(http::field::server, "rapid");
    head.set(http::field::content_type, response.content_type);
    for (const auto& [name, value] : response.headers) head.set(name, value);
    head.keep_alive(false);
    std::ostringstream head_bytes;
    head_bytes << head.base();
    channel_ = std::make_shared<StreamChannel>(weak_from_this(), server_->opts.max_stream_queue_bytes);
    server_->streams_open += 1;
    server_->RegisterStream(channel_);
    channel_->Write(head_bytes.str());
    if (!head_ && !response.body.empty()) channel_->Write(std::move(response.body));
    if (head_ || server_->draining) channel_->Close();
    stream_.expires_never();  // the body has no deadline; the client's leaving ends it
    ReadWhileStreaming();
    response.on_stream(channel_);
  }

  // Nothing more is expected from the client: reading only tells when it goes away.
  void ReadWhileStreaming() {
    stream_.async_read_some(net::buffer(discard_), [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->EndStream();
      self->ReadWhileStreaming();
    });
  }

  beast::tcp_stream stream_;
  net::steady_timer read_timer_;
  bool timed_out_ = false;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> res_;
  std::shared_ptr<void> hold_;  // the response's HttpResponse::hold while it is written
  http::response<http::empty_body> continue_;  // the interim 100 Continue
  HttpServer::Impl* server_;
  bool keep_alive_ = false;
  bool head_ = false;  // the request being answered is a HEAD
  bool reading_ = false;
  ByteLease memory_;  // the body being read (ReserveBody)
  bool body_unread_ = false;  // the request being answered was refused before its body was read
  std::vector<char> linger_buffer_;  // LingerAndClose's, allocated only then
  // A streamed response (StartStream): its channel, the batch being written, bytes read and ignored.
  std::shared_ptr<StreamChannel> channel_;
  std::vector<std::string> stream_out_;
  bool writing_stream_ = false;
  std::array<char, 512> discard_;
};

bool StreamChannel::Write(std::string chunk) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!open_ || closing_) return false;
  unwritten_bytes_ += static_cast<int64_t>(chunk.size());
  if (unwritten_bytes_ > max_queue_bytes_) {
    // Too slow a client: the session closes the connection (its write, if any, is cancelled).
    open_ = false;
    queue_.clear();
    PostLocked(&Session::EndStream);
    session_.reset();
    return false;
  }
  queue_.push_back(std::move(chunk));
  if (ScheduleFlushLocked()) return true;
  open_ = false;
  queue_.clear();
  return false;
}

void StreamChannel::Close() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!open_ || closing_) return;
  closing_ = true;
  ScheduleFlushLocked();
}

bool StreamChannel::open() const {
  std::lock_guard<std::mutex> lock(mu_);
  return open_ && !closing_;
}

std::vector<std::string> StreamChannel::TakeQueued(bool* close_after) {
  std::lock_guard<std::mutex> lock(mu_);
  flush_posted_ = false;
  *close_after = !open_ || closing_;
  std::vector<std::string> out;
  out.swap(queue_);
  return out;
}

void StreamChannel::Written(size_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  unwritten_bytes_ -= static_cast<int64_t>(bytes);
}

void StreamChannel::Abort() {
  std::lock_guard<std::mutex> lock(mu_);
  open_ = false;
  queue_.clear();
  session_.reset();
}

bool StreamChannel::ScheduleFlushLocked() {
  if (flush_posted_) return true;
  flush_posted_ = PostLocked(&Session::FlushStream);
  return flush_posted_;
}

bool StreamChannel::PostLocked(void (Session::*method)()) {
  std::shared_ptr<Session> session = session_.lock();
  if (!session) return false;
  // The strong reference moves into the handler: the session is never released here, under mu_
  // (its destructor aborts this channel).
  const net::any_io_executor executor = session->executor();
  net::post(executor, [session = std::move(session), method] { ((*session).*method)(); });
  return true;
}

void HttpServer::Impl::RegisterStream(const std::shared_ptr<StreamChannel>& channel) {
  std::lock_guard<std::mutex> lock(streams_mu);
  if (streams_stopped) {
    channel->Abort();
    return;
  }
  std::erase_if(streams, [](const std::weak_ptr<StreamChannel>& w) { return w.expired(); });
  streams.push_back(channel);
}

void HttpServer::Impl::ForEachStream(bool stop, const std::function<void(StreamChannel&)>& fn) {
  std::lock_guard<std::mutex> lock(streams_mu);
  if (stop) streams_stopped = true;
  for (const std::weak_ptr<StreamChannel>& w : streams) {
    if (std::shared_ptr<StreamChannel> channel = w.lock()) fn(*channel);
  }
}

void HttpServer::Impl::Accept() {
  acceptor->async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec == net::error::operation_aborted || !acceptor->is_open()) return;  // stopped accepting
      Accept();
      return;
    }
    auto session = std::make_shared<Session>(std::move(socket), this);
    if (connections > opts.max_connections) {
      session->Refuse();
    } else {
      session->Start();
    }
    Accept();
  });
}

HttpServer::HttpServer(HttpServerOptions opts, Handler handler) : impl_(std::make_unique<Impl>()) {
  impl_->opts = std::move(opts);
  impl_->handler = std::move(handler);
}

HttpServer::~HttpServer() { Stop(); }

Status HttpServer::Start() {
  Impl& s = *impl_;
  const std::string where = s.opts.host + ":" + std::to_string(s.opts.port);
  beast::error_code ec;
  const net::ip::address address = net::ip::make_address(s.opts.host, ec);
  if (ec) {
    return Status::InvalidArgument(s.opts.listen_flag + " " + where + ": '" + s.opts.host + "' is not an IP address");
  }
  s.acceptor.emplace(s.ioc);
  const tcp::endpoint endpoint(address, static_cast<unsigned short>(s.opts.port));
  s.acceptor->open(endpoint.protocol(), ec);
  if (!ec) s.acceptor->set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) s.acceptor->bind(endpoint, ec);
  if (!ec) s.acceptor->listen(net::socket_base::max_listen_connections, ec);
  if (ec) return Status::IOError(s.opts.listen_flag + " " + where + ": cannot listen: " + ec.message());
  s.port = s.acceptor->local_endpoint().port();
  s.work.emplace(net::make_work_guard(s.ioc));
  s.Accept();
  for (int i = 0; i < std::max(1, s.opts.threads); ++i) s.threads.emplace_back([&s] { s.ioc.run(); });
  return Status::OK();
}

int HttpServer::port() const { return impl_->port; }

void HttpServer::StopAccepting() {
  Impl& s = *impl_;
  s.draining = true;
  net::post(s.ioc, [&s] {
    beast::error_code ec;
    if (s.acceptor) s.acceptor->close(ec);
  });
  s.ForEachStream(/*stop=*/false, [](StreamChannel& channel) { channel.Close(); });
}

void HttpServer::Stop() {
  Impl& s = *impl_;
  // First, so that no writer touches a session from here on (Write then returns false).
  s.ForEachStream(/*stop=*/true, [](StreamChannel& channel) { channel.Abort(); });
  if (s.threads.empty()) return;
  s.work.reset();
  s.ioc.stop();
  for (std::thread& t : s.threads) t.join();
  s.threads.clear();
}

int64_t HttpServer::pending() const { return impl_->pending; }
int64_t HttpServer::connections() const { return impl_->connections; }
int64_t HttpServer::streams() const { return impl_->streams_open; }

}  // namespace rapid
