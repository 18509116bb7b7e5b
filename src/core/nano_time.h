// Absolute time as integer nanoseconds since 1970-01-01T00:00:00Z (UTC, no leap seconds),
// the representation used at every module boundary.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

namespace rapid {

using NanoTime = int64_t;
constexpr NanoTime kUnsetTime = std::numeric_limits<int64_t>::min();
constexpr int64_t kNanosPerSecond = 1'000'000'000;

// Time of sample `index` of a stream that starts at `start` with rate `rate_hz`, rounded to the
// nearest nanosecond. REQUIRES: rate_hz > 0.
NanoTime SampleTime(NanoTime start, int64_t index, double rate_hz);

// "2024-12-15T11:59:03.120000Z": ISO-8601 UTC with exactly six fractional digits; the
// nanoseconds are rounded to the nearest microsecond.
std::string FormatIsoMicros(NanoTime t);

// Parses ISO-8601 UTC: "2024-12-15T12:00:00Z", "2024-12-15T12:00:00.5", "2024-12-15 12:00:00",
// "2024-12-15". A trailing "Z" is optional; other offsets are rejected. nullopt on failure, and for
// years outside 1678–2261 (beyond what NanoTime holds).
std::optional<NanoTime> ParseIsoTime(std::string_view text);

// "20241215T115800Z" (the timechunk layout's compact form) → time; nullopt on failure.
std::optional<NanoTime> ParseCompactTime(std::string_view text);

// Days since 1970-01-01 of a proleptic Gregorian date, and back.
int64_t DaysFromCivil(int64_t year, unsigned month, unsigned day);
void CivilFromDays(int64_t days, int64_t* year, unsigned* month, unsigned* day);

}  // namespace rapid
