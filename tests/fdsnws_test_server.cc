#include "fdsnws_test_server.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <sstream>

#include "core/nano_time.h"
#include "io/mseed_reader.h"
#include "seedlink/selector.h"
#include "seedlink_test_server.h"
#include "test_util.h"

namespace rapid::testing {

namespace {

bool MatchesList(const std::string& patterns, const std::string& code) {
  std::stringstream in(patterns);
  for (std::string p; std::getline(in, p, ',');) {
    if (p == "--" ? code.empty() : WildcardMatch(p, code)) return true;
  }
  return false;
}

std::string Param(const HttpRequest& r, const std::string& name) {
  auto it = r.query.find(name);
  return it == r.query.end() ? "*" : it->second;
}

std::vector<std::string> Codes(const std::string& id) {
  std::vector<std::string> parts;
  std::stringstream in(id);
  for (std::string p; std::getline(in, p, '.');) parts.push_back(p);
  while (parts.size() < 4) parts.push_back("");
  return parts;
}

}  // namespace

FdsnwsTestServer::FdsnwsTestServer(const std::vector<std::string>& mseed_files, FdsnwsFaults faults) : faults_(std::move(faults)) {
  for (const std::string& file : mseed_files) {
    for (std::string& bytes : SplitRecords(ReadFileText(file))) {
      MseedFileContents c;
      EXPECT_TRUE(DecodeMseedBytes(bytes, file, ReaderOptions(), &c).ok());
      const TraceSegment& s = c.segments.at(0);
      records_.push_back({s.id.ToString(), s.start, s.SampleTimeAt(static_cast<int64_t>(s.samples.size())), s.rate_hz,
                          std::move(bytes)});
    }
  }
  HttpServerOptions o;
  o.port = 0;
  server_ = std::make_unique<HttpServer>(o, [this](HttpRequest&& r, HttpServer::Respond respond) { Handle(std::move(r), respond); });
  EXPECT_TRUE(server_->Start().ok());
}

FdsnwsTestServer::~FdsnwsTestServer() { server_->Stop(); }

std::string FdsnwsTestServer::url() const { return "http://127.0.0.1:" + std::to_string(server_->port()); }

void FdsnwsTestServer::Handle(HttpRequest&& r, HttpServer::Respond respond) {
  if (r.path == "/fdsnws/station/1/query" && r.method == "GET") return respond(Station(r));
  if (r.path == "/fdsnws/dataselect/1/query" && r.method == "POST") return Dataselect(r, respond);
  respond({404, "text/plain", "no such service\n", {}});
}

HttpResponse FdsnwsTestServer::Station(const HttpRequest& r) const {
  if (r.query.count("level") == 0 || r.query.at("level") != "channel" || r.query.at("format") != "text") {
    return {400, "text/plain", "this test service answers level=channel&format=text only\n", {}};
  }
  std::map<std::string, std::pair<const Record*, int64_t>> epochs;  // id → (first record, end)
  for (const Record& rec : records_) {
    auto [it, fresh] = epochs.try_emplace(rec.id, &rec, rec.end);
    it->second.second = std::max(it->second.second, rec.end);
  }
  std::string body = "#Network|Station|Location|Channel|Latitude|Longitude|Elevation|Depth|Azimuth|Dip|SensorDescription|"
                     "Scale|ScaleFreq|ScaleUnits|SampleRate|StartTime|EndTime\n";
  auto row = [&](const std::string& id, double rate, int64_t start, int64_t end) {
    const std::vector<std::string> c = Codes(id);
    if (!MatchesList(Param(r, "network"), c[0]) || !MatchesList(Param(r, "station"), c[1]) ||
        !MatchesList(Param(r, "location"), c[2]) || !MatchesList(Param(r, "channel"), c[3])) {
      return;
    }
    body += c[0] + "|" + c[1] + "|" + c[2] + "|" + c[3] + "|31.0|-104.0|900|0|0|0|test|1e9|1|M/S|" + std::to_string(rate) +
            "|" + FormatIsoMicros(start).substr(0, 19) + "|" + FormatIsoMicros(end).substr(0, 19) + "\n";
  };
  for (const auto& [id, e] : epochs) row(id, e.first->rate, e.first->start - kNanosPerSecond, e.second + kNanosPerSecond);
  if (!faults_.extra_channel.empty() && !records_.empty()) {
    row(faults_.extra_channel, 100.0, records_.front().start - kNanosPerSecond, records_.front().end + 3600 * kNanosPerSecond);
  }
  return {200, "text/plain", body, {}};
}

void FdsnwsTestServer::Dataselect(const HttpRequest& r, HttpServer::Respond respond) {
  dataselect_requests_ += 1;
  if (answers_429_ < faults_.too_many_requests_first) {
    answers_429_ += 1;
    return respond({429, "text/plain", "too many requests\n", {{"Retry-After", "1"}}});
  }
  std::string body;
  std::stringstream in(r.body);
  for (std::string line; std::getline(in, line);) {
    std::stringstream words(line);
    std::string net, sta, loc, cha, start, end;
    if (!(words >> net >> sta >> loc >> cha >> start >> end)) continue;
    const std::string id = net + "." + sta + "." + (loc == "--" ? "" : loc) + "." + cha;
    const int64_t from = *ParseIsoTime(start), to = *ParseIsoTime(end);
    for (const Record& rec : records_) {
      if (rec.id == id && rec.start < to && rec.end > from) body += rec.bytes;
    }
  }
  if (body.empty()) return respond({204, "application/vnd.fdsn.mseed", "", {}});
  if (faults_.drop_one_mid_body && !dropped_.exchange(true)) {
    // The connection closes after half the answer, in the middle of a record.
    HttpResponse cut{200, "application/vnd.fdsn.mseed", body.substr(0, body.size() / 2 + 100), {}};
    cut.on_stream = [](std::shared_ptr<HttpStreamWriter> w) { w->Close(); };
    return respond(std::move(cut));
  }
  if (faults_.truncate_one_record && !truncated_.exchange(true)) body.resize(body.size() - 100);
  respond({200, "application/vnd.fdsn.mseed", std::move(body), {}});
}

}  // namespace rapid::testing
