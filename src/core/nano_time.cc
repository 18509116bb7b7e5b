#include "core/nano_time.h"

#include <cmath>
#include <cstdio>

namespace rapid {

NanoTime SampleTime(NanoTime start, int64_t index, double rate_hz) {
  return start + static_cast<int64_t>(std::llround(static_cast<double>(index) * 1e9 / rate_hz));
}

// Howard Hinnant's well-known civil calendar algorithms (public-domain formulation).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int64_t* year, unsigned* month, unsigned* day) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *day = doy - (153 * mp + 2) / 5 + 1;
  *month = mp < 10 ? mp + 3 : mp - 9;
  *year = static_cast<int64_t>(yoe) + era * 400 + (*month <= 2);
}

namespace {
int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }
}  // namespace

std::string FormatIsoMicros(NanoTime t) {
  int64_t micros = FloorDiv(t + 500, 1000);  // round half up to microseconds
  int64_t secs = FloorDiv(micros, 1'000'000);
  int64_t frac = micros - secs * 1'000'000;
  int64_t days = FloorDiv(secs, 86400);
  int64_t sod = secs - days * 86400;
  int64_t y = 0;
  unsigned mo, d;
  CivilFromDays(days, &y, &mo, &d);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%06lldZ", static_cast<long long>(y), mo, d,
                static_cast<long long>(sod / 3600), static_cast<long long>((sod / 60) % 60),
                static_cast<long long>(sod % 60), static_cast<long long>(frac));
  return buf;
}

namespace {

bool ReadInt(std::string_view s, size_t* pos, size_t digits, int64_t* out) {
  if (*pos + digits > s.size()) return false;
  int64_t v = 0;
  for (size_t i = 0; i < digits; ++i) {
    char c = s[*pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *pos += digits;
  *out = v;
  return true;
}

std::optional<NanoTime> Compose(int64_t y, int64_t mo, int64_t d, int64_t h, int64_t mi, int64_t s, int64_t ns) {
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return std::nullopt;
  if (y < 1678 || y > 2261) return std::nullopt;  // int64 nanoseconds hold 1677-09-21 … 2262-04-11
  int64_t days = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  return ((days * 86400 + h * 3600 + mi * 60 + s) * kNanosPerSecond) + ns;
}

}  // namespace

std::optional<NanoTime> ParseIsoTime(std::string_view s) {
  size_t p = 0;
  int64_t y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0, ns = 0;
  if (!ReadInt(s, &p, 4, &y) || p >= s.size() || s[p++] != '-' || !ReadInt(s, &p, 2, &mo) || p >= s.size() ||
      s[p++] != '-' || !ReadInt(s, &p, 2, &d))
    return std::nullopt;
  if (p < s.size() && (s[p] == 'T' || s[p] == ' ')) {
    ++p;
    if (!ReadInt(s, &p, 2, &h) || p >= s.size() || s[p++] != ':' || !ReadInt(s, &p, 2, &mi)) return std::nullopt;
    if (p < s.size() && s[p] == ':') {
      ++p;
      if (!ReadInt(s, &p, 2, &sec)) return std::nullopt;
      if (p < s.size() && s[p] == '.') {
        ++p;
        int64_t scale = 100'000'000;
        size_t digits = 0;
        while (p < s.size() && s[p] >= '0' && s[p] <= '9') {
          if (scale > 0) ns += (s[p] - '0') * scale;
          scale /= 10;
          ++p;
          ++digits;
        }
        if (digits == 0) return std::nullopt;
      }
    }
  }
  if (p < s.size() && s[p] == 'Z') ++p;
  if (p != s.size()) return std::nullopt;
  return Compose(y, mo, d, h, mi, sec, ns);
}

std::optional<NanoTime> ParseCompactTime(std::string_view s) {
  size_t p = 0;
  int64_t y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  if (!ReadInt(s, &p, 4, &y) || !ReadInt(s, &p, 2, &mo) || !ReadInt(s, &p, 2, &d) || p >= s.size() ||
      s[p++] != 'T' || !ReadInt(s, &p, 2, &h) || !ReadInt(s, &p, 2, &mi) || !ReadInt(s, &p, 2, &sec))
    return std::nullopt;
  if (p < s.size() && s[p] == 'Z') ++p;
  if (p != s.size()) return std::nullopt;
  return Compose(y, mo, d, h, mi, sec, 0);
}

}  // namespace rapid
