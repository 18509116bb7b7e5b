#include "seedlink_test_server.h"

#include <fnmatch.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libmseed.h>

#include <cstdio>
#include <optional>
#include <sstream>

namespace rapid::testing {
namespace {

std::string Trim(const std::string& s) {
  const size_t a = s.find_first_not_of(' '), b = s.find_last_not_of(' ');
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

bool Glob(const std::string& pattern, const std::string& text) { return fnmatch(pattern.c_str(), text.c_str(), 0) == 0; }

bool SendAll(int fd, const std::string& bytes) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

std::string LittleEndian(uint64_t v, int bytes) {
  std::string out;
  for (int i = 0; i < bytes; ++i) out += static_cast<char>((v >> (8 * i)) & 0xFF);
  return out;
}

std::string V4Packet(char format, char subformat, uint64_t sequence, const std::string& station, const std::string& payload) {
  return std::string("SE") + format + subformat + LittleEndian(payload.size(), 4) + LittleEndian(sequence, 8) +
         static_cast<char>(station.size()) + station + payload;
}

// One STATION of a handshake: its patterns, SELECTs and where its data start.
struct Entry {
  std::string network, station;
  std::vector<std::pair<std::string, std::string>> selects;  // (location, channel) patterns
  std::vector<std::string> selects_v4;                       // LOC_B_S_SS patterns
  std::optional<uint64_t> from;                              // first sequence; none: new data only
};

}  // namespace

std::vector<std::string> SplitRecords(const std::string& bytes) {
  std::vector<std::string> out;
  for (size_t at = 0; at + 48 <= bytes.size();) {
    const int length = ms_detect(bytes.data() + at, static_cast<int>(bytes.size() - at));
    if (length <= 0) break;
    out.push_back(bytes.substr(at, static_cast<size_t>(length)));
    at += static_cast<size_t>(length);
  }
  return out;
}

TestSeedLinkServer::TestSeedLinkServer(TestSeedLinkOptions opts) : opts_(opts) {
  listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
  const int yes = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(opts_.port));
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(listen_fd_, 16) != 0) {
    close(listen_fd_);
    listen_fd_ = -1;
    return;
  }
  socklen_t len = sizeof addr;
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { Accept(); });
}

TestSeedLinkServer::~TestSeedLinkServer() { Stop(); }

void TestSeedLinkServer::Stop() {
  if (stopping_.exchange(true)) return;
  if (listen_fd_ >= 0) shutdown(listen_fd_, SHUT_RDWR);
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (int fd : open_fds_) shutdown(fd, SHUT_RDWR);
  }
  appended_.notify_all();
  if (acceptor_.joinable()) acceptor_.join();
  for (std::thread& t : threads_) t.join();
  if (listen_fd_ >= 0) close(listen_fd_);
}

void TestSeedLinkServer::Append(std::string record) {
  Record r;
  r.station_id = Trim(record.substr(18, 2)) + "_" + Trim(record.substr(8, 5));
  r.location = Trim(record.substr(13, 2));
  r.channel = Trim(record.substr(15, 3));
  r.bytes = std::move(record);
  {
    std::lock_guard<std::mutex> lock(mu_);
    r.sequence = records_.size() + 1;
    records_.push_back(std::move(r));
  }
  appended_.notify_all();
}

void TestSeedLinkServer::Accept() {
  while (!stopping_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    const int fd = accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) continue;
    std::lock_guard<std::mutex> lock(mu_);
    open_fds_.push_back(fd);
    threads_.emplace_back([this, fd, index = connections_++] { Serve(fd, index); });
  }
}

void TestSeedLinkServer::Serve(int fd, int64_t index) {
  int protocol = 3;
  std::vector<Entry> entries;
  std::string pending;
  bool streaming = false;
  size_t live_from = 0;  // records before this index were there before END
  auto reply = [&](bool ok, const std::string& why = "") {
    return SendAll(fd, ok ? "OK\r\n" : (protocol >= 4 ? "ERROR ARGUMENTS " + why + "\r\n" : "ERROR\r\n"));
  };
  // The handshake, a line at a time.
  while (!stopping_ && !streaming) {
    const size_t eol = pending.find_first_of("\r\n");
    if (eol == std::string::npos) {
      char chunk[4096];
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      const ssize_t n = recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0) break;
      pending.append(chunk, static_cast<size_t>(n));
      continue;
    }
    std::string line = pending.substr(0, eol);
    pending.erase(0, pending.find_first_not_of("\r\n", eol) == std::string::npos ? pending.size()
                                                                                  : pending.find_first_not_of("\r\n", eol));
    std::istringstream words(line);
    std::string command;
    words >> command;
    std::vector<std::string> args;
    for (std::string w; words >> w;) args.push_back(w);
    if (command.empty()) continue;
    if (command == "HELLO") {
      SendAll(fd, std::string(opts_.offer_v4 ? "SeedLink v4.0 (RapidTestServer) :: SLPROTO:4.0 SLPROTO:3.1 CAP"
                                             : "SeedLink v3.1 (RapidTestServer) :: SLPROTO:3.1 CAP") +
                      "\r\nRAPID test server\r\n");
    } else if (command == "SLPROTO") {
      const bool ok = opts_.offer_v4 && args.size() == 1 && args[0] == "4.0";
      if (ok) protocol = 4;
      reply(ok, "unsupported protocol version");
    } else if (command == "USERAGENT") {
      reply(true);
    } else if (command == "STATION") {
      Entry e;
      if (protocol >= 4 && args.size() == 1 && args[0].find('_') != std::string::npos) {
        e.network = args[0].substr(0, args[0].find('_'));
        e.station = args[0].substr(args[0].find('_') + 1);
      } else if (protocol < 4 && !args.empty() && args.size() <= 2) {
        e.station = args[0];
        e.network = args.size() == 2 ? args[1] : "*";
      } else {
        reply(false, "bad STATION");
        continue;
      }
      entries.push_back(e);
      reply(true);
    } else if (command == "SELECT") {
      if (entries.empty() || args.empty()) {
        reply(false, "SELECT needs a station and a pattern");
        continue;
      }
      for (const std::string& a : args) {
        if (protocol >= 4) {
          entries.back().selects_v4.push_back(a);
        } else if (a.size() == 5) {
          entries.back().selects.push_back({a.substr(0, 2) == "--" ? "" : a.substr(0, 2), a.substr(2)});
        } else {
          entries.back().selects.push_back({"*", a});
        }
      }
      reply(true);
    } else if (command == "DATA") {
      if (entries.empty()) {
        reply(false, "all-station mode is not served here");
        continue;
      }
      if (args.empty()) {
        entries.back().from.reset();
      } else if (args[0] == "ALL") {
        entries.back().from = 0;
      } else {
        entries.back().from = protocol >= 4 ? std::stoull(args[0]) : std::stoull(args[0], nullptr, 16);
      }
      reply(true);
    } else if (command == "TIME") {  // 3.1: every record held (the tests start before them all)
      if (entries.empty() || args.empty()) {
        reply(false, "TIME needs a station and a start");
        continue;
      }
      entries.back().from = 0;
      reply(true);
    } else if (command == "END") {
      streaming = true;
      std::lock_guard<std::mutex> lock(mu_);
      live_from = records_.size();
    } else if (command == "BYE") {
      break;
    } else {
      reply(false, "unsupported command");
    }
  }
  // Streaming: every record a STATION entry takes (the first whose patterns match), in order.
  auto wanted = [&](const Record& r, size_t position) {
    for (const Entry& e : entries) {
      const std::string net = r.station_id.substr(0, r.station_id.find('_'));
      const std::string sta = r.station_id.substr(r.station_id.find('_') + 1);
      if (!Glob(e.network, net) || !Glob(e.station, sta)) continue;
      if (e.from ? r.sequence < *e.from : position < live_from) return false;
      if (protocol >= 4 && !e.selects_v4.empty()) {
        const std::string id = r.location + "_" + r.channel.substr(0, 1) + "_" + r.channel.substr(1, 1) + "_" + r.channel.substr(2, 1);
        bool any = false;
        for (const std::string& s : e.selects_v4) any = any || Glob(s, id);
        return any;
      }
      if (protocol < 4 && !e.selects.empty()) {
        bool any = false;
        for (const auto& [loc, cha] : e.selects) any = any || (Glob(loc, r.location) && Glob(cha, r.channel));
        return any;
      }
      return true;
    }
    return false;
  };
  int64_t sent = 0;
  size_t next = 0;
  while (streaming && !stopping_) {
    // INFO ID keepalives while streaming.
    char chunk[1024];
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 0) > 0) {
      const ssize_t n = recv(fd, chunk, sizeof chunk, MSG_DONTWAIT);
      if (n == 0) break;
      if (n > 0 && std::string(chunk, static_cast<size_t>(n)).rfind("INFO", 0) == 0) {
        SendAll(fd, protocol >= 4 ? V4Packet('J', 'I', 0, "", "{\"software\":\"RapidTestServer\"}")
                                  : "SLINFO  " + std::string(512, '\0'));
      }
    }
    Record r;
    {
      std::unique_lock<std::mutex> lock(mu_);
      appended_.wait_for(lock, std::chrono::milliseconds(50), [&] { return stopping_ || next < records_.size(); });
      if (next >= records_.size()) continue;
      r = records_[next];
    }
    if (!wanted(r, next++)) continue;
    if (index == 0 && opts_.garbage_after_packets >= 0 && sent == opts_.garbage_after_packets) {
      SendAll(fd, protocol >= 4 ? std::string("SX") + std::string(30, '\x7f') : std::string("SLZZZZZZ") + std::string(512, '\x7f'));
      break;  // as a server would after a corrupted write: the connection is lost
    }
    char header[16];
    std::snprintf(header, sizeof header, "SL%06llX", static_cast<unsigned long long>(r.sequence & 0xFFFFFF));
    if (!SendAll(fd, protocol >= 4 ? V4Packet('2', 'D', r.sequence, r.station_id, r.bytes) : header + r.bytes)) break;
    packets_sent_ += 1;
    if (++sent == opts_.close_after_packets) break;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::erase(open_fds_, fd);  // before close: a new connection may get the same number
  }
  shutdown(fd, SHUT_RDWR);
  close(fd);
}

}  // namespace rapid::testing
