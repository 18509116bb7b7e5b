#include "synth/synth.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <numbers>
#include <sstream>
#include <string>

#include "core/atomic_file.h"
#include "io/mseed_writer.h"

namespace rapid {

namespace {

constexpr double kNoiseCounts = 40.0;      // white-noise standard deviation
constexpr double kPAmplitude = 2400.0;     // P peak on Z
constexpr double kSAmplitude = 6000.0;     // S peak on the horizontals
constexpr double kPFrequencyHz = 6.0;
constexpr double kSFrequencyHz = 3.0;
constexpr double kPDecayS = 0.6;
constexpr double kSDecayS = 1.2;

uint64_t SplitMix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

double Uniform(uint64_t key) { return (static_cast<double>(SplitMix(key) >> 11) + 0.5) * (1.0 / 9007199254740992.0); }

// Standard normal value for a key (Box–Muller on two derived uniforms).
double Gaussian(uint64_t key) {
  double u1 = Uniform(key * 2 + 1), u2 = Uniform(key * 2 + 2);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

uint64_t Key(uint64_t seed, int64_t station, int tag, int64_t index) {
  return SplitMix(SplitMix(SplitMix(seed) ^ static_cast<uint64_t>(station)) ^ static_cast<uint64_t>(tag)) ^
         static_cast<uint64_t>(index);
}

struct Event {
  double p_s;   // seconds after opts.start
  double s_s;
};

// Event k of a station: P somewhere in the first half of its interval, S 2–8 s later.
Event StationEvent(const SynthOptions& o, int64_t station, int64_t k) {
  const double interval = static_cast<double>(o.event_interval_s);
  double p = static_cast<double>(k) * interval + 5.0 + Uniform(Key(o.seed, station, 101, k)) * (interval * 0.5 - 5.0);
  double sp = 2.0 + 6.0 * Uniform(Key(o.seed, station, 102, k));
  // Arrivals on the 100 Hz grid so truth is exact at every rate used here.
  return {std::round(p * 100.0) / 100.0, std::round((p + sp) * 100.0) / 100.0};
}

// Damped wavelet starting at t = 0 with a sharp onset.
double Wavelet(double t, double freq_hz, double decay_s) {
  if (t < 0) return 0.0;
  double rise = 1.0 - std::exp(-t / 0.03);
  return rise * std::exp(-t / decay_s) * std::sin(2.0 * std::numbers::pi * freq_hz * t);
}

std::string Compact(NanoTime t) {
  std::string iso = FormatIsoMicros(t);  // 2024-01-01T00:00:00.000000Z
  std::string out;
  for (char c : iso.substr(0, 19)) {
    if (c != '-' && c != ':') out.push_back(c);
  }
  return out + "Z";
}

}  // namespace

Status ParseRatesHz(const std::string& text, std::vector<double>* rates_hz) {
  rates_hz->clear();
  std::stringstream ss(text);
  for (std::string item; std::getline(ss, item, ',');) {
    char* end = nullptr;
    const double hz = std::strtod(item.c_str(), &end);
    if (item.empty() || *end != '\0' || !(hz > 0)) {
      return Status::InvalidArgument("'" + item + "' is not a sampling rate in Hz");
    }
    rates_hz->push_back(hz);
  }
  if (rates_hz->empty()) return Status::InvalidArgument("no sampling rate given");
  return Status::OK();
}

std::string SynthStationName(int64_t station) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "S%04lld", static_cast<long long>(station + 1));
  return buf;
}

std::vector<PlantedArrival> PlannedArrivals(const SynthOptions& o) {
  std::vector<PlantedArrival> out;
  const int64_t events = o.duration_s / std::max<int64_t>(1, o.event_interval_s);
  for (int64_t s = 0; s < o.stations; ++s) {
    const std::string id = "SY." + SynthStationName(s) + ".00";
    for (int64_t k = 0; k < events; ++k) {
      Event e = StationEvent(o, s, k);
      if (e.s_s + 10.0 > static_cast<double>(o.duration_s)) continue;
      out.push_back({id, "P", o.start + std::llround(e.p_s * 1e9)});
      out.push_back({id, "S", o.start + std::llround(e.s_s * 1e9)});
    }
  }
  return out;
}

std::vector<double> SynthSamples(const SynthOptions& o, int64_t station, char component, double rate_hz,
                                 int64_t first, int64_t count) {
  const int tag = component == 'Z' ? 1 : component == 'N' ? 2 : 3;
  std::vector<double> x(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) x[static_cast<size_t>(i)] = kNoiseCounts * Gaussian(Key(o.seed, station, tag, first + i));
  const double p_gain = component == 'Z' ? 1.0 : 0.35;
  const double s_gain = component == 'Z' ? 0.3 : (component == 'N' ? 1.0 : 0.8);
  const int64_t events = o.duration_s / std::max<int64_t>(1, o.event_interval_s);
  const double t_first = static_cast<double>(first) / rate_hz;
  const double t_last = static_cast<double>(first + count) / rate_hz;
  for (int64_t k = 0; k < events; ++k) {
    Event e = StationEvent(o, station, k);
    if (e.s_s + 10.0 > static_cast<double>(o.duration_s)) continue;
    if (e.p_s > t_last || e.s_s + 30.0 < t_first) continue;
    const double sign = (k % 2 == 0) ? 1.0 : -1.0;
    // Only the samples near the event (one more on each side than its span, which the time test
    // below trims exactly): a day-long chunk has thousands of events.
    const int64_t from = std::max<int64_t>(0, static_cast<int64_t>(std::floor(e.p_s * rate_hz)) - first - 1);
    const int64_t to = std::min<int64_t>(count, static_cast<int64_t>(std::ceil((e.s_s + 30.0) * rate_hz)) - first + 2);
    for (int64_t i = from; i < to; ++i) {
      const double t = static_cast<double>(first + i) / rate_hz;
      if (t < e.p_s || t > e.s_s + 30.0) continue;
      x[static_cast<size_t>(i)] += sign * p_gain * kPAmplitude * Wavelet(t - e.p_s, kPFrequencyHz, kPDecayS) +
                                   s_gain * kSAmplitude * Wavelet(t - e.s_s, kSFrequencyHz, kSDecayS);
    }
  }
  for (double& v : x) v = std::round(v);
  return x;
}

Status WriteSynthArchive(const std::string& dir, const SynthOptions& o, int64_t* files_written) {
  if (o.stations <= 0 || o.duration_s <= 0 || o.chunk_s <= 0 || o.overlap_s < 0 || o.rates_hz.empty()) {
    return Status::InvalidArgument("synth: stations, duration and chunk must be positive, overlap non-negative");
  }
  int64_t written = 0;
  const NanoTime end = o.start + o.duration_s * kNanosPerSecond;
  for (int64_t c = 0; o.start + c * o.chunk_s * kNanosPerSecond < end; ++c) {
    const NanoTime chunk_start = std::max(o.start, o.start + (c * o.chunk_s - o.overlap_s) * kNanosPerSecond);
    const NanoTime chunk_end = std::min(end, o.start + (c + 1) * o.chunk_s * kNanosPerSecond);
    const std::string chunk_name = Compact(chunk_start) + "_" + Compact(chunk_end);
    for (int64_t s = 0; s < o.stations; ++s) {
      const double rate = o.rates_hz[static_cast<size_t>(s) % o.rates_hz.size()];
      const std::string sta = SynthStationName(s);
      // Samples whose time lies in [chunk_start, chunk_end).
      const auto index_at = [&](NanoTime t) {
        return static_cast<int64_t>(std::ceil(static_cast<double>(t - o.start) * rate / 1e9 - 1e-9));
      };
      const int64_t first = index_at(chunk_start);
      const int64_t count = index_at(chunk_end) - first;
      for (char comp : {'Z', 'N', 'E'}) {
        TraceSegment seg;
        seg.id = {"SY", sta, "00", std::string("HH") + comp};
        seg.rate_hz = rate;
        seg.start = SampleTime(o.start, first, rate);
        seg.samples = SynthSamples(o, s, comp, rate, first, count);
        const std::string path = dir + "/" + chunk_name + "/" + sta + "/" + seg.id.ToString() + "__" +
                                 Compact(chunk_start) + "__" + Compact(chunk_end) + ".mseed";
        RAPID_RETURN_IF_ERROR(WriteMseedFile(path, {seg}, SampleEncoding::kSteim2, 4096));
        ++written;
      }
    }
  }
  std::string csv = "trace_id,phase,time\n";
  for (const PlantedArrival& a : PlannedArrivals(o)) csv += a.trace_id + "," + a.phase + "," + FormatIsoMicros(a.time) + "\n";
  RAPID_RETURN_IF_ERROR(WriteFileAtomically(dir + "/arrivals.csv", csv));
  if (files_written != nullptr) *files_written = written;
  return Status::OK();
}

}  // namespace rapid
