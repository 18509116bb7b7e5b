// Test helper: an FDSN web service on 127.0.0.1 (rapid serve's HTTP front) serving the records of
// miniSEED files through fdsnws-station (level=channel&format=text; network/station/location/
// channel comma lists with wildcards) and fdsnws-dataselect (POST bodies of
// "NET STA LOC CHA START END" lines: every record of the channel overlapping the span, in file
// order; 204 when none). Faults on request: the first dataselect answers 429 with Retry-After,
// one answer's connection dropped mid-body, one answer whose last record is cut short (its HTTP
// length honest), an extra listed channel without data.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "serve/http_server.h"

namespace rapid::testing {

struct FdsnwsFaults {
  int too_many_requests_first = 0;  // dataselect answers 429 (Retry-After: 1) this many times first
  bool drop_one_mid_body = false;   // the first 200 answer is cut in the middle of a record
  bool truncate_one_record = false; // a 200 answer, complete as HTTP, whose last record is cut short
  std::string extra_channel;        // "NET.STA.LOC.CHA" listed by the station service, without data
};

class FdsnwsTestServer {
 public:
  FdsnwsTestServer(const std::vector<std::string>& mseed_files, FdsnwsFaults faults);
  ~FdsnwsTestServer();
  std::string url() const;  // "http://127.0.0.1:PORT"
  int dataselect_requests() const { return dataselect_requests_; }
  int answers_429() const { return answers_429_; }

 private:
  struct Record {
    std::string id;  // NET.STA.LOC.CHA
    int64_t start, end;
    double rate;
    std::string bytes;
  };
  void Handle(HttpRequest&& request, HttpServer::Respond respond);
  HttpResponse Station(const HttpRequest& request) const;
  void Dataselect(const HttpRequest& request, HttpServer::Respond respond);

  FdsnwsFaults faults_;
  std::vector<Record> records_;
  std::atomic<int> dataselect_requests_{0}, answers_429_{0};
  std::atomic<bool> dropped_{false}, truncated_{false};
  std::unique_ptr<HttpServer> server_;
};

}  // namespace rapid::testing
