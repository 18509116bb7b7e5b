// `rapid stream` end to end: the bundled sample served by a loopback SeedLink server (records of
// all stations interleaved in time, as a live server sends them) is picked live, and the picks
// written when it stops equal `rapid run`'s on the same files — also when the server drops the
// connection again and again, or sends a garbage packet; the state names every station's last record.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <thread>

#include "io/mseed_reader.h"
#include "seedlink/client.h"
#include "http_client.h"
#include "raw_http_client.h"
#include "seedlink_test_server.h"
#include "test_util.h"

namespace rapid {
namespace {

namespace fs = std::filesystem;
const std::string kChunk = std::string(RAPID_SOURCE_DIR) + "/data/texnet-sample/20241215T115800Z_20241215T120100Z";

// Every record of the sample, ordered by start time (then station and channel).
std::vector<std::string> LiveOrderRecords() {
  std::vector<std::pair<std::tuple<NanoTime, std::string>, std::string>> keyed;
  for (const auto& station : fs::directory_iterator(kChunk)) {
    for (const auto& file : fs::directory_iterator(station.path())) {
      for (std::string& r : testing::SplitRecords(testing::ReadFileText(file.path().string()))) {
        MseedFileContents c;
        EXPECT_TRUE(DecodeMseedBytes(r, file.path().string(), ReaderOptions(), &c).ok());
        keyed.push_back({{c.segments.at(0).start, c.segments.at(0).id.ToString()}, std::move(r)});
      }
    }
  }
  std::sort(keyed.begin(), keyed.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> out;
  for (auto& [key, r] : keyed) out.push_back(std::move(r));
  return out;
}

std::vector<std::string> SortedRows(const std::string& csv_path) {
  std::ifstream in(csv_path);
  std::string line;
  std::getline(in, line);  // header
  EXPECT_EQ(line.rfind("trace_id,phase,peak_time", 0), 0u) << csv_path << ": " << line;
  std::vector<std::string> rows;
  while (std::getline(in, line)) rows.push_back(line);
  std::sort(rows.begin(), rows.end());
  return rows;
}

// `rapid` with `args` in the background, its output to `log`.
pid_t Spawn(const std::vector<std::string>& args, const std::string& log) {
  std::vector<std::string> command = {RAPID_BINARY};
  command.insert(command.end(), args.begin(), args.end());
  return testing::SpawnLogged(command, log);
}

// rapid run's picks on the bundled sample at the batch size the live runs use, sorted.
std::vector<std::string> RapidRunPicks(const testing::TempDir& dir) {
  std::string log;
  EXPECT_EQ(testing::RunRapid({"run", "--output", dir.Path("run"), "--instances", "1", "--batch-size", "4", "--progress", "off"}, &log), 0)
      << log;
  return SortedRows(dir.Path("run/picks.csv"));
}

struct LiveRun {
  std::vector<std::string> rows;  // picks, sorted
  std::string log;
  nlohmann::json state;
  int exit_code = -1;
};

// The sample served by a test server with `faults`, picked by `rapid stream` until the server has
// sent every record, then SIGTERM.
LiveRun StreamTheSample(const testing::TempDir& dir, const std::string& name, testing::TestSeedLinkOptions faults,
                        const std::vector<std::string>& records) {
  LiveRun run;
  testing::TestSeedLinkServer server(faults);
  EXPECT_GT(server.port(), 0);
  for (const std::string& r : records) server.Append(r);
  const std::string out = dir.Path(name);
  const pid_t pid = Spawn({"stream", "--seedlink", "127.0.0.1:" + std::to_string(server.port()), "--select", "*_*", "--output",
                           out, "--state", out + "/state.json", "--instances", "1", "--batch-size", "4", "--resample-piece", "0", "--start",
                           "2024-12-15T00:00:00Z"},
                          dir.Path(name + ".log"));
  EXPECT_GT(pid, 0);
  // Every record delivered at least once since the last connection opened.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (server.packets_sent() < static_cast<int64_t>(records.size()) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // read and fed
  kill(pid, SIGTERM);
  int status = 0;
  EXPECT_EQ(waitpid(pid, &status, 0), pid);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  run.log = testing::ReadFileText(dir.Path(name + ".log"));
  run.rows = SortedRows(out + "/picks/2024-12-15.csv");
  run.state = nlohmann::json::parse(testing::ReadFileText(out + "/state.json"), nullptr, false);
  return run;
}

TEST(StreamTest, LivePicksEqualRapidRunsThroughDroppedConnectionsAndGarbage) {
  testing::TempDir dir;
  const std::vector<std::string> want = RapidRunPicks(dir);
  ASSERT_GE(want.size(), 5u);
  const std::vector<std::string> records = LiveOrderRecords();
  std::map<std::string, uint64_t> last;  // every station's last record, by the server's numbering
  for (size_t i = 0; i < records.size(); ++i) last[MseedStationId(records[i])] = i + 1;

  // Plain; every connection dropped after 150 packets (the client resumes after its last record);
  // a garbage packet after 200 (counted, reconnected, resumed).
  for (const auto& [name, faults] : {std::pair{std::string("plain"), testing::TestSeedLinkOptions{}},
                                     std::pair{std::string("dropped"), testing::TestSeedLinkOptions{.close_after_packets = 150}},
                                     std::pair{std::string("garbage"), testing::TestSeedLinkOptions{.garbage_after_packets = 200}}}) {
    const LiveRun run = StreamTheSample(dir, name, faults, records);
    ASSERT_EQ(run.exit_code, 0) << name << ": " << run.log;
    EXPECT_NE(run.log.find(std::to_string(records.size()) + " records from 12 stations"), std::string::npos) << name << ": " << run.log;
    EXPECT_EQ(run.rows, want) << name;
    ASSERT_TRUE(run.state.is_object()) << name;
    ASSERT_EQ(run.state.at("stations").size(), last.size()) << name;
    for (const auto& [station, seq] : last) EXPECT_EQ(run.state["stations"].at(station).get<uint64_t>(), seq) << name << " " << station;
    if (name == "garbage") EXPECT_NE(run.log.find("1 malformed packets"), std::string::npos) << run.log;
    if (name == "dropped") EXPECT_NE(run.log.find("the server closed the connection"), std::string::npos) << run.log;
  }
}

// Bad flags are refused with the flag named, before anything streams.
TEST(StreamTest, BadFlagsAreRefusedNamingTheFlag) {
  testing::TempDir dir;
  for (const auto& [args, says] :
       {std::pair{std::vector<std::string>{"stream", "--output", dir.Path("a")}, std::string("give one of --seedlink")},
        std::pair{std::vector<std::string>{"stream", "--replay", dir.Path("nothing-here"), "--output", dir.Path("b")},
                  std::string("--replay " + dir.Path("nothing-here"))},
        std::pair{std::vector<std::string>{"stream", "--seedlink", "localhost", "--output", dir.Path("c")},
                  std::string("--seedlink localhost: expected HOST:PORT")},
        std::pair{std::vector<std::string>{"stream", "--seedlink", "127.0.0.1:18000", "--select", "TXPB35", "--output", dir.Path("d")},
                  std::string("--select 'TXPB35'")},
        std::pair{std::vector<std::string>{"stream", "--seedlink", "127.0.0.1:18000", "--serve", "8080", "--output", dir.Path("e")},
                  std::string("--serve: must be HOST:PORT")},
        std::pair{std::vector<std::string>{"stream", "--seedlink", "127.0.0.1:18000", "--port-file", dir.Path("p"), "--output",
                                           dir.Path("f")},
                  std::string("--port-file needs --serve")},
        std::pair{std::vector<std::string>{"stream", "--seedlink", "127.0.0.1:18000", "--resample-piece", "2.5s", "--output",
                                           dir.Path("g")},
                  std::string("--resample-piece 2.5s: whole seconds")}}) {
    std::string log;
    EXPECT_EQ(testing::RunRapid(args, &log), 1) << log;
    EXPECT_NE(log.find(says), std::string::npos) << log;
    EXPECT_EQ(log.find("records from"), std::string::npos) << log;  // no summary of a stream that never ran
  }
}

// An archive replayed as if live (--replay, 100x): rapid run's picks, also as QuakeML; --select filters it.
TEST(StreamTest, ReplayedArchiveGivesRapidRunsPicks) {
  testing::TempDir dir;
  const std::vector<std::string> want = RapidRunPicks(dir);
  std::string log;
  ASSERT_EQ(testing::RunRapid({"stream", "--replay", std::string(RAPID_SOURCE_DIR) + "/data/texnet-sample", "--speed", "100",
                               "--output", dir.Path("live"), "--instances", "1", "--batch-size", "4", "--resample-piece", "0", "--format", "csv,quakeml"},
                              &log),
            0)
      << log;
  EXPECT_EQ(SortedRows(dir.Path("live/picks/2024-12-15.csv")), want);
  // The day's QuakeML: one pick element per CSV row.
  const std::string xml = testing::ReadFileText(dir.Path("live/picks/2024-12-15.xml"));
  size_t picks = 0;
  for (size_t at = xml.find("<pick "); at != std::string::npos; at = xml.find("<pick ", at + 1)) ++picks;
  EXPECT_EQ(picks, want.size());
  // One station with picks, selected alone.
  ASSERT_FALSE(want.empty());
  const std::string net_sta = want.front().substr(0, want.front().find('.', want.front().find('.') + 1));  // "NET.STA"
  std::string select = net_sta;
  select[select.find('.')] = '_';
  ASSERT_EQ(testing::RunRapid({"stream", "--replay", std::string(RAPID_SOURCE_DIR) + "/data/texnet-sample", "--speed", "100",
                               "--select", select, "--output", dir.Path("one"), "--instances", "1", "--batch-size", "4", "--resample-piece", "0"},
                              &log),
            0)
      << log;
  EXPECT_NE(log.find("from 1 stations"), std::string::npos) << log;
  std::vector<std::string> one;
  for (const std::string& row : want) {
    if (row.rfind(net_sta + ".", 0) == 0) one.push_back(row);
  }
  EXPECT_EQ(SortedRows(dir.Path("one/picks/2024-12-15.csv")), one);
}

// The default live resampling (10 s pieces, so a resampled channel's picks wait seconds, not
// hours): stations at the model rate and at whole multiples of it (decimated) get exactly rapid
// run's picks; Fourier-resampled ones (250 and 40 Hz) get picks within a sample and 0.03 in value
// of rapid run's, except picks within 0.03 of the threshold, which may fall on either side.
TEST(StreamTest, LiveResamplingKeepsDecimatedStationsExactAndFourierOnesClose) {
  testing::TempDir dir;
  const std::vector<std::string> want = RapidRunPicks(dir);
  std::string log;
  ASSERT_EQ(testing::RunRapid({"stream", "--replay", std::string(RAPID_SOURCE_DIR) + "/data/texnet-sample", "--speed", "100",
                               "--output", dir.Path("live"), "--instances", "1", "--batch-size", "4"},
                              &log),
            0)
      << log;
  std::map<std::string, double> rate;  // "NET.STA.LOC" → sampling rate
  for (const std::string& r : LiveOrderRecords()) {
    MseedFileContents c;
    ASSERT_TRUE(DecodeMseedBytes(r, "record", ReaderOptions(), &c).ok());
    const ChannelId& id = c.segments.at(0).id;
    rate[id.network + "." + id.station + "." + id.location] = c.segments.at(0).rate_hz;
  }
  auto fourier = [&](const std::string& row) {
    const double hz = rate.at(row.substr(0, row.find(',')));
    return std::fmod(hz, 100.0) != 0.0;
  };
  auto field = [](const std::string& row, int k) {
    size_t from = 0;
    for (int i = 0; i < k; ++i) from = row.find(',', from) + 1;
    return row.substr(from, row.find(',', from) - from);
  };
  const std::vector<std::string> got = SortedRows(dir.Path("live/picks/2024-12-15.csv"));
  std::vector<std::string> exact_want, exact_got, close_want, close_got;
  for (const std::string& r : want) (fourier(r) ? close_want : exact_want).push_back(r);
  for (const std::string& r : got) (fourier(r) ? close_got : exact_got).push_back(r);
  EXPECT_EQ(exact_got, exact_want);
  ASSERT_GE(close_want.size(), 5u);
  auto matched = [&](const std::string& row, const std::vector<std::string>& in) {
    for (const std::string& other : in) {
      if (field(other, 0) != field(row, 0) || field(other, 1) != field(row, 1)) continue;
      const double dt = std::abs(static_cast<double>(*ParseIsoTime(field(other, 2)) - *ParseIsoTime(field(row, 2)))) / 1e9;
      if (dt <= 0.0101 && std::abs(std::stod(field(other, 3)) - std::stod(field(row, 3))) <= 0.03) return true;
    }
    return false;
  };
  const double threshold = 0.3;  // PhaseNet's, for P and S
  for (const std::string& r : close_want) {
    if (std::stod(field(r, 3)) >= threshold + 0.03) EXPECT_TRUE(matched(r, close_got)) << "rapid run's " << r;
  }
  for (const std::string& r : close_got) {
    if (std::stod(field(r, 3)) >= threshold + 0.03) EXPECT_TRUE(matched(r, close_want)) << "live " << r;
  }
}

// The server killed mid-stream and started again on the same port with the same numbering (a ring
// kept on disk): the client reconnects, resumes after its last record, and the picks are unchanged.
TEST(StreamTest, ServerKilledAndRestartedMidStreamLosesAndRepeatsNothing) {
  testing::TempDir dir;
  const std::vector<std::string> want = RapidRunPicks(dir);
  const std::vector<std::string> records = LiveOrderRecords();
  const std::string out = dir.Path("live");
  int port = 0;
  pid_t pid = -1;
  {
    testing::TestSeedLinkServer first({});
    port = first.port();
    for (size_t i = 0; i < records.size() / 2; ++i) first.Append(records[i]);
    pid = Spawn({"stream", "--seedlink", "127.0.0.1:" + std::to_string(port), "--select", "*_*", "--output", out, "--instances",
                 "1", "--batch-size", "4", "--resample-piece", "0", "--start", "2024-12-15T00:00:00Z"},
                dir.Path("live.log"));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (first.packets_sent() < static_cast<int64_t>(records.size() / 2) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }  // killed: the listener and the connection close
  testing::TestSeedLinkServer second({.port = port});
  ASSERT_EQ(second.port(), port);
  for (const std::string& r : records) second.Append(r);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (second.packets_sent() < static_cast<int64_t>(records.size() - records.size() / 2) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  kill(pid, SIGTERM);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  const std::string stream_log = testing::ReadFileText(dir.Path("live.log"));
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << stream_log;
  EXPECT_EQ(second.packets_sent(), static_cast<int64_t>(records.size() - records.size() / 2));  // nothing sent twice
  EXPECT_NE(stream_log.find(std::to_string(records.size()) + " records from 12 stations"), std::string::npos) << stream_log;
  EXPECT_EQ(SortedRows(out + "/picks/2024-12-15.csv"), want);
}

// --serve: an SSE subscriber connected before the data come gets every pick written, as JSON, and
// /metrics counts the records of every station and the picks, with each station's lag.
TEST(StreamTest, ServeSendsEveryPickAsAnEventAndCountsRecordsInMetrics) {
  testing::TempDir dir;
  const std::vector<std::string> records = LiveOrderRecords();
  testing::TestSeedLinkServer server({});
  const std::string out = dir.Path("live"), port_file = dir.Path("port");
  const pid_t pid = Spawn({"stream", "--seedlink", "127.0.0.1:" + std::to_string(server.port()), "--output", out, "--instances",
                           "1", "--batch-size", "4", "--start", "2024-12-15T00:00:00Z", "--serve", "127.0.0.1:0",
                           "--port-file", port_file},
                          dir.Path("live.log"));
  int port = 0;
  for (auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
       port == 0 && std::chrono::steady_clock::now() < deadline;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (fs::exists(port_file)) port = std::atoi(testing::ReadFileText(port_file).c_str());
  }
  ASSERT_GT(port, 0) << testing::ReadFileText(dir.Path("live.log"));
  testing::RawClient events(port, "/v1/picks/stream");
  ASSERT_TRUE(events.ReadUntil([](const testing::RawClient& c) { return c.HeadComplete(); }, std::chrono::seconds(10)));
  EXPECT_NE(events.head().find("text/event-stream"), std::string::npos) << events.head();

  for (const std::string& r : records) server.Append(r);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (server.packets_sent() < static_cast<int64_t>(records.size()) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  // Every record read and fed (the metrics say so once it is; slow builds take longer).
  const std::string all_records = "rapid_stream_records_total " + std::to_string(records.size()) + "\n";
  testing::HttpAnswer metrics;
  for (auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60); std::chrono::steady_clock::now() < until;) {
    metrics = testing::Http(port, "GET", "/metrics");
    if (metrics.body.find(all_records) != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ASSERT_EQ(metrics.status, 200);
  std::map<std::string, int64_t> per_station;  // records of each station, as sent
  for (const std::string& r : records) per_station[MseedStationId(r)] += 1;
  EXPECT_NE(metrics.body.find(all_records), std::string::npos) << metrics.body;
  EXPECT_NE(metrics.body.find("rapid_stream_reconnects_total 0\n"), std::string::npos) << metrics.body;
  for (const auto& [station, n] : per_station) {
    EXPECT_NE(metrics.body.find("rapid_stream_station_records_total{station=\"" + station + "\"} " + std::to_string(n) + "\n"),
              std::string::npos)
        << station;
    const size_t lag = metrics.body.find("rapid_stream_station_lag_seconds{station=\"" + station + "\"} ");
    ASSERT_NE(lag, std::string::npos) << station;
    EXPECT_GT(std::atof(metrics.body.c_str() + metrics.body.find(' ', lag) + 1), 3e7) << station;  // data from 2024
  }

  kill(pid, SIGTERM);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << testing::ReadFileText(dir.Path("live.log"));
  ASSERT_TRUE(events.ReadUntilClosed(std::chrono::seconds(10)));  // the stream ends with the process
  std::vector<std::string> sent;  // "trace_id,phase,peak_time" of each event
  const std::string body = events.body();
  for (size_t at = body.find("event: pick\ndata: "); at != std::string::npos; at = body.find("event: pick\ndata: ", at + 1)) {
    const size_t from = at + std::strlen("event: pick\ndata: ");
    const nlohmann::json j = nlohmann::json::parse(body.substr(from, body.find('\n', from) - from));
    sent.push_back(j.at("trace_id").get<std::string>() + "," + j.at("phase").get<std::string>() + "," +
                   j.at("peak_time").get<std::string>());
  }
  std::vector<std::string> written;
  for (const std::string& row : SortedRows(out + "/picks/2024-12-15.csv")) {
    written.push_back(row.substr(0, row.find(',', row.find(',', row.find(',') + 1) + 1)));  // up to peak_time
  }
  std::sort(sent.begin(), sent.end());
  ASSERT_GE(written.size(), 5u);
  EXPECT_EQ(sent, written);
}

// `rapid stream` killed (SIGKILL: no tail finished, no last state) when part of the sample has
// come, and started again with its state: it asks the server again for what its unsettled picks
// need, gives again only the picks the killed run had not written, and the two runs' picks are
// exactly `rapid run`'s on the whole sample — none missing, none twice.
TEST(StreamTest, KilledAndRestartedWithItsStateLosesAndRepeatsNoPick) {
  testing::TempDir dir;
  const std::vector<std::string> want = RapidRunPicks(dir);
  const std::vector<std::string> records = LiveOrderRecords();
  const std::string out = dir.Path("live"), state = out + "/state.json";
  testing::TestSeedLinkServer server({});
  const size_t first_part = records.size() * 3 / 5;
  for (size_t i = 0; i < first_part; ++i) server.Append(records[i]);
  const std::vector<std::string> args = {"stream", "--seedlink", "127.0.0.1:" + std::to_string(server.port()), "--select",
                                         "*_*", "--output", out, "--state", state, "--instances", "1", "--batch-size", "4", "--resample-piece", "0",
                                         "--start", "2024-12-15T00:00:00Z"};
  const pid_t killed = Spawn(args, dir.Path("killed.log"));
  // Killed once a state names an instrument whose picks were settled past the data's start.
  bool settled = false;
  for (auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
       !settled && std::chrono::steady_clock::now() < deadline;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const nlohmann::json j = nlohmann::json::parse(testing::ReadFileText(state), nullptr, false);
    if (!j.is_object() || !j.contains("instruments")) continue;
    for (const auto& [instrument, r] : j["instruments"].items()) settled |= r.value("picks_from_ns", 0LL) > r.value("data_from_ns", 0LL);
  }
  ASSERT_TRUE(settled) << testing::ReadFileText(dir.Path("killed.log"));
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));  // picks written after the state, likely
  kill(killed, SIGKILL);
  int status = 0;
  ASSERT_EQ(waitpid(killed, &status, 0), killed);
  const int64_t sent_before = server.packets_sent();

  const pid_t restarted = Spawn(args, dir.Path("restarted.log"));
  for (size_t i = first_part; i < records.size(); ++i) server.Append(records[i]);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (server.packets_sent() < sent_before + static_cast<int64_t>(records.size() - first_part) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  kill(restarted, SIGTERM);
  ASSERT_EQ(waitpid(restarted, &status, 0), restarted);
  const std::string log = testing::ReadFileText(dir.Path("restarted.log"));
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << log;
  // Records the unsettled picks needed were sent again.
  EXPECT_GT(server.packets_sent(), sent_before + static_cast<int64_t>(records.size() - first_part));
  EXPECT_EQ(SortedRows(out + "/picks/2024-12-15.csv"), want) << log;
}

}  // namespace
}  // namespace rapid
