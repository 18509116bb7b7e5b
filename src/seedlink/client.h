// A SeedLink client (protocol 3.1 and 4.0; Debian has no SeedLink library): connects, negotiates
// the selected stations and streams, reads packets, and reconnects with a growing delay after any
// failure, resuming every station after the last sequence number it delivered, so a dropped
// connection neither loses nor repeats a record the server still holds.
//
// Negotiation: HELLO; SLPROTO 4.0 and USERAGENT when the server offers 4.x (else 3.1); then, in
// multi-station mode, for every station already seen that a selector takes, STATION (its own
// name) + SELECT + DATA after its last sequence, and for every selector STATION (its pattern) +
// SELECT + DATA (new data, or data from `start`); END. Every command is answered OK or ERROR; a
// refused STATION is logged and skipped. ringserver numbers packets with one counter for all
// stations and positions a multi-station resume at the newest requested packet, which would skip
// the stations further behind: with it every station resumes after the oldest last sequence of
// them all, and the repeats are dropped here.
// Delivery: a data packet whose sequence is not after its station's last is a duplicate, dropped
// and counted; a packet that cannot be framed (malformed) is counted and the connection restarted.
// Keepalive: INFO ID after `keepalive` without data; reconnect after `idle_timeout` without bytes.
// Thread safety: Run on one thread; the counters and last_sequences() from any.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/nano_time.h"
#include "core/status.h"
#include "seedlink/selector.h"

namespace rapid {

struct SeedLinkClientOptions {
  std::string host = "127.0.0.1";
  int port = 18000;
  std::vector<StreamSelector> selectors;
  NanoTime start = kUnsetTime;  // stations without a resume point: data from here (else new data)
  bool allow_v4 = true;         // false: 3.1 even when the server offers 4.0
  std::chrono::milliseconds reply_timeout{30000};
  std::chrono::milliseconds keepalive{240000};  // EarthScope asks for no more than one per 4 minutes
  std::chrono::milliseconds idle_timeout{600000};
  std::chrono::milliseconds reconnect_delay_min{500}, reconnect_delay_max{30000};
};

class SeedLinkClient {
 public:
  // A data packet's record with its station ("NET_STA") and sequence number; on Run's thread.
  using RecordFn = std::function<void(const std::string& station_id, uint64_t sequence, std::string_view record)>;
  using LogFn = std::function<void(const std::string& message)>;

  // `last_sequences`: station ("NET_STA") → last sequence number already delivered (a saved state).
  SeedLinkClient(SeedLinkClientOptions opts, std::map<std::string, uint64_t> last_sequences, RecordFn on_record,
                 LogFn log);

  // Streams until `stop` reads true (looked at every 100 ms), reconnecting after failures; the
  // packets already read when it does are delivered first.
  void Run(const std::atomic<bool>& stop);

  std::map<std::string, uint64_t> last_sequences() const;
  int protocol_major() const { return protocol_major_; }  // of the latest connection (0: none yet)
  int64_t packets() const { return packets_; }            // data packets delivered
  int64_t duplicates() const { return duplicates_; }
  int64_t malformed() const { return malformed_; }
  int64_t connections() const { return connections_; }    // sessions that reached streaming

 private:
  class Connection;
  // One connection: negotiate, then read until a failure or the stop; the reason it ended.
  Status Session(const std::atomic<bool>& stop, bool* delivered);
  Status Negotiate(Connection* c);
  std::string DataCommand(std::optional<uint64_t> after) const;
  void Deliver(const std::string& station_id, uint64_t sequence, std::string_view record);

  const SeedLinkClientOptions opts_;
  RecordFn on_record_;
  LogFn log_;
  mutable std::mutex mu_;  // guards last_
  std::map<std::string, uint64_t> last_;
  bool ringserver_ = false;
  bool v4_refused_ = false;
  std::atomic<int> protocol_major_{0};
  std::atomic<int64_t> packets_{0}, duplicates_{0}, malformed_{0}, connections_{0};
};

// "NET_STA" of a miniSEED 2 record (fixed header: station at bytes 8–12, network at 18–19, space
// padded); "" when the record is shorter than a fixed header.
std::string MseedStationId(std::string_view record);

}  // namespace rapid
