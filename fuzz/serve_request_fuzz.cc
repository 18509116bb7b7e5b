// libFuzzer target: the request path of `rapid serve` on arbitrary bytes taken as what a client
// sent on a connection — Boost.Beast's HTTP parser with the server's limits, then the target and
// query parsing and threshold checks the routes apply, then the miniSEED decoding of the body.
// Beyond the sanitizers, it checks that what is accepted is what the contracts promise.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <utility>  // before Boost 1.74 Asio, whose awaitable.hpp uses std::exchange without it

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "io/mseed_reader.h"
#include "serve/request_parsing.h"

namespace {

namespace http = boost::beast::http;

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "serve_request_fuzz: contract broken: %s\n", what);
  std::abort();
}

rapid::ModelSpec PhaseNetLikeSpec() {
  rapid::ModelSpec s;
  s.class_name = "PhaseNet";
  s.labels = {"N", "P", "S"};
  s.noise_label = "N";
  s.thresholds = {{"P", 0.3}, {"S", 0.3}};
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const rapid::ModelSpec spec = PhaseNetLikeSpec();
  http::request_parser<http::string_body> parser;
  parser.body_limit(64 * 1024);
  parser.header_limit(64 * 1024);
  parser.eager(true);
  boost::beast::error_code ec;
  const size_t used = parser.put(boost::asio::buffer(data, size), ec);
  if (used > size) Fail("parser consumed more than it was given");
  if (ec || !parser.is_header_done()) return 0;
  const auto& req = parser.get();
  std::string path, error;
  std::map<std::string, std::string> query;
  if (!rapid::ParseTarget(std::string(req.target()), &path, &query, &error)) {
    if (error.empty()) Fail("a refused target without a reason");
    return 0;
  }
  std::map<std::string, double> thresholds;
  if (rapid::ParseThresholds(query, spec, &thresholds, &error)) {
    for (const auto& [label, v] : thresholds) {
      if (!(v > 0.0 && v <= 1.0)) Fail("an accepted threshold outside (0, 1]");
      if (label != "P" && label != "S") Fail("a threshold for a label the model cannot pick");
    }
  } else if (error.empty()) {
    Fail("refused thresholds without a reason");
  }
  if (!parser.is_done()) return 0;
  rapid::MseedFileContents contents;
  const rapid::Status s = rapid::DecodeMseedBytes(req.body(), "request body", rapid::ReaderOptions(), &contents);
  if (!s.ok() && s.message().empty()) Fail("a refused body without a reason");
  for (const rapid::TraceSegment& seg : contents.segments) {
    if (seg.samples.empty() || !(seg.rate_hz > 0)) Fail("a decoded segment empty or without a rate");
  }
  return 0;
}
