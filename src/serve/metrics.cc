#include "serve/metrics.h"

#include <cmath>
#include <cstdio>

namespace rapid {

std::string PrometheusNumber(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

std::string PrometheusLabel(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    if (c == '\\' || c == '"') out += '\\';
    out += c;
  }
  return out;
}

namespace {

const std::vector<double> kSecondsBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

}  // namespace

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::Observe(double value) {
  size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  counts_[i] += 1;
  sum_ += value;
  count_ += 1;
}

void Histogram::Render(const std::string& name, const std::string& help, std::string* out) const {
  *out += "# HELP " + name + " " + help + "\n# TYPE " + name + " histogram\n";
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += counts_[i];
    *out += name + "_bucket{le=\"" + PrometheusNumber(bounds_[i]) + "\"} " + std::to_string(cumulative) + "\n";
  }
  *out += name + "_bucket{le=\"+Inf\"} " + std::to_string(count_) + "\n";
  *out += name + "_sum " + PrometheusNumber(sum_) + "\n" + name + "_count " + std::to_string(count_) + "\n";
}

ServeMetrics::ServeMetrics()
    : request_duration_(kSecondsBuckets), queue_wait_(kSecondsBuckets), inference_(kSecondsBuckets),
      batch_size_({1, 2, 4, 8, 16, 32, 64, 128, 256}) {}

void ServeMetrics::CountRequest(const std::string& model, const std::string& route, int code, double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  requests_[{model, route, code}] += 1;
  request_duration_.Observe(seconds);
}

void ServeMetrics::ObserveBatch(int64_t windows, double forward_s) {
  std::lock_guard<std::mutex> lock(mu_);
  batch_size_.Observe(static_cast<double>(windows));
  inference_.Observe(forward_s);
  windows_total_ += static_cast<uint64_t>(windows);
}

void ServeMetrics::CountCancelled(int64_t windows) {
  std::lock_guard<std::mutex> lock(mu_);
  windows_cancelled_ += static_cast<uint64_t>(windows);
}

void ServeMetrics::ObserveQueueWait(double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  queue_wait_.Observe(seconds);
}

std::string ServeMetrics::Render(const std::map<std::string, int64_t>& queued_windows_by_model,
                                 int64_t resident_bytes, const ByteBudget* request_memory) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out = "# HELP rapid_requests_total HTTP requests answered, by model, route and status code.\n"
                    "# TYPE rapid_requests_total counter\n";
  for (const auto& [key, n] : requests_) {
    const auto& [model, route, code] = key;
    out += "rapid_requests_total{model=\"" + PrometheusLabel(model) + "\",route=\"" + PrometheusLabel(route) + "\",code=\"" +
           std::to_string(code) + "\"} " + std::to_string(n) + "\n";
  }
  request_duration_.Render("rapid_request_duration_seconds", "Time from a request read to its answer.", &out);
  queue_wait_.Render("rapid_queue_wait_seconds", "Time an admitted request waited before its windows were fed.", &out);
  inference_.Render("rapid_inference_duration_seconds", "Seconds of one forward call (one batch).", &out);
  batch_size_.Render("rapid_batch_size", "Windows per forward call (padding not counted).", &out);
  out += "# HELP rapid_windows_total Model windows computed.\n# TYPE rapid_windows_total counter\nrapid_windows_total " +
         std::to_string(windows_total_) + "\n";
  out += "# HELP rapid_windows_cancelled_total Windows of requests past --request-timeout, dropped before a forward call.\n"
         "# TYPE rapid_windows_cancelled_total counter\nrapid_windows_cancelled_total " +
         std::to_string(windows_cancelled_) + "\n";
  out += "# HELP rapid_queue_windows Windows of admitted requests not yet answered.\n# TYPE rapid_queue_windows gauge\n";
  for (const auto& [model, n] : queued_windows_by_model) {
    out += "rapid_queue_windows{model=\"" + PrometheusLabel(model) + "\"} " + std::to_string(n) + "\n";
  }
  out += "# HELP rapid_process_resident_memory_bytes Resident set size of the process.\n"
         "# TYPE rapid_process_resident_memory_bytes gauge\nrapid_process_resident_memory_bytes " +
         std::to_string(resident_bytes) + "\n";
  if (request_memory != nullptr) {
    out += "# HELP rapid_request_memory_bytes Request memory (--max-request-memory) held by requests in progress.\n"
           "# TYPE rapid_request_memory_bytes gauge\nrapid_request_memory_bytes " +
           std::to_string(request_memory->held()) + "\n";
    out += "# HELP rapid_request_memory_capacity_bytes The request memory (--max-request-memory).\n"
           "# TYPE rapid_request_memory_capacity_bytes gauge\nrapid_request_memory_capacity_bytes " +
           std::to_string(request_memory->capacity()) + "\n";
  }
  return out;
}

}  // namespace rapid
