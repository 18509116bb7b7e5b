#include "seedlink/selector.h"

#include <cctype>

namespace rapid {
namespace {

bool ValidPatternChars(const std::string& s) {
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '*' && c != '?') return false;
  }
  return true;
}

}  // namespace

bool WildcardMatch(std::string_view pattern, std::string_view text) {
  // Iterative glob with one backtrack point (the last `*`): linear in practice, no recursion.
  size_t p = 0, t = 0, star = std::string_view::npos, resume = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

Status ParseStreamSelector(const std::string& text, StreamSelector* out) {
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("--select '" + text + "': " + why + " (expected NET_STA[:LOCCHA], e.g. TX_* or 4O_AT01:00HH?)");
  };
  StreamSelector s;
  const size_t colon = text.find(':');
  const std::string netsta = text.substr(0, colon);
  const size_t underscore = netsta.find('_');
  if (underscore == std::string::npos || netsta.find('_', underscore + 1) != std::string::npos) {
    return bad("NET_STA needs exactly one '_'");
  }
  s.network = netsta.substr(0, underscore);
  s.station = netsta.substr(underscore + 1);
  if (s.network.empty() || s.station.empty()) return bad("network and station may not be empty (use *)");
  if (!ValidPatternChars(s.network) || !ValidPatternChars(s.station)) {
    return bad("network and station take letters, digits, * and ?");
  }
  if (colon != std::string::npos) {
    const std::string loccha = text.substr(colon + 1);
    if (loccha == "*") {
      // every location and channel: the defaults
    } else if (loccha.size() == 3) {
      s.channel = loccha;
    } else if (loccha.size() == 5) {
      s.location = loccha.substr(0, 2) == "--" ? "" : loccha.substr(0, 2);
      s.channel = loccha.substr(2);
    } else {
      return bad("LOCCHA is LLCCC, CCC or *");
    }
    if (!ValidPatternChars(s.location) || !ValidPatternChars(s.channel) || s.channel.find('*') != std::string::npos) {
      return bad("location takes letters, digits, ? and * (-- for the empty one), channel three letters, digits or ?");
    }
  }
  *out = std::move(s);
  return Status::OK();
}

std::string StreamSelector::SelectV3() const {
  if (location == "*" && channel == "*") return "";
  const std::string cha = channel == "*" ? "???" : channel;
  if (location == "*") return cha;
  if (location.empty()) return "--" + cha;
  return location + cha;
}

std::string StreamSelector::SelectV4() const {
  if (location == "*" && channel == "*") return "";
  const std::string cha = channel == "*" ? "???" : channel;
  return location + "_" + cha.substr(0, 1) + "_" + cha.substr(1, 1) + "_" + cha.substr(2, 1);
}

bool StreamSelector::Matches(std::string_view net, std::string_view sta, std::string_view loc,
                             std::string_view cha) const {
  return WildcardMatch(network, net) && WildcardMatch(station, sta) && WildcardMatch(location, loc) &&
         WildcardMatch(channel, cha);
}

}  // namespace rapid
