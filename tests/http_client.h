// Test helper: a blocking HTTP/1.1 client over loopback (Boost.Beast), and a `rapid serve` process
// started on a free port.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

namespace rapid::testing {

struct HttpAnswer {
  int status = 0;  // 0: no answer (connection failed or closed without a response)
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string error;                           // why status is 0
};

// One request on a new connection to 127.0.0.1:port.
HttpAnswer Http(int port, const std::string& method, const std::string& target, const std::string& body = "",
                const std::map<std::string, std::string>& headers = {});

// A plain TCP connection to 127.0.0.1:port (for clients that misbehave on purpose); -1 on failure.
int ConnectLoopback(int port);

// `rapid serve --listen 127.0.0.1:0 --port-file …` plus `args`, waited for until it listens.
// The destructor stops it (SIGKILL if still running).
class ServeProcess {
 public:
  explicit ServeProcess(const std::vector<std::string>& args);
  ~ServeProcess();
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  // SIGTERM, then the exit code (waits at most `timeout_s`; -1 when it did not exit).
  int Terminate(double timeout_s = 60.0);

 private:
  std::string dir_;
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace rapid::testing
