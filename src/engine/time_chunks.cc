#include "engine/time_chunks.h"

#include <limits>

namespace rapid {
namespace {

struct Unit {
  std::string_view suffix;
  int64_t ns;
};

// Largest first, so FormatDuration picks the largest exact unit; "min" is accepted on input only.
constexpr Unit kUnits[] = {
    {"d", 86'400 * kNanosPerSecond}, {"h", 3'600 * kNanosPerSecond}, {"m", 60 * kNanosPerSecond},
    {"s", kNanosPerSecond},          {"ms", 1'000'000},              {"us", 1'000},
    {"ns", 1},
};

std::optional<int64_t> UnitNs(std::string_view suffix) {
  if (suffix.empty()) return kNanosPerSecond;
  if (suffix == "min") return 60 * kNanosPerSecond;
  for (const Unit& u : kUnits) {
    if (u.suffix == suffix) return u.ns;
  }
  return std::nullopt;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

Status PlanTimeChunks(NanoTime start, NanoTime end, int64_t chunk_ns, int64_t overlap_ns,
                      std::vector<TimeChunk>* chunks) {
  chunks->clear();
  if (start == kUnsetTime || end == kUnsetTime) {
    return Status::InvalidArgument("time chunks need both a start and an end time");
  }
  if (end <= start) {
    return Status::InvalidArgument("time chunks: end " + FormatIsoMicros(end) + " is not after start " +
                                   FormatIsoMicros(start));
  }
  if (chunk_ns <= 0) return Status::InvalidArgument("time chunks: chunk length " + FormatDuration(chunk_ns) +
                                                    " must be positive");
  if (overlap_ns < 0) return Status::InvalidArgument("time chunks: overlap " + FormatDuration(overlap_ns) +
                                                     " must not be negative");
  if (overlap_ns >= chunk_ns) {
    return Status::InvalidArgument("time chunks: overlap " + FormatDuration(overlap_ns) +
                                   " must be shorter than the chunk length " + FormatDuration(chunk_ns));
  }
  // 128-bit arithmetic: start + i·chunk may leave int64 near the ends of the range before clipping.
  const __int128 span = static_cast<__int128>(end) - start;
  const __int128 count = (span + chunk_ns - 1) / chunk_ns;
  if (count > kMaxTimeChunks) {
    return Status::InvalidArgument("time chunks: " + FormatDuration(chunk_ns) + " chunks over " +
                                   FormatIsoMicros(start) + " to " + FormatIsoMicros(end) + " would make " +
                                   std::to_string(static_cast<int64_t>(count)) + " chunks (at most " +
                                   std::to_string(kMaxTimeChunks) + ")");
  }
  chunks->reserve(static_cast<size_t>(count));
  for (int64_t i = 0; i < static_cast<int64_t>(count); ++i) {
    const __int128 nominal_start = static_cast<__int128>(start) + static_cast<__int128>(i) * chunk_ns;
    const __int128 chunk_start = nominal_start - overlap_ns;
    const __int128 chunk_end = nominal_start + chunk_ns;
    TimeChunk c;
    c.index = i;
    c.start = chunk_start < start ? start : static_cast<NanoTime>(chunk_start);
    c.end = chunk_end > end ? end : static_cast<NanoTime>(chunk_end);
    chunks->push_back(c);
  }
  return Status::OK();
}

std::vector<TimeChunk> PlanTimeChunks(NanoTime start, NanoTime end, int64_t chunk_ns, int64_t overlap_ns) {
  std::vector<TimeChunk> chunks;
  (void)PlanTimeChunks(start, end, chunk_ns, overlap_ns, &chunks);  // empty on error, as documented
  return chunks;
}

std::optional<int64_t> ParseDurationNs(std::string_view text) {
  size_t pos = 0;
  __int128 whole = 0;
  size_t whole_digits = 0;
  for (; pos < text.size() && IsDigit(text[pos]); ++pos, ++whole_digits) {
    whole = whole * 10 + (text[pos] - '0');
    if (whole > std::numeric_limits<int64_t>::max()) return std::nullopt;
  }
  __int128 frac = 0, frac_scale = 1;
  size_t frac_digits = 0;
  if (pos < text.size() && text[pos] == '.') {
    for (++pos; pos < text.size() && IsDigit(text[pos]); ++pos, ++frac_digits) {
      if (frac_digits < 18) {  // further digits are far below a nanosecond
        frac = frac * 10 + (text[pos] - '0');
        frac_scale *= 10;
      }
    }
    if (frac_digits == 0) return std::nullopt;  // "5." or "."
  }
  if (whole_digits == 0 && frac_digits == 0) return std::nullopt;
  const std::optional<int64_t> unit_ns = UnitNs(text.substr(pos));
  if (!unit_ns) return std::nullopt;
  const __int128 ns = whole * *unit_ns + (frac * *unit_ns + frac_scale / 2) / frac_scale;
  if (ns > std::numeric_limits<int64_t>::max()) return std::nullopt;
  return static_cast<int64_t>(ns);
}

std::string FormatDuration(int64_t ns) {
  if (ns == 0) return "0s";
  if (ns < 0) {
    // -INT64_MIN does not exist; its magnitude is an exact multiple of ns only.
    if (ns == std::numeric_limits<int64_t>::min()) return "-9223372036854775808ns";
    std::string text = FormatDuration(-ns);
    text.insert(text.begin(), '-');
    return text;
  }
  for (const Unit& u : kUnits) {
    if (ns % u.ns == 0) return std::to_string(ns / u.ns) + std::string(u.suffix);
  }
  return std::to_string(ns) + "ns";  // not reached: every value is a multiple of 1 ns
}

}  // namespace rapid
