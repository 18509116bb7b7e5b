#include "serve/http_server.h"

#include <atomic>
#include <utility>  // before Boost 1.74 Asio, whose awaitable.hpp uses std::exchange without it

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <optional>
#include <thread>

#include "serve/request_parsing.h"

namespace rapid {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

constexpr size_t kHeaderLimitBytes = 64 * 1024;

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

struct HttpServer::Impl {
  HttpServerOptions opts;
  Handler handler;
  net::io_context ioc;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::optional<tcp::acceptor> acceptor;
  std::vector<std::thread> threads;
  std::atomic<int64_t> pending{0}, connections{0};
  std::atomic<bool> draining{false};
  int port = 0;

  void Accept();
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, HttpServer::Impl* server)
      : stream_(std::move(socket)), read_timer_(stream_.get_executor()), server_(server) {
    server_->connections += 1;
  }
  ~Session() { server_->connections -= 1; }

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

  void ReadBody() {
    http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&Session::OnRead, shared_from_this()));
  }

  void OnRead(beast::error_code ec, size_t) {
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
    close = close || server_->draining;
    res_ = {};
    res_.version(11);
    res_.result(static_cast<unsigned>(response.status));
    res_.set(http::field::server, "rapid");
    res_.set(http::field::content_type, response.content_type);
    for (const auto& [name, value] : response.headers) res_.set(name, value);
    res_.body() = std::move(response.body);
    res_.keep_alive(!close);
    res_.prepare_payload();
    if (head_) res_.body().clear();  // HEAD: the GET's headers (Content-Length included), no body
    stream_.expires_after(server_->opts.read_timeout);
    http::async_write(stream_, res_, [self = shared_from_this(), counted, close](beast::error_code ec, size_t) {
      if (counted) self->server_->pending -= 1;
      if (ec || close) {
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

  beast::tcp_stream stream_;
  net::steady_timer read_timer_;
  bool timed_out_ = false;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> res_;
  http::response<http::empty_body> continue_;  // the interim 100 Continue
  HttpServer::Impl* server_;
  bool keep_alive_ = false;
  bool head_ = false;  // the request being answered is a HEAD
  bool reading_ = false;
};

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
  if (ec) return Status::InvalidArgument("--listen " + where + ": '" + s.opts.host + "' is not an IP address");
  s.acceptor.emplace(s.ioc);
  const tcp::endpoint endpoint(address, static_cast<unsigned short>(s.opts.port));
  s.acceptor->open(endpoint.protocol(), ec);
  if (!ec) s.acceptor->set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) s.acceptor->bind(endpoint, ec);
  if (!ec) s.acceptor->listen(net::socket_base::max_listen_connections, ec);
  if (ec) return Status::IOError("--listen " + where + ": cannot listen: " + ec.message());
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
}

void HttpServer::Stop() {
  Impl& s = *impl_;
  if (s.threads.empty()) return;
  s.work.reset();
  s.ioc.stop();
  for (std::thread& t : s.threads) t.join();
  s.threads.clear();
}

int64_t HttpServer::pending() const { return impl_->pending; }
int64_t HttpServer::connections() const { return impl_->connections; }

}  // namespace rapid
