#include "cli/option_checks.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <sstream>

#include "core/nano_time.h"
#include "dispatch/resource_probe.h"
#include "engine/time_chunks.h"
#include "synth/synth.h"

namespace rapid {

namespace {

std::string Joined(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// A validator whose failure reads "must be <expected>, not '<value>'" (or `detail` instead of
// the expectation when the parser says more).
CLI::Validator Expect(const std::string& expected, const std::string& type_name,
                      std::function<std::string(const std::string&)> problem) {
  return CLI::Validator(
      [expected, problem](std::string& value) -> std::string {
        const std::string detail = problem(value);
        if (detail.empty()) return "";
        return "must be " + expected + ", not '" + value + "'" + (detail == "-" ? "" : " (" + detail + ")");
      },
      type_name);
}

}  // namespace

CLI::Validator WholeNumberAtLeast(int64_t min, int64_t max) {
  const bool bounded = max < std::numeric_limits<int64_t>::max();
  const std::string expected = bounded ? "a whole number from " + std::to_string(min) + " to " + std::to_string(max)
                                       : "a whole number ≥ " + std::to_string(min);
  return Expect(expected, "INT", [min, max](const std::string& v) -> std::string {
    const size_t digits_from = !v.empty() && v[0] == '-' ? 1 : 0;
    if (v.size() == digits_from || v.find_first_not_of("0123456789", digits_from) != std::string::npos) return "-";
    errno = 0;
    const long long n = std::strtoll(v.c_str(), nullptr, 10);
    if (errno == ERANGE) return "too large";
    return n < min || n > max ? "-" : "";
  });
}

CLI::Validator DurationValue(bool zero_ok, bool whole_seconds, int64_t max_ns) {
  std::string expected = std::string(zero_ok ? "a duration" : "a duration above zero") +
                         (whole_seconds ? " of whole seconds" : "") +
                         (max_ns > 0 ? " up to " + FormatDuration(max_ns) : "") + " such as 90s, 10m or 1h";
  return Expect(expected, "DURATION", [zero_ok, whole_seconds, max_ns](const std::string& v) -> std::string {
    auto ns = ParseDurationNs(v);
    if (!ns || (!zero_ok && *ns == 0) || (max_ns > 0 && *ns > max_ns)) return "-";
    return whole_seconds && *ns % kNanosPerSecond != 0 ? "-" : "";
  });
}

CLI::Validator IsoTimeValue() {
  return Expect("an ISO-8601 UTC time such as 2024-12-15T12:00:00Z", "TIME",
                [](const std::string& v) -> std::string { return ParseIsoTime(v) ? "" : "-"; });
}

CLI::Validator ByteSizeValue() {
  return Expect("a size above zero such as 4G or 512M", "SIZE", [](const std::string& v) -> std::string {
    auto bytes = ParseByteSize(v);
    return bytes && *bytes > 0 ? "" : "-";
  });
}

CLI::Validator NotEmpty(const std::string& what) {
  return Expect(what, "TEXT", [](const std::string& v) -> std::string { return v.empty() ? "-" : ""; });
}

CLI::Validator OneOf(std::vector<std::string> names) {
  const std::string expected = "one of " + Joined(names);
  return Expect(expected, "{" + Joined(names) + "}", [names](const std::string& v) -> std::string {
    for (const std::string& n : names) {
      if (v == n) return "";
    }
    return "-";
  });
}

CLI::Validator ListOf(std::vector<std::string> names) {
  const std::string expected = "a comma-separated list of " + Joined(names);
  return Expect(expected, "LIST", [names](const std::string& v) -> std::string {
    std::stringstream items(v);
    int count = 0;
    for (std::string item; std::getline(items, item, ',');) {
      bool known = false;
      for (const std::string& n : names) known = known || item == n;
      if (!known) return "'" + item + "' is none of them";
      ++count;
    }
    return count > 0 && v.back() != ',' ? "" : "-";
  });
}

CLI::Validator CpuListValue() {
  return Expect("a CPU list such as 0-3 or 0,2", "CPUS", [](const std::string& v) -> std::string {
    std::vector<int> cpus;
    Status s = ParseCpuList(v, &cpus);
    return s.ok() ? "" : s.message();
  });
}

CLI::Validator RatesValue() {
  return Expect("sampling rates in Hz such as 100 or 100,200,250", "RATES", [](const std::string& v) -> std::string {
    std::vector<double> rates;
    Status s = ParseRatesHz(v, &rates);
    return s.ok() ? "" : s.message();
  });
}

namespace {

// The whole of `text` as a finite double.
bool ParseNumber(const std::string& text, double* value) {
  if (text.empty()) return false;
  errno = 0;
  char* end = nullptr;
  *value = std::strtod(text.c_str(), &end);
  return errno == 0 && end == text.c_str() + text.size() && std::isfinite(*value);
}

}  // namespace

CLI::Validator ListenValue() {
  return Expect("HOST:PORT with a port from 0 to 65535, such as 127.0.0.1:8080", "HOST:PORT", [](const std::string& v) {
    const size_t colon = v.rfind(':');
    if (colon == std::string::npos || colon == 0) return std::string("-");
    const std::string port = v.substr(colon + 1);
    if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos || std::stoi(port) > 65535) {
      return std::string("-");
    }
    return std::string();
  });
}

void SplitListenAddress(const std::string& address, std::string* host, int* port) {
  const size_t colon = address.rfind(':');
  *host = address.substr(0, colon);
  if (host->size() > 1 && host->front() == '[' && host->back() == ']') *host = host->substr(1, host->size() - 2);
  *port = std::stoi(address.substr(colon + 1));
}

CLI::Validator ThresholdValue() {
  return Expect("a probability above 0 and at most 1", "PROB", [](const std::string& v) -> std::string {
    double p = 0;
    return ParseNumber(v, &p) && p > 0.0 && p <= 1.0 ? "" : "-";
  });
}

Status ParseBandHz(const std::string& text, double* low_hz, double* high_hz) {
  const size_t comma = text.find(',');
  if (comma == std::string::npos || !ParseNumber(text.substr(0, comma), low_hz) ||
      !ParseNumber(text.substr(comma + 1), high_hz)) {
    return Status::InvalidArgument("two frequencies in Hz, LOW,HIGH");
  }
  if (*low_hz <= 0.0 || *high_hz <= *low_hz) return Status::InvalidArgument("0 < LOW < HIGH");
  return Status::OK();
}

CLI::Validator BandValue() {
  return Expect("band-pass corners in Hz such as 1,45", "LOW,HIGH", [](const std::string& v) -> std::string {
    double lo = 0, hi = 0;
    Status s = ParseBandHz(v, &lo, &hi);
    return s.ok() ? "" : s.message();
  });
}

std::string UsageErrorMessage(const CLI::App& app, const CLI::ParseError& error) {
  std::string where = "rapid";
  for (const CLI::App* sub : app.get_subcommands()) where += " " + sub->get_name();
  return std::string(error.what()) + " ('" + where + " --help' lists the options)";
}

std::string SubcommandList(const CLI::App& app) {
  std::string out = "usage: rapid <command> [options]   (rapid <command> --help for its options)\n\ncommands:\n";
  for (const CLI::App* sub : app.get_subcommands({})) {
    std::string name = sub->get_name();
    name.resize(std::max<size_t>(name.size(), 8), ' ');
    out += "  " + name + "  " + sub->get_description() + "\n";
  }
  return out;
}

}  // namespace rapid
