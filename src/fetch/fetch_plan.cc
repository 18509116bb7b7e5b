#include "fetch/fetch_plan.h"

#include <algorithm>
#include <cstdio>

#include "engine/time_chunks.h"
#include "sinks/eqcctpro_csv.h"

namespace rapid {

namespace {

constexpr NanoTime kDayNs = 86400 * kNanosPerSecond;

// The channel's part of [from, to]; false when its epoch misses it.
bool Clip(const ChannelEpoch& c, NanoTime from, NanoTime to, NanoTime* lo, NanoTime* hi) {
  *lo = std::max(from, c.start);
  *hi = c.end == kUnsetTime ? to : std::min(to, c.end);
  return *lo < *hi;
}

std::string SdsPath(const ChannelEpoch& c, NanoTime day_start) {
  int64_t year = 0;
  unsigned month = 0, day = 0;
  const int64_t days = day_start / kDayNs;
  CivilFromDays(days, &year, &month, &day);
  const int64_t doy = days - DaysFromCivil(year, 1, 1) + 1;
  char tail[32];
  std::snprintf(tail, sizeof tail, ".D.%lld.%03lld", static_cast<long long>(year), static_cast<long long>(doy));
  return std::to_string(year) + "/" + c.network + "/" + c.station + "/" + c.channel + ".D/" + c.Id() + tail;
}

}  // namespace

std::vector<FetchSlice> PlanSlices(const std::vector<ChannelEpoch>& channels, NanoTime start, NanoTime end, int64_t chunk_ns,
                                   int64_t overlap_ns, FetchLayout layout) {
  std::vector<FetchSlice> slices;
  auto add = [&](NanoTime from, NanoTime to, auto path_of) {
    for (const ChannelEpoch& c : channels) {
      NanoTime lo = 0, hi = 0;
      if (Clip(c, from, to, &lo, &hi)) slices.push_back({c, lo, hi, path_of(c)});
    }
  };
  if (layout == FetchLayout::kChunks) {
    for (const TimeChunk& chunk : PlanTimeChunks(start, end, chunk_ns, overlap_ns)) {
      const std::string t0 = FormatEqcctproCompactTime(chunk.start), t1 = FormatEqcctproCompactTime(chunk.end);
      add(chunk.start, chunk.end, [&](const ChannelEpoch& c) {
        return t0 + "_" + t1 + "/" + c.station + "/" + c.Id() + "__" + t0 + "__" + t1 + ".mseed";
      });
    }
    return slices;
  }
  for (NanoTime day = start - ((start % kDayNs) + kDayNs) % kDayNs; day < end; day += kDayNs) {
    add(std::max(start, day), std::min(end, day + kDayNs), [&](const ChannelEpoch& c) { return SdsPath(c, day); });
  }
  return slices;
}

std::vector<std::vector<size_t>> GroupRequests(const std::vector<FetchSlice>& slices, double max_samples, size_t max_lines) {
  std::vector<std::vector<size_t>> requests;
  double samples = 0.0;
  for (size_t i = 0; i < slices.size(); ++i) {
    const double n = slices[i].channel.rate_hz * static_cast<double>(slices[i].end - slices[i].start) / 1e9;
    if (requests.empty() || requests.back().size() >= max_lines || samples + n > max_samples) {
      requests.emplace_back();
      samples = 0.0;
    }
    requests.back().push_back(i);
    samples += n;
  }
  return requests;
}

std::string DataselectBody(const std::vector<FetchSlice>& slices, const std::vector<size_t>& which) {
  std::string body;
  for (size_t i : which) {
    const FetchSlice& s = slices[i];
    const ChannelEpoch& c = s.channel;
    auto iso = [](NanoTime t) {
      std::string text = FormatIsoMicros(t);
      text.pop_back();  // the "Z": FDSN times are UTC without a zone
      return text;
    };
    body += c.network + " " + c.station + " " + (c.location.empty() ? "--" : c.location) + " " + c.channel + " " +
            iso(s.start) + " " + iso(s.end) + "\n";
  }
  return body;
}

}  // namespace rapid
