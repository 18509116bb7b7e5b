// Test helper: a SeedLink server on 127.0.0.1 serving miniSEED records by protocol 3.1 and (when
// offered) 4.0, numbered by one counter for all stations as ringserver does; multi-station
// handshakes (STATION, SELECT, DATA [seq], TIME — every record held, whatever the time —, END),
// INFO ID, BYE. Faults on request: close every
// connection after N data packets, or send one garbage packet after N. Stops by itself in its
// destructor. Not a general server: what the client tests need, by the protocol documents.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace rapid::testing {

struct TestSeedLinkOptions {
  bool offer_v4 = true;
  int port = 0;                        // 0: any free port
  int64_t close_after_packets = -1;    // each connection closes after this many data packets
  int64_t garbage_after_packets = -1;  // the first connection sends a garbage packet after this many
};

class TestSeedLinkServer {
 public:
  explicit TestSeedLinkServer(TestSeedLinkOptions opts);
  ~TestSeedLinkServer();  // Stop()
  int port() const { return port_; }
  // Adds a record (its station and channel read from its header); it gets the next sequence
  // number (from 1) and goes to every streaming connection that selected it.
  void Append(std::string record);
  void Stop();  // closes the listener and every connection
  int64_t connections() const { return connections_; }
  int64_t packets_sent() const { return packets_sent_; }  // data packets, all connections

 private:
  struct Record {
    uint64_t sequence;
    std::string station_id, location, channel, bytes;
  };
  void Accept();
  void Serve(int fd, int64_t index);

  TestSeedLinkOptions opts_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int64_t> connections_{0}, packets_sent_{0};
  std::mutex mu_;
  std::condition_variable appended_;
  std::vector<Record> records_;
  std::vector<int> open_fds_;
  std::vector<std::thread> threads_;
  std::thread acceptor_;
};

// The records of a miniSEED file, split by their headers' lengths.
std::vector<std::string> SplitRecords(const std::string& file_bytes);

}  // namespace rapid::testing
