#include "sinks/quakeml.h"

#include <functional>

#include <charconv>
#include <set>

#include "core/atomic_file.h"

namespace rapid {
namespace {

// Length of the well-formed UTF-8 sequence starting at s[i], or 0 when it is not one.
size_t Utf8SequenceLength(const std::string& s, size_t i) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return 0;
  }
  return n;
}

// Text or attribute content: the five XML specials escaped; bytes XML 1.0 cannot carry (control
// characters other than tab/LF/CR, malformed UTF-8) replaced by '?'.
std::string XmlEscape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    char c = s[i];
    size_t n = Utf8SequenceLength(s, i);
    if (n == 0) {
      out += '?';
      ++i;
      continue;
    }
    if (n > 1) {
      out.append(s, i, n);
      i += n;
      continue;
    }
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        out += (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r') ? '?' : c;
    }
    ++i;
  }
  return out;
}

// One path segment of a publicID: characters outside [A-Za-z0-9_.*()-] become "~XX" (hex of the
// byte), so distinct inputs stay distinct, the result matches QuakeML's ResourceIdentifier and
// needs no XML escaping.
std::string IdSegment(const std::string& s) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
                 c == '.' || c == '-' || c == '*' || c == '(' || c == ')';
    if (plain) {
      out += c;
    } else {
      unsigned char b = static_cast<unsigned char>(c);
      out += '~';
      out += kHex[b >> 4];
      out += kHex[b & 0xF];
    }
  }
  return out;
}

// 20241215T115903.120000Z: a time with no characters a publicID may not hold.
std::string IdTime(NanoTime t) {
  std::string out;
  for (char c : FormatIsoMicros(t)) {
    if (c != '-' && c != ':') out += c;
  }
  return out;
}

std::string ShortestFloat(float v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, end) : "nan";
}

std::string CreationInfo(const std::string& indent, const QuakeMlOptions& options, const std::string& creation) {
  std::string x = indent + "<creationInfo>";
  if (!options.agency_id.empty()) x += "<agencyID>" + XmlEscape(options.agency_id) + "</agencyID>";
  return x + "<author>RAPID</author><creationTime>" + creation + "</creationTime></creationInfo>\n";
}

std::string PickElement(const Pick& p, const std::string& public_id, const std::string& method_id,
                        const QuakeMlOptions& options, const std::string& creation) {
  size_t first = p.trace_id.find('.');
  size_t second = first == std::string::npos ? std::string::npos : p.trace_id.find('.', first + 1);
  std::string network, station, location;
  if (first == std::string::npos) {
    station = p.trace_id;
  } else {
    network = p.trace_id.substr(0, first);
    station = p.trace_id.substr(first + 1, second == std::string::npos ? std::string::npos : second - first - 1);
    if (second != std::string::npos) location = p.trace_id.substr(second + 1);
  }
  std::string channel_attr;
  if (options.instrument_by_trace_id != nullptr) {
    auto it = options.instrument_by_trace_id->find(p.trace_id);
    if (it != options.instrument_by_trace_id->end()) {
      channel_attr = " channelCode=\"" + XmlEscape(it->second + "Z") + "\"";
    }
  }

  std::string x = "      <pick publicID=\"" + XmlEscape(public_id) + "\">\n";
  x += "        <comment><text>probability=" + ShortestFloat(p.peak_value) + "</text></comment>\n";
  if (p.start_time != kUnsetTime && p.end_time != kUnsetTime) {
    x += "        <comment><text>trigger_on=" + FormatIsoMicros(p.start_time) + " trigger_off=" +
         FormatIsoMicros(p.end_time) + "</text></comment>\n";
  }
  x += "        <time><value>" + FormatIsoMicros(p.peak_time) + "</value></time>\n";
  x += "        <waveformID networkCode=\"" + XmlEscape(network) + "\" stationCode=\"" + XmlEscape(station) +
       "\" locationCode=\"" + XmlEscape(location) + "\"" + channel_attr + "/>\n";
  if (!method_id.empty()) x += "        <methodID>" + XmlEscape(method_id) + "</methodID>\n";
  x += "        <phaseHint>" + XmlEscape(p.phase) + "</phaseHint>\n";
  x += "        <evaluationMode>automatic</evaluationMode>\n";
  x += CreationInfo("        ", options, creation);
  return x + "      </pick>\n";
}

}  // namespace

namespace {

using PickVisitor = std::function<Status(const Pick&)>;
using PickSource = std::function<Status(const PickVisitor&)>;  // visits picks in SortPicks order
using TextSink = std::function<Status(std::string&&)>;

// The document, piece by piece into `out`, for the picks `source` visits.
Status EmitQuakeMl(const PickSource& source, const std::string& model_name, NanoTime creation_time,
                   const QuakeMlOptions& options, const TextSink& out) {
  const std::string creation = FormatIsoMicros(creation_time);
  const std::string creation_id = IdTime(creation_time);
  const std::string method_id = model_name.empty() ? "" : "smi:rapid/method/" + IdSegment(model_name);

  std::string x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  x += "<q:quakeml xmlns:q=\"http://quakeml.org/xmlns/quakeml/1.2\" xmlns=\"http://quakeml.org/xmlns/bed/1.2\">\n";
  x += "  <eventParameters publicID=\"smi:rapid/eventParameters/" + creation_id + "\">\n";
  x += "    <event publicID=\"smi:rapid/event/" + creation_id + "\">\n";
  RAPID_RETURN_IF_ERROR(out(std::move(x)));
  // Picks with the same id base (trace, phase, peak time to the id's precision) are adjacent in
  // sorted order; the second and later get /2, /3, ….
  std::string last_base;
  int repeat = 1;
  RAPID_RETURN_IF_ERROR(source([&](const Pick& p) {
    const std::string base = "smi:rapid/pick/" + IdSegment(p.trace_id) + "/" + IdSegment(p.phase) + "/" +
                             IdTime(p.peak_time);
    repeat = base == last_base ? repeat + 1 : 1;
    last_base = base;
    return out(PickElement(p, repeat == 1 ? base : base + "/" + std::to_string(repeat), method_id, options, creation));
  }));
  x = CreationInfo("      ", options, creation);
  x += "    </event>\n";
  x += CreationInfo("    ", options, creation);
  x += "  </eventParameters>\n";
  x += "</q:quakeml>\n";
  return out(std::move(x));
}

}  // namespace

std::string FormatQuakeMl(const std::vector<Pick>& picks, const std::string& model_name, NanoTime creation_time,
                          const QuakeMlOptions& options) {
  std::vector<Pick> sorted = picks;
  SortPicks(&sorted);
  std::string text;
  const PickSource all = [&](const PickVisitor& visit) {
    for (const Pick& p : sorted) RAPID_RETURN_IF_ERROR(visit(p));
    return Status::OK();
  };
  (void)EmitQuakeMl(all, model_name, creation_time, options, [&](std::string&& piece) {
    text += piece;
    return Status::OK();
  });
  return text;
}

Status WriteQuakeMl(const std::string& path, const PickSpill& picks, const std::string& model_name,
                    NanoTime creation_time, const QuakeMlOptions& options) {
  AtomicFile file;
  RAPID_RETURN_IF_ERROR(file.Open(path));
  const PickSource spilled = [&](const PickVisitor& visit) { return picks.ForEach(visit); };
  RAPID_RETURN_IF_ERROR(EmitQuakeMl(spilled, model_name, creation_time, options,
                                    [&](std::string&& piece) { return file.Append(piece); }));
  return file.Commit();
}

}  // namespace rapid
