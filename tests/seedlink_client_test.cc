// The SeedLink client against a loopback SeedLink server (tests/seedlink_test_server.h) serving
// the bundled sample's records: both protocols, stream selection, reconnection and resumption
// without gaps or repeats, a garbage packet, and a restart from saved sequence numbers.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "seedlink/client.h"
#include "seedlink_test_server.h"
#include "test_util.h"

namespace rapid {
namespace {

namespace fs = std::filesystem;
using testing::TestSeedLinkOptions;
using testing::TestSeedLinkServer;

const std::string kChunk = std::string(RAPID_SOURCE_DIR) + "/data/texnet-sample/20241215T115800Z_20241215T120100Z";

// Every record of two stations, in file order.
std::vector<std::string> SampleRecords() {
  std::vector<std::string> records;
  for (const std::string station : {"PB35", "BP01"}) {
    std::vector<std::string> files;
    for (const auto& e : fs::directory_iterator(kChunk + "/" + station)) files.push_back(e.path().string());
    std::sort(files.begin(), files.end());
    for (const std::string& f : files) {
      for (std::string& r : testing::SplitRecords(testing::ReadFileText(f))) records.push_back(std::move(r));
    }
  }
  return records;
}

struct Received {
  std::string station;
  uint64_t sequence;
  std::string record;
};

// Runs a client until it has `want` records or 30 s pass; returns what it delivered.
std::vector<Received> Collect(SeedLinkClient* client, size_t want, std::vector<Received>* got, std::mutex* mu) {
  std::atomic<bool> stop{false};
  std::thread runner([&] { client->Run(stop); });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    {
      std::lock_guard<std::mutex> lock(*mu);
      if (got->size() >= want) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // anything extra would arrive now
  stop = true;
  runner.join();
  std::lock_guard<std::mutex> lock(*mu);
  return *got;
}

struct Harness {
  std::vector<Received> got;
  std::mutex mu;
  std::vector<std::string> log;
  std::unique_ptr<SeedLinkClient> client;

  Harness(int port, std::vector<std::string> selects, bool allow_v4, std::map<std::string, uint64_t> last = {}) {
    SeedLinkClientOptions o;
    o.port = port;
    o.allow_v4 = allow_v4;
    o.reconnect_delay_min = std::chrono::milliseconds(20);
    o.reconnect_delay_max = std::chrono::milliseconds(100);
    o.start = 0;  // from the beginning of what the server holds
    for (const std::string& s : selects) {
      StreamSelector sel;
      EXPECT_TRUE(ParseStreamSelector(s, &sel).ok()) << s;
      o.selectors.push_back(sel);
    }
    client = std::make_unique<SeedLinkClient>(
        o, std::move(last),
        [this](const std::string& station, uint64_t seq, std::string_view record) {
          std::lock_guard<std::mutex> lock(mu);
          got.push_back({station, seq, std::string(record)});
        },
        [this](const std::string& m) {
          std::lock_guard<std::mutex> lock(mu);
          log.push_back(m);
        });
  }
  std::vector<Received> Run(size_t want) { return Collect(client.get(), want, &got, &mu); }
};

std::vector<std::string> RecordsOf(const std::vector<Received>& got) {
  std::vector<std::string> out;
  for (const Received& r : got) out.push_back(r.record);
  return out;
}

// Equal record lists, reported by count and first difference (records are binary).
void ExpectSameRecords(const std::vector<Received>& got, const std::vector<std::string>& want) {
  const std::vector<std::string> records = RecordsOf(got);
  size_t first_difference = 0;
  while (first_difference < std::min(records.size(), want.size()) && records[first_difference] == want[first_difference]) {
    ++first_difference;
  }
  EXPECT_TRUE(records == want) << records.size() << " records received, " << want.size() << " expected; first difference at "
                               << first_difference;
}

class SeedLinkClientTest : public ::testing::TestWithParam<bool> {};  // the parameter: 4.0 offered

TEST_P(SeedLinkClientTest, DeliversTheSelectedStreamsInOrder) {
  const bool v4 = GetParam();
  TestSeedLinkServer server({.offer_v4 = v4});
  ASSERT_GT(server.port(), 0);
  const std::vector<std::string> records = SampleRecords();
  for (const std::string& r : records) server.Append(r);
  // PB35's HHZ only, and all of BP01.
  std::vector<std::string> want;
  for (const std::string& r : records) {
    const std::string station = MseedStationId(r);
    if (station == "TX_BP01" || station == "4O_BP01" || (station == "TX_PB35" && r.substr(15, 3) == "HHZ")) want.push_back(r);
  }
  ASSERT_GT(want.size(), 20u);
  Harness h(server.port(), {"TX_PB35:00HHZ", "*_BP01"}, true);
  const std::vector<Received> got = h.Run(want.size());
  EXPECT_EQ(h.client->protocol_major(), v4 ? 4 : 3);
  ExpectSameRecords(got, want);
  EXPECT_EQ(h.client->duplicates(), 0);
  EXPECT_EQ(h.client->connections(), 1);
  for (size_t i = 1; i < got.size(); ++i) EXPECT_LT(got[i - 1].sequence, got[i].sequence);
}

// The server drops every connection after 7 packets: the client reconnects each time and resumes
// after the last record it delivered, so every record arrives exactly once.
TEST_P(SeedLinkClientTest, ReconnectsAndResumesWithoutGapOrRepeat) {
  TestSeedLinkServer server({.offer_v4 = GetParam(), .close_after_packets = 7});
  const std::vector<std::string> records = SampleRecords();
  for (const std::string& r : records) server.Append(r);
  Harness h(server.port(), {"*_*"}, true);
  const std::vector<Received> got = h.Run(records.size());
  ExpectSameRecords(got, records);
  EXPECT_GE(h.client->connections(), static_cast<int64_t>(records.size() / 7));
  EXPECT_EQ(h.client->duplicates(), 0);
}

// A garbage packet: counted, logged, the connection restarted, nothing lost.
TEST_P(SeedLinkClientTest, GarbagePacketIsCountedAndTheStreamGoesOn) {
  TestSeedLinkServer server({.offer_v4 = GetParam(), .garbage_after_packets = 5});
  const std::vector<std::string> records = SampleRecords();
  for (const std::string& r : records) server.Append(r);
  Harness h(server.port(), {"TX_*", "4O_*"}, true);
  const std::vector<Received> got = h.Run(records.size());
  ExpectSameRecords(got, records);
  EXPECT_EQ(h.client->malformed(), 1);
  bool logged = false;
  for (const std::string& m : h.log) logged = logged || m.find("malformed packet") != std::string::npos;
  EXPECT_TRUE(logged);
}

// A new client given the first one's last sequence numbers (a restart from saved state) gets only
// what the first did not, even from a restarted server on the same port.
TEST_P(SeedLinkClientTest, RestartFromSavedSequencesContinuesWhereItStopped) {
  const std::vector<std::string> records = SampleRecords();
  std::map<std::string, uint64_t> saved;
  int port = 0;
  size_t first_part = 0;
  {
    TestSeedLinkServer server({.offer_v4 = GetParam()});
    port = server.port();
    for (size_t i = 0; i < records.size() / 2; ++i) server.Append(records[i]);
    Harness h(port, {"*_*"}, true);
    first_part = h.Run(records.size() / 2).size();
    saved = h.client->last_sequences();
  }
  ASSERT_EQ(first_part, records.size() / 2);
  TestSeedLinkServer restarted({.offer_v4 = GetParam(), .port = port});
  ASSERT_EQ(restarted.port(), port);
  for (const std::string& r : records) restarted.Append(r);  // the same numbering: a server with a ring on disk
  Harness h(port, {"*_*"}, true, saved);
  const std::vector<Received> got = h.Run(records.size() - first_part);
  ExpectSameRecords(got, std::vector<std::string>(records.begin() + static_cast<std::ptrdiff_t>(first_part), records.end()));
}

INSTANTIATE_TEST_SUITE_P(Protocols, SeedLinkClientTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "v4" : "v3"; });

}  // namespace
}  // namespace rapid
