// A frequency or sampling rate for messages and tables: "40 Hz", "0.1 Hz", "39.99998 Hz" (up to
// ten significant digits, so rates that differ slightly from a whole number show it).
// Thread safety: pure function.
#pragma once

#include <cstdio>
#include <string>

namespace rapid {

inline std::string HzText(double hz) {
  char text[40];
  std::snprintf(text, sizeof text, "%.10g Hz", hz);
  return text;
}

}  // namespace rapid
