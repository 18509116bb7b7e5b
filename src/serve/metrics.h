// `rapid serve`'s Prometheus metrics (text exposition format 0.0.4): request counts by model, route
// and code, histograms of request duration, queue wait, forward time and batch size, windows
// computed and cancelled, windows queued, resident memory.
// Thread safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "core/byte_budget.h"

namespace rapid {

// A sample value in the text exposition format ("%.9g"; NaN, +Inf, -Inf).
std::string PrometheusNumber(double v);
// A label value escaped as the format asks: backslash, double quote and line feed.
std::string PrometheusLabel(const std::string& v);

class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void Observe(double value);
  // "# TYPE" line, the cumulative buckets with le="+Inf", _sum and _count.
  void Render(const std::string& name, const std::string& help, std::string* out) const;

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // per bucket (not cumulative); last: above every bound
  double sum_ = 0.0;
  uint64_t count_ = 0;
};

class ServeMetrics {
 public:
  ServeMetrics();
  void CountRequest(const std::string& model, const std::string& route, int code, double seconds);
  void ObserveBatch(int64_t windows, double forward_s);
  void ObserveQueueWait(double seconds);
  void CountCancelled(int64_t windows);
  // Gauges sampled when rendering: windows queued per model, and the process's resident memory.
  // `request_memory` (may be null): its capacity and what requests hold of it, as gauges.
  std::string Render(const std::map<std::string, int64_t>& queued_windows_by_model, int64_t resident_bytes,
                     const ByteBudget* request_memory) const;

 private:
  mutable std::mutex mu_;
  std::map<std::tuple<std::string, std::string, int>, uint64_t> requests_;
  Histogram request_duration_, queue_wait_, inference_, batch_size_;
  uint64_t windows_total_ = 0, windows_cancelled_ = 0;
};

}  // namespace rapid
