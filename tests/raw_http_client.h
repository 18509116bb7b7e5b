// Test helper: a raw HTTP client over a loopback socket, for what the blocking helpers of
// http_client.h cannot do — an SSE subscriber reading as events arrive, a client that stops
// reading, a request of arbitrary bytes.
#pragma once

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace rapid::testing {

// A raw client of one GET (an SSE subscriber, or anything the helpers in http_client.h cannot do).
class RawClient {
 public:
  // Connects to 127.0.0.1:port and sends `request` (a GET of `path` when it has no space). A
  // receive buffer of `rcvbuf_bytes` (0: the system's) makes a client that cannot absorb much.
  RawClient(int port, const std::string& request, int rcvbuf_bytes = 0) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    if (rcvbuf_bytes > 0) setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf_bytes, sizeof rcvbuf_bytes);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      Close();
      return;
    }
    const std::string text =
        request.find(' ') == std::string::npos ? "GET " + request + " HTTP/1.1\r\nHost: x\r\n\r\n" : request;
    if (send(fd_, text.data(), text.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(text.size())) Close();
  }
  ~RawClient() { Close(); }

  bool connected() const { return fd_ >= 0; }
  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }
  // Reads until `done(received)` or the peer closes or the timeout; whether `done` came true.
  bool ReadUntil(const std::function<bool(const RawClient&)>& done, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done(*this)) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
      if (left <= 0 || fd_ < 0 || closed_) return false;
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left)) <= 0) continue;
      char buf[65536];
      const ssize_t n = recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        closed_ = true;
        continue;
      }
      text_.append(buf, static_cast<size_t>(n));
      received_bytes_ += n;
    }
    return true;
  }
  // Reads until the server closes the connection; false when it did not within `timeout`.
  bool ReadUntilClosed(std::chrono::milliseconds timeout) {
    ReadUntil([](const RawClient& c) { return c.closed_; }, timeout);
    return closed_;
  }
  bool HeadComplete() const { return text_.find("\r\n\r\n") != std::string::npos; }
  std::string head() const { return HeadComplete() ? text_.substr(0, text_.find("\r\n\r\n") + 4) : ""; }
  std::string body() const { return HeadComplete() ? text_.substr(text_.find("\r\n\r\n") + 4) : ""; }
  const std::string& text() const { return text_; }
  int64_t received_bytes() const { return received_bytes_; }
  void ForgetText() { text_.clear(); }

 private:
  int fd_ = -1;
  bool closed_ = false;
  std::string text_;
  std::atomic<int64_t> received_bytes_{0};
};

}  // namespace rapid::testing
