// Filtering before windowing (`--taper`, `--bandpass`, and the EQCCTPro preset's 5 s taper and
// 1–45 Hz band-pass): ObsPy's `Trace.taper(type='cosine')` then `Trace.filter('bandpass',
// zerophase=True)` on one continuous trace at its own rate.
// Thread safety: pure function.
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"
#include "io/trace.h"

namespace rapid {

struct StationFilter {
  double taper_s = 0.0;  // cosine taper at each end; 0: none
  bool bandpass = false;
  double low_hz = 0.0, high_hz = 0.0;  // band-pass corners; REQUIRES: 0 < low_hz < high_hz
  int corners = 2;                     // Butterworth corners (the band-pass has order 2·corners)
  bool active() const { return taper_s > 0.0 || bandpass; }
};

// Tapers the first and last `taper_half_length` samples (dsp/taper.h; the caller decides the
// length: EQCCTPro takes 5 s of the first trace as a fraction of each trace, `--taper` takes the
// seconds of each), then band-passes zero-phase when filter.bandpass — a high-pass at low_hz when
// high_hz is not below the trace's Nyquist, with *note saying so. InvalidArgument naming the
// channel when low_hz is not below Nyquist.
Status ApplyStationFilter(const StationFilter& filter, int64_t taper_half_length, TraceSegment* trace,
                          std::string* note);

}  // namespace rapid
