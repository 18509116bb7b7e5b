#include "fetch/station_text.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <map>

namespace rapid {

namespace {

std::vector<std::string> SplitBars(std::string_view line) {
  std::vector<std::string> fields;
  for (size_t from = 0;;) {
    const size_t bar = line.find('|', from);
    std::string f(line.substr(from, bar == std::string_view::npos ? std::string_view::npos : bar - from));
    f.erase(0, f.find_first_not_of(" \t\r"));
    f.erase(f.find_last_not_of(" \t\r") + 1);
    fields.push_back(std::move(f));
    if (bar == std::string_view::npos) return fields;
    from = bar + 1;
  }
}

std::string Key(std::string name) {
  name.erase(std::remove_if(name.begin(), name.end(), [](unsigned char c) { return std::isspace(c) || c == '#'; }),
             name.end());
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  return name;
}

// Column index of each field this parser reads.
struct Columns {
  size_t network = 0, station = 1, location = 2, channel = 3, rate = 14, start = 15, end = 16;
  size_t needed() const { return std::max({network, station, location, channel, rate, start, end}) + 1; }
};

bool FromHeader(const std::vector<std::string>& names, Columns* c) {
  std::map<std::string, size_t> at;
  for (size_t i = 0; i < names.size(); ++i) at[Key(names[i])] = i;
  for (const auto& [name, field] : std::initializer_list<std::pair<const char*, size_t*>>{
           {"network", &c->network}, {"station", &c->station}, {"location", &c->location}, {"channel", &c->channel},
           {"samplerate", &c->rate}, {"starttime", &c->start}, {"endtime", &c->end}}) {
    auto it = at.find(name);
    if (it == at.end()) return false;
    *field = it->second;
  }
  return true;
}

Status ParseRow(const std::vector<std::string>& f, const Columns& c, ChannelEpoch* ch) {
  if (f.size() < c.needed()) return Status::InvalidArgument(std::to_string(f.size()) + " columns, expected " + std::to_string(c.needed()));
  ch->network = f[c.network];
  ch->station = f[c.station];
  ch->location = f[c.location] == "--" ? "" : f[c.location];
  ch->channel = f[c.channel];
  char* end = nullptr;
  ch->rate_hz = std::strtod(f[c.rate].c_str(), &end);
  if (f[c.rate].empty() || *end != '\0' || !(ch->rate_hz > 0)) return Status::InvalidArgument("sample rate '" + f[c.rate] + "'");
  const auto start = ParseIsoTime(f[c.start]);
  if (!start) return Status::InvalidArgument("start time '" + f[c.start] + "'");
  ch->start = *start;
  ch->end = kUnsetTime;
  // Open epochs are written empty or far in the future (2599-12-31, 3000-01-01), beyond what
  // NanoTime holds (year 2262): both are open.
  if (!f[c.end].empty() && std::atoi(f[c.end].substr(0, 4).c_str()) < 2200) {
    const auto stop = ParseIsoTime(f[c.end]);
    if (!stop) return Status::InvalidArgument("end time '" + f[c.end] + "'");
    ch->end = *stop;
  }
  if (ch->network.empty() || ch->station.empty() || ch->channel.empty()) return Status::InvalidArgument("empty code");
  return Status::OK();
}

}  // namespace

Status ParseStationText(std::string_view text, std::vector<ChannelEpoch>* channels) {
  channels->clear();
  Columns columns;
  int line_number = 0;
  for (size_t from = 0; from < text.size();) {
    const size_t nl = text.find('\n', from);
    const std::string_view line = text.substr(from, nl == std::string_view::npos ? std::string_view::npos : nl - from);
    from = nl == std::string_view::npos ? text.size() : nl + 1;
    ++line_number;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    if (line.front() == '#') {
      Columns named;
      if (FromHeader(SplitBars(line), &named)) columns = named;
      continue;
    }
    ChannelEpoch ch;
    if (Status s = ParseRow(SplitBars(line), columns, &ch); !s.ok()) {
      return Status::InvalidArgument("station service line " + std::to_string(line_number) + ": " + s.message());
    }
    channels->push_back(std::move(ch));
  }
  return Status::OK();
}

}  // namespace rapid
