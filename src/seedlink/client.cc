#include "seedlink/client.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <thread>

#include "seedlink/packet.h"

namespace rapid {

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::chrono::milliseconds kStopPoll{100};
constexpr uint64_t kV3SequenceMask = 0xFFFFFF;

std::string Trim(std::string_view s) {
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  return std::string(s);
}

// The sequence `seq` comes after `last` (3.1: 24 bits that wrap; 4.0: 64 bits).
bool After(uint64_t seq, uint64_t last, int protocol_major) {
  if (protocol_major >= 4) return seq > last;
  const uint64_t ahead = (seq - last) & kV3SequenceMask;
  return ahead != 0 && ahead < (kV3SequenceMask + 1) / 2;
}

// "YYYY-MM-DDThh:mm:ss.ffffffZ" → 3.1's "YYYY,MM,DD,hh,mm,ss".
std::string CommaTime(NanoTime t) {
  std::string iso = FormatIsoMicros(t);
  std::string out = iso.substr(0, 4) + "," + iso.substr(5, 2) + "," + iso.substr(8, 2) + "," + iso.substr(11, 2) + "," +
                    iso.substr(14, 2) + "," + iso.substr(17, 2);
  return out;
}

}  // namespace

std::string MseedStationId(std::string_view record) {
  if (record.size() < 48) return "";
  return Trim(record.substr(18, 2)) + "_" + Trim(record.substr(8, 5));
}

// A TCP connection with a read buffer; every wait is bounded and looks at the stop flag.
class SeedLinkClient::Connection {
 public:
  Connection(const std::atomic<bool>& stop, std::chrono::milliseconds reply_timeout)
      : stop_(stop), reply_timeout_(reply_timeout) {}
  ~Connection() {
    if (fd_ >= 0) close(fd_);
  }

  Status Open(const std::string& host, int port) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const std::string where = host + ":" + std::to_string(port);
    if (int e = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found); e != 0) {
      return Status::IOError("SeedLink server " + where + ": " + gai_strerror(e));
    }
    std::string last_error = "no address";
    for (addrinfo* a = found; a != nullptr && fd_ < 0; a = a->ai_next) {
      const int fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
      if (fd < 0) continue;
      if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
        fd_ = fd;
      } else {
        last_error = std::strerror(errno);
        close(fd);
      }
    }
    freeaddrinfo(found);
    if (fd_ < 0) return Status::IOError("SeedLink server " + where + ": cannot connect: " + last_error);
    return Status::OK();
  }

  Status Send(const std::string& command) {
    const std::string line = command + "\r\n";
    size_t sent = 0;
    while (sent < line.size()) {
      const ssize_t n = send(fd_, line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return Status::IOError("sending '" + command + "': " + std::strerror(errno));
      sent += static_cast<size_t>(n);
    }
    return Status::OK();
  }

  // Reads what arrives within `wait` into the buffer. NotFound: nothing arrived (not an error).
  Status Fill(std::chrono::milliseconds wait) {
    pollfd p{fd_, POLLIN, 0};
    const int ready = poll(&p, 1, static_cast<int>(std::min(wait, kStopPoll).count()));
    if (ready < 0 && errno != EINTR) return Status::IOError(std::string("poll: ") + std::strerror(errno));
    if (ready <= 0) return Status::NotFound("nothing yet");
    char chunk[65536];
    const ssize_t n = recv(fd_, chunk, sizeof chunk, 0);
    if (n == 0) return Status::IOError("the server closed the connection");
    if (n < 0) return errno == EINTR ? Status::NotFound("interrupted") : Status::IOError(std::string("recv: ") + std::strerror(errno));
    buffer.append(chunk, static_cast<size_t>(n));
    return Status::OK();
  }

  // One reply line without its terminator (3.1's extended "OK\r<message>" keeps the message).
  Status ReadLine(std::string* line) {
    const auto deadline = Clock::now() + reply_timeout_;
    while (true) {
      const size_t eol = buffer.find("\r\n");
      if (eol != std::string::npos) {
        *line = buffer.substr(0, eol);
        buffer.erase(0, eol + 2);
        return Status::OK();
      }
      if (stop_) return Status::IOError("stopped");
      if (Clock::now() >= deadline) return Status::IOError("no reply within the timeout");
      if (Status s = Fill(kStopPoll); !s.ok() && s.code() != Status::Code::kNotFound) return s;
    }
  }

  // Sends a command answered by OK or ERROR; InvalidArgument carries the server's refusal.
  Status Command(const std::string& command) {
    if (Status s = Send(command); !s.ok()) return s;
    std::string reply;
    if (Status s = ReadLine(&reply); !s.ok()) return Status::IOError("'" + command + "': " + s.message());
    if (reply.rfind("OK", 0) == 0) return Status::OK();
    for (char& c : reply) {
      if (c == '\r') c = ' ';
    }
    return Status::InvalidArgument("'" + command + "' refused: " + reply);
  }

  std::string buffer;

 private:
  const std::atomic<bool>& stop_;
  const std::chrono::milliseconds reply_timeout_;
  int fd_ = -1;
};

SeedLinkClient::SeedLinkClient(SeedLinkClientOptions opts, std::map<std::string, uint64_t> last_sequences,
                               RecordFn on_record, LogFn log)
    : opts_(std::move(opts)), on_record_(std::move(on_record)), log_(std::move(log)), last_(std::move(last_sequences)) {}

std::map<std::string, uint64_t> SeedLinkClient::last_sequences() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_;
}

void SeedLinkClient::Run(const std::atomic<bool>& stop) {
  auto delay = opts_.reconnect_delay_min;
  while (!stop) {
    bool delivered = false;
    const Status ended = Session(stop, &delivered);
    if (stop) return;
    if (delivered) delay = opts_.reconnect_delay_min;
    log_("SeedLink " + opts_.host + ":" + std::to_string(opts_.port) + ": " + ended.message() + "; reconnecting in " +
         std::to_string(delay.count()) + " ms");
    for (auto until = Clock::now() + delay; !stop && Clock::now() < until;) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    delay = std::min(opts_.reconnect_delay_max, delay * 2);
  }
}

std::string SeedLinkClient::DataCommand(std::optional<uint64_t> after) const {
  const bool v4 = protocol_major_ >= 4;
  if (after) return v4 ? "DATA " + std::to_string(*after + 1) : [&] {
    char hex[16];
    std::snprintf(hex, sizeof hex, "%06llX", static_cast<unsigned long long>((*after + 1) & kV3SequenceMask));
    return "DATA " + std::string(hex);
  }();
  if (opts_.start == kUnsetTime) return "DATA";
  return v4 ? "DATA ALL " + FormatIsoMicros(opts_.start) : "TIME " + CommaTime(opts_.start);
}

Status SeedLinkClient::Negotiate(Connection* c) {
  RAPID_RETURN_IF_ERROR(c->Send("HELLO"));
  std::string id, organisation;
  RAPID_RETURN_IF_ERROR(c->ReadLine(&id));
  RAPID_RETURN_IF_ERROR(c->ReadLine(&organisation));
  std::string lower = id;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  if (lower.rfind("seedlink", 0) != 0) return Status::Corruption("not a SeedLink server: HELLO answered '" + id + "'");
  ringserver_ = lower.find("ringserver") != std::string::npos;
  bool offers_v4 = false;
  if (const size_t caps = id.find("::"); caps != std::string::npos) {
    offers_v4 = id.find("SLPROTO:4", caps) != std::string::npos;
  }
  protocol_major_ = 3;
  if (offers_v4 && opts_.allow_v4 && !v4_refused_) {
    if (Status s = c->Command("SLPROTO 4.0"); s.ok()) {
      protocol_major_ = 4;
      (void)c->Command(std::string("USERAGENT rapid/") + RAPID_VERSION);  // informative only
    } else {
      v4_refused_ = true;  // the next connection speaks 3.1 from the start
      return s;
    }
  }
  const bool v4 = protocol_major_ >= 4;
  // Stations already seen get their own STATION with their resume point, then each pattern.
  std::map<std::string, uint64_t> last = last_sequences();
  std::optional<uint64_t> oldest;
  for (const auto& [station, seq] : last) oldest = oldest ? std::min(*oldest, seq) : seq;
  int accepted = 0;
  auto station_block = [&](const std::string& net, const std::string& sta, const StreamSelector& sel,
                           std::optional<uint64_t> after) -> Status {
    Status s = c->Command(v4 ? "STATION " + net + "_" + sta : "STATION " + sta + " " + net);
    if (s.ok()) {
      const std::string select = v4 ? sel.SelectV4() : sel.SelectV3();
      if (!select.empty()) s = c->Command("SELECT " + select);
    }
    if (s.ok()) s = c->Command(DataCommand(after));
    if (s.code() == Status::Code::kInvalidArgument) {
      log_("SeedLink: station " + net + "_" + sta + " skipped: " + s.message());
      return Status::OK();
    }
    if (s.ok()) ++accepted;
    return s;
  };
  for (const StreamSelector& sel : opts_.selectors) {
    for (const auto& [station, seq] : last) {
      const size_t us = station.find('_');
      if (us == std::string::npos || !WildcardMatch(sel.network, station.substr(0, us)) ||
          !WildcardMatch(sel.station, station.substr(us + 1))) {
        continue;
      }
      RAPID_RETURN_IF_ERROR(station_block(station.substr(0, us), station.substr(us + 1), sel, ringserver_ ? oldest : seq));
    }
    const bool concrete = sel.network.find_first_of("*?") == std::string::npos &&
                          sel.station.find_first_of("*?") == std::string::npos;
    if (concrete && last.count(sel.StationPattern()) > 0) continue;  // asked for above
    RAPID_RETURN_IF_ERROR(station_block(sel.network, sel.station, sel, ringserver_ ? oldest : std::nullopt));
  }
  if (accepted == 0) return Status::InvalidArgument("the server refused every selected station");
  return c->Send("END");
}

void SeedLinkClient::Deliver(const std::string& station_id, uint64_t sequence, std::string_view record) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = last_.find(station_id);
    if (it != last_.end() && !After(sequence, it->second, protocol_major_)) {
      duplicates_ += 1;
      return;
    }
    last_[station_id] = sequence;
  }
  packets_ += 1;
  on_record_(station_id, sequence, record);
}

Status SeedLinkClient::Session(const std::atomic<bool>& stop, bool* delivered) {
  Connection c(stop, opts_.reply_timeout);
  RAPID_RETURN_IF_ERROR(c.Open(opts_.host, opts_.port));
  RAPID_RETURN_IF_ERROR(Negotiate(&c));
  connections_ += 1;
  auto last_bytes = Clock::now(), last_keepalive = Clock::now();
  while (true) {  // the packets already received are delivered before a stop ends the session
    SeedLinkPacket packet;
    size_t used = 0;
    std::string error;
    const SeedLinkParse r = ParseSeedLinkPacket(c.buffer, protocol_major_, &packet, &used, &error);
    if (r == SeedLinkParse::kMalformed) {
      malformed_ += 1;
      return Status::Corruption("malformed packet: " + error);
    }
    if (r == SeedLinkParse::kPacket) {
      c.buffer.erase(0, used);
      switch (packet.kind) {
        case SeedLinkPacketKind::kData: {
          const std::string station = packet.station_id.empty() ? MseedStationId(packet.payload) : packet.station_id;
          Deliver(station, packet.sequence, packet.payload);
          *delivered = true;
          break;
        }
        case SeedLinkPacketKind::kInfo:
          break;  // keepalive answers
        case SeedLinkPacketKind::kEnd:
          return Status::IOError("the server ended the stream");
        case SeedLinkPacketKind::kError:
          return Status::IOError("the server sent '" + packet.payload + "'");
      }
      continue;
    }
    if (stop) return Status::OK();
    const Status filled = c.Fill(kStopPoll);
    const auto now = Clock::now();
    if (filled.ok()) {
      last_bytes = last_keepalive = now;
    } else if (filled.code() != Status::Code::kNotFound) {
      return filled;
    } else if (now - last_bytes >= opts_.idle_timeout) {
      return Status::IOError("nothing received for " + std::to_string(opts_.idle_timeout.count()) + " ms");
    } else if (now - last_keepalive >= opts_.keepalive) {
      RAPID_RETURN_IF_ERROR(c.Send("INFO ID"));
      last_keepalive = now;
    }
  }
}

}  // namespace rapid
