// Progress lines on stderr for a long run: units read, windows annotated, rate, ETA, RSS — a
// self-updating line on a terminal, a log line every 10 s otherwise.
// Thread safety: one object, used by the producer thread.
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>

#include "dispatch/resource_probe.h"

namespace rapid {

// Progress reports from the producer thread: units read, windows annotated, rate, ETA, RSS.
class ProgressReporter {
 public:
  using Clock = std::chrono::steady_clock;

  ProgressReporter(bool enabled, size_t units_total)
      : enabled_(enabled), terminal_(isatty(STDERR_FILENO) != 0), units_total_(units_total), start_(Clock::now()) {}

  void Update(size_t units_done, int64_t windows_done, bool final_line) {
    if (!enabled_ || (units_done == 0 && !final_line)) return;
    const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
    const double min_gap_s = terminal_ ? 0.2 : 10.0;
    if (!final_line && elapsed - last_s_ < min_gap_s) return;
    last_s_ = elapsed;
    const double rate = elapsed > 0 ? static_cast<double>(windows_done) / elapsed : 0.0;
    const double fraction = units_total_ > 0 ? static_cast<double>(units_done) / static_cast<double>(units_total_) : 1.0;
    const double eta = fraction > 0 ? elapsed * (1.0 - fraction) / fraction : 0.0;
    std::fprintf(stderr, "%sunits %zu/%zu  windows %lld  %.0f windows/s  ETA %.0f s  RSS %lld MiB%s",
                 terminal_ ? "\r" : "rapid: ", units_done, units_total_, static_cast<long long>(windows_done), rate,
                 eta, static_cast<long long>(CurrentRssBytes() >> 20), terminal_ && !final_line ? "" : "\n");
    std::fflush(stderr);
  }

 private:
  bool enabled_, terminal_;
  size_t units_total_;
  Clock::time_point start_;
  double last_s_ = -1e9;
};

}  // namespace rapid
