// Load generator for `rapid serve` (bench/serve_load.sh drives it): one thread, asynchronous
// Boost.Beast client, so the figures are the server's and not a client's queueing.
//
//   serve_load_client PHASE --port P [--server-pid PID] [--path /v1/models/phasenet/picks]
//                     [--seconds S] [--concurrency C] [--rate R] [--max-connections N]
//                     [--signal-after T] BODY.mseed...
// Phases (each prints one JSON line):
//   saturate  closed loop: C connections post back to back for S seconds -> windows/s, requests/s
//   rate      open loop: a request every 1/R s for S seconds, each on an idle kept-alive connection or
//             a new one (at most N open) -> p50/p99 latency by status from the send, the client's lag
//             behind the schedule (a request waiting for a connection), codes, server peak RSS
//   drain     as rate, with SIGTERM to the server after T s, then no more sends -> every request sent
//             before the signal must be answered (200, or 503 when it arrived while draining)
// Bodies: miniSEED files, one request each, cycled. Status 0: no answer (connection failed or closed).
#include <signal.h>
#include <sys/types.h>

#include <utility>  // before Boost 1.74 Asio, whose awaitable.hpp uses std::exchange without it

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;

struct Options {
  std::string phase;
  int port = 0;
  pid_t server_pid = 0;
  std::string path = "/v1/models/phasenet/picks";
  double seconds = 20;
  int concurrency = 8;
  double rate_per_s = 10;
  int max_connections = 1024;
  double signal_after_s = 2;
  std::vector<std::string> bodies;
};

double SecondsSince(Clock::time_point t0, Clock::time_point t) { return std::chrono::duration<double>(t - t0).count(); }

// One request's outcome: scheduled/sent/answered on the steady clock; status 0 = no answer.
struct Outcome {
  Clock::time_point scheduled, sent, answered;
  size_t body = 0;  // index into the bodies, cycled
  int status = 0;
  std::string error;  // why status is 0: the step and the system's message
  int64_t windows = 0;
};

Outcome Scheduled(Clock::time_point at, size_t body) {
  Outcome o;
  o.scheduled = at;
  o.body = body;
  return o;
}

// A kept-alive connection carrying one request at a time. `done` is called once per Send.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  using Done = std::function<void(std::shared_ptr<Connection>, Outcome)>;
  Connection(net::io_context& ioc, int port) : stream_(ioc), endpoint_(net::ip::make_address("127.0.0.1"), port) {}

  bool open() const { return open_; }

  void Send(const std::string& path, const std::string& body, Outcome outcome, Done done) {
    outcome_ = outcome;
    outcome_.sent = Clock::now();
    done_ = std::move(done);
    request_ = {http::verb::post, path, 11};
    request_.set(http::field::host, "127.0.0.1");
    request_.set(http::field::content_type, "application/vnd.fdsn.mseed");
    request_.body() = body;
    request_.prepare_payload();
    stream_.expires_after(std::chrono::seconds(60));
    retry_on_fresh_ = open_;
    if (open_) return Write();
    Connect();
  }

 private:
  void Connect() {
    stream_.async_connect(endpoint_, [self = shared_from_this()](beast::error_code ec) {
      if (ec) return self->Fail("connect", ec);
      self->open_ = true;
      self->Write();
    });
  }

  void Write() {
    http::async_write(stream_, request_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return self->Fail("write", ec);
      self->parser_.emplace();
      self->parser_->body_limit(1ull << 30);
      http::async_read(self->stream_, self->buffer_, *self->parser_,
                       [self](beast::error_code ec, std::size_t) { self->OnRead(ec); });
    });
  }

  void OnRead(beast::error_code ec) {
    if (ec) return Fail("read", ec);
    const auto& res = parser_->get();
    const int status = static_cast<int>(res.result_int());
    if (status == 200) {
      const Json answer = Json::parse(res.body(), nullptr, /*allow_exceptions=*/false);
      if (answer.is_object() && answer.contains("windows")) outcome_.windows = answer["windows"].get<int64_t>();
    }
    if (!res.keep_alive()) Close();
    Finish(status);
  }

  void Fail(const char* step, beast::error_code ec) {
    // The server may close an idle kept-alive connection as the request goes out (HTTP/1.1 allows
    // it): once, the request goes again on a new connection, as browsers and client libraries do.
    if (retry_on_fresh_ && !(parser_ && parser_->got_some())) {
      retry_on_fresh_ = false;
      Close();
      parser_.reset();
      return Connect();
    }
    outcome_.error = std::string(step) + ": " + ec.message();
    Finish(0);
  }

  void Finish(int status) {
    if (status == 0) Close();
    outcome_.status = status;
    outcome_.answered = Clock::now();
    auto done = std::move(done_);
    done(shared_from_this(), outcome_);
  }

  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
    open_ = false;
    buffer_.clear();
  }

  beast::tcp_stream stream_;
  tcp::endpoint endpoint_;
  bool open_ = false;
  bool retry_on_fresh_ = false;  // the request went out on a reused connection, not retried yet
  http::request<http::string_body> request_;
  beast::flat_buffer buffer_;
  std::optional<http::response_parser<http::string_body>> parser_;
  Outcome outcome_;
  Done done_;
};

int64_t ResidentBytes(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
  }
  return 0;
}

double Percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  const auto k = static_cast<size_t>(std::llround(p / 100.0 * static_cast<double>(values.size() - 1)));
  return values[std::min(k, values.size() - 1)];
}

double Round1(double v) { return std::round(v * 10.0) / 10.0; }

Json CodesOf(const std::vector<Outcome>& outcomes) {
  std::map<int, int64_t> codes;
  for (const auto& o : outcomes) ++codes[o.status];
  Json j = Json::object();
  for (const auto& [code, n] : codes) j[std::to_string(code)] = n;
  return j;
}

Json ErrorsOf(const std::vector<Outcome>& outcomes) {
  std::map<std::string, int64_t> errors;
  for (const auto& o : outcomes) {
    if (o.status == 0) ++errors[o.error];
  }
  return errors;
}

Json Saturate(const Options& opt, const std::vector<std::string>& bodies) {
  net::io_context ioc;
  const auto start = Clock::now();
  const auto stop_at = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(opt.seconds));
  std::vector<Outcome> outcomes;
  std::function<void(std::shared_ptr<Connection>, size_t)> next = [&](std::shared_ptr<Connection> c, size_t k) {
    if (Clock::now() >= stop_at) return;
    c->Send(opt.path, bodies[k % bodies.size()], Scheduled(Clock::now(), k), [&, k](std::shared_ptr<Connection> c, Outcome o) {
      outcomes.push_back(o);
      next(std::move(c), k + static_cast<size_t>(opt.concurrency));
    });
  };
  for (int i = 0; i < opt.concurrency; ++i) next(std::make_shared<Connection>(ioc, opt.port), static_cast<size_t>(i));
  ioc.run();
  const double wall = SecondsSince(start, Clock::now());
  int64_t windows = 0;
  for (const auto& o : outcomes) windows += o.windows;
  return {{"phase", "saturate"},
          {"seconds", Round1(wall)},
          {"concurrency", opt.concurrency},
          {"requests_per_s", Round1(static_cast<double>(outcomes.size()) / wall)},
          {"windows_per_s", Round1(static_cast<double>(windows) / wall)},
          {"codes", CodesOf(outcomes)},
          {"errors", ErrorsOf(outcomes)}};
}

// Open loop at opt.rate_per_s; with `signal` the server gets SIGTERM after opt.signal_after_s and the
// schedule ends there.
Json OpenLoop(const Options& opt, const std::vector<std::string>& bodies, bool signal) {
  net::io_context ioc;
  const auto start = Clock::now();
  const auto total = static_cast<int64_t>(opt.rate_per_s * opt.seconds);
  std::vector<Outcome> outcomes;
  std::vector<std::shared_ptr<Connection>> idle;
  std::deque<Outcome> waiting;  // scheduled, no connection free yet
  int open_connections = 0;
  int64_t in_flight = 0;
  int64_t peak_rss = 0;
  std::optional<Clock::time_point> signalled_at;
  bool schedule_done = false;

  Connection::Done on_done = [&](std::shared_ptr<Connection> c, Outcome o) {
    --in_flight;
    outcomes.push_back(o);
    if (!waiting.empty()) {
      Outcome w = waiting.front();
      waiting.pop_front();
      ++in_flight;
      return c->Send(opt.path, bodies[w.body % bodies.size()], w, on_done);
    }
    idle.push_back(std::move(c));
  };
  auto dispatch = [&](Outcome o) {
    std::shared_ptr<Connection> c;
    if (!idle.empty()) {
      c = std::move(idle.back());
      idle.pop_back();
    } else if (open_connections < opt.max_connections) {
      c = std::make_shared<Connection>(ioc, opt.port);
      ++open_connections;
    } else {
      waiting.push_back(o);
      return;
    }
    ++in_flight;
    c->Send(opt.path, bodies[o.body % bodies.size()], o, on_done);
  };

  net::steady_timer sender(ioc);
  int64_t sent = 0;
  std::function<void()> schedule_next = [&] {
    if (sent >= total || (signal && signalled_at)) {
      schedule_done = true;
      return;
    }
    const auto due = start + std::chrono::duration_cast<Clock::duration>(
                                 std::chrono::duration<double>(static_cast<double>(sent) / opt.rate_per_s));
    sender.expires_at(due);
    sender.async_wait([&, due](beast::error_code) {
      if (signal && !signalled_at && SecondsSince(start, Clock::now()) >= opt.signal_after_s) {
        signalled_at = Clock::now();
        kill(opt.server_pid, SIGTERM);
        schedule_done = true;
        return;
      }
      dispatch(Scheduled(due, static_cast<size_t>(sent)));
      ++sent;
      schedule_next();
    });
  };
  net::steady_timer sampler(ioc);
  std::function<void()> sample = [&] {
    if (opt.server_pid > 0) peak_rss = std::max(peak_rss, ResidentBytes(opt.server_pid));
    if (schedule_done && in_flight == 0 && waiting.empty()) {
      for (auto& c : idle) c.reset();
      return;
    }
    sampler.expires_after(std::chrono::milliseconds(50));
    sampler.async_wait([&](beast::error_code) { sample(); });
  };
  schedule_next();
  sample();
  ioc.run();

  std::map<int, std::vector<double>> latency_s;  // from the send: what the server took (connect included)
  std::vector<double> lag_s;                      // from the schedule to the send: the client's queueing
  for (const auto& o : outcomes) {
    latency_s[o.status].push_back(SecondsSince(o.sent, o.answered));
    lag_s.push_back(SecondsSince(o.scheduled, o.sent));
  }
  Json latency = Json::object();
  for (const auto& [code, v] : latency_s) {
    latency[std::to_string(code)] = {{"p50", Round1(Percentile(v, 50) * 1e3)}, {"p99", Round1(Percentile(v, 99) * 1e3)}};
  }
  Json out = {{"phase", signal ? "drain" : "rate"},
              {"rate_per_s", opt.rate_per_s},
              {"sent", outcomes.size()},
              {"connections", open_connections},
              {"codes", CodesOf(outcomes)},
              {"errors", ErrorsOf(outcomes)},
              {"latency_ms", latency},
              {"client_lag_ms",
               lag_s.empty() ? Json(nullptr)
                             : Json{{"p50", Round1(Percentile(lag_s, 50) * 1e3)}, {"p99", Round1(Percentile(lag_s, 99) * 1e3)}}},
              {"server_peak_rss_bytes", peak_rss}};
  if (signal) {
    out["signalled_after_s"] = opt.signal_after_s;
    int64_t unanswered = 0;  // sent before the signal and never answered
    for (const auto& o : outcomes) unanswered += (o.status == 0 && signalled_at && o.sent < *signalled_at) ? 1 : 0;
    out["unanswered"] = unanswered;
  }
  return out;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

Options Parse(int argc, char** argv) {
  Options opt;
  if (argc < 2) throw std::runtime_error("usage: serve_load_client saturate|rate|drain --port P ... BODY...");
  opt.phase = argv[1];
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(a + " needs a value");
      return argv[++i];
    };
    if (a == "--port") opt.port = std::stoi(value());
    else if (a == "--server-pid") opt.server_pid = static_cast<pid_t>(std::stoi(value()));
    else if (a == "--path") opt.path = value();
    else if (a == "--seconds") opt.seconds = std::stod(value());
    else if (a == "--concurrency") opt.concurrency = std::stoi(value());
    else if (a == "--rate") opt.rate_per_s = std::stod(value());
    else if (a == "--max-connections") opt.max_connections = std::stoi(value());
    else if (a == "--signal-after") opt.signal_after_s = std::stod(value());
    else if (a.rfind("--", 0) == 0) throw std::runtime_error("unknown option " + a);
    else opt.bodies.push_back(a);
  }
  if (opt.port <= 0 || opt.bodies.empty()) throw std::runtime_error("--port and at least one body are required");
  if (opt.phase == "drain" && opt.server_pid <= 0) throw std::runtime_error("drain needs --server-pid");
  return opt;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Options opt = Parse(argc, argv);
    std::vector<std::string> bodies;
    for (const auto& path : opt.bodies) bodies.push_back(ReadFile(path));
    Json result;
    if (opt.phase == "saturate") result = Saturate(opt, bodies);
    else if (opt.phase == "rate") result = OpenLoop(opt, bodies, /*signal=*/false);
    else if (opt.phase == "drain") result = OpenLoop(opt, bodies, /*signal=*/true);
    else throw std::runtime_error("unknown phase " + opt.phase);
    std::cout << result.dump() << std::endl;
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "serve_load_client: " << e.what() << "\n";
    return 2;
  }
}
