#include "serve/request_parsing.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>

namespace rapid {

namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool UrlDecode(const std::string& in, std::string* out) {
  out->clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '+') {
      *out += ' ';
    } else if (in[i] == '%') {
      if (i + 2 >= in.size()) return false;
      const int hi = HexValue(in[i + 1]), lo = HexValue(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      *out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      *out += in[i];
    }
  }
  return true;
}

bool ParseTarget(const std::string& target, std::string* path, std::map<std::string, std::string>* query,
                 std::string* error) {
  const size_t q = target.find('?');
  if (!UrlDecode(target.substr(0, q), path)) {
    *error = "malformed URL escape in the path";
    return false;
  }
  if (q == std::string::npos) return true;
  const std::string text = target.substr(q + 1);
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t amp = text.find('&', pos);
    if (amp == std::string::npos) amp = text.size();
    const std::string pair = text.substr(pos, amp - pos);
    if (!pair.empty()) {
      const size_t eq = pair.find('=');
      std::string key, value;
      if (!UrlDecode(pair.substr(0, eq), &key) || !UrlDecode(eq == std::string::npos ? "" : pair.substr(eq + 1), &value)) {
        *error = "malformed URL escape in the query";
        return false;
      }
      (*query)[key] = value;
    }
    pos = amp + 1;
  }
  return true;
}

bool ParseThresholds(const std::map<std::string, std::string>& query, const ModelSpec& spec,
                     std::map<std::string, double>* thresholds, std::string* error) {
  static const std::string kSuffix = "_threshold";
  for (const auto& [key, value] : query) {
    if (key == "format") continue;
    if (key.size() <= kSuffix.size() || key.compare(key.size() - kSuffix.size(), kSuffix.size(), kSuffix) != 0) {
      *error = "unknown query parameter '" + key + "' (thresholds are LABEL_threshold, e.g. P_threshold=0.5)";
      return false;
    }
    std::string label = key.substr(0, key.size() - kSuffix.size());
    if ((label == "detection" || label == "Detection") && !spec.detection_label.empty()) label = spec.detection_label;
    if (std::find(spec.labels.begin(), spec.labels.end(), label) == spec.labels.end() || label == spec.noise_label) {
      *error = "'" + key + "': " + spec.class_name + " has no label '" + label + "' to pick";
      return false;
    }
    errno = 0;
    char* end = nullptr;
    const double v = std::strtod(value.c_str(), &end);
    if (value.empty() || errno != 0 || end != value.c_str() + value.size() || !std::isfinite(v) || v <= 0 || v > 1) {
      *error = "'" + key + "' must be a probability above 0 and at most 1, not '" + value + "'";
      return false;
    }
    (*thresholds)[label] = v;
  }
  return true;
}

}  // namespace rapid
