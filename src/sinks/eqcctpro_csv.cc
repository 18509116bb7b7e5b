#include "sinks/eqcctpro_csv.h"

#include <algorithm>
#include <cassert>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "core/atomic_file.h"
#include "picking/window_peak.h"

namespace rapid {
namespace {

struct TraceCodes {
  std::string network, station, location;
};

// "NET.STA.LOC" -> codes; false when there are fewer than two dots or no station code.
bool SplitTraceId(const std::string& trace_id, TraceCodes* out) {
  size_t first = trace_id.find('.');
  if (first == std::string::npos) return false;
  size_t second = trace_id.find('.', first + 1);
  if (second == std::string::npos || second == first + 1) return false;
  out->network = trace_id.substr(0, first);
  out->station = trace_id.substr(first + 1, second - first - 1);
  out->location = trace_id.substr(second + 1);
  return true;
}

std::string OptionalNumber(const std::optional<double>& v) {
  if (!v) return "";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, *v);
  return ec == std::errc() ? std::string(buf, end) : "";
}

// The data rows (no header) for one trace id's picks.
std::string FormatRows(const std::vector<Pick>& station_picks, const EqcctproStationInfo& info, NanoTime chunk_start,
                       NanoTime chunk_end) {
  TraceCodes codes;
  if (!SplitTraceId(info.trace_id, &codes)) codes.station = info.trace_id;
  const std::string start = FormatEqcctproCompactTime(chunk_start);
  const std::string end = FormatEqcctproCompactTime(chunk_end);
  std::string file_name = codes.network + "." + codes.station + "." + codes.location;
  if (info.file_channel.empty()) {
    file_name += "__" + start + "__" + end;
  } else {
    file_name = codes.station + "/" + file_name + "." + info.file_channel + "__" + start + "__" + end + ".mseed";
  }
  const std::string station_fields = CsvField(file_name) + "," + CsvField(codes.network) + "," +
                                     CsvField(codes.station) + "," + CsvField(info.instrument_type) + "," +
                                     OptionalNumber(info.latitude_deg) + "," + OptionalNumber(info.longitude_deg) +
                                     "," + OptionalNumber(info.elevation_m) + ",";

  auto by_peak = [](const Pick* a, const Pick* b) { return a->peak_time < b->peak_time; };
  std::vector<const Pick*> p_picks, s_picks;
  for (const Pick& pick : station_picks) {
    if (pick.phase == "P") p_picks.push_back(&pick);
    if (pick.phase == "S") s_picks.push_back(&pick);
  }
  std::stable_sort(p_picks.begin(), p_picks.end(), by_peak);
  std::stable_sort(s_picks.begin(), s_picks.end(), by_peak);

  struct Row {
    NanoTime first_time;
    int order;  // 0: a row with a P, 1: an S-only row (after P rows at the same time)
    const Pick* p;
    const Pick* s;
  };
  std::vector<Row> rows;
  std::vector<bool> s_used(s_picks.size(), false);
  for (const Pick* p : p_picks) {
    const Pick* partner = nullptr;
    for (size_t j = 0; j < s_picks.size(); ++j) {
      NanoTime s_minus_p = s_picks[j]->peak_time - p->peak_time;
      if (s_minus_p > kEqcctproMaxSMinusP) break;  // sorted: no later S is closer
      if (s_used[j] || s_minus_p < 0) continue;
      s_used[j] = true;
      partner = s_picks[j];
      break;
    }
    rows.push_back({p->peak_time, 0, p, partner});
  }
  for (size_t j = 0; j < s_picks.size(); ++j) {
    if (!s_used[j]) rows.push_back({s_picks[j]->peak_time, 1, nullptr, s_picks[j]});
  }
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    return a.first_time != b.first_time ? a.first_time < b.first_time : a.order < b.order;
  });

  std::string text;
  for (const Row& row : rows) {
    text += station_fields;
    if (row.p != nullptr) text += PythonDateTime(row.p->peak_time) + "," + PythonProbability(row.p->peak_value);
    else text += ",";
    text += ",";
    if (row.s != nullptr) text += PythonDateTime(row.s->peak_time) + "," + PythonProbability(row.s->peak_value);
    else text += ",";
    text += "\r\n";
  }
  return text;
}

}  // namespace

std::string CsvField(const std::string& field) {
  if (field.find_first_of(",\"\r\n") == std::string::npos) return field;
  std::string quoted = "\"";
  for (char c : field) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

std::string PythonDateTime(NanoTime t) {
  std::string iso = FormatIsoMicros(t);  // 2024-12-15T11:59:03.120000Z
  iso.pop_back();                        // 'Z'
  size_t t_pos = iso.find('T');
  if (t_pos != std::string::npos) iso[t_pos] = ' ';
  size_t dot = iso.rfind('.');
  if (dot != std::string::npos && iso.compare(dot, std::string::npos, ".000000") == 0) iso.erase(dot);
  return iso;
}

std::string PythonProbability(float p) {
  const float rounded = RoundToThousandths(p);
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, rounded, std::chars_format::fixed);
  if (ec != std::errc()) return "nan";
  std::string text(buf, end);
  if (text == "nan" || text == "-nan" || text.find("inf") != std::string::npos) return text;
  if (text.find('.') == std::string::npos) text += ".0";  // numpy prints 1.0, not 1
  return text;
}

std::string FormatEqcctproCompactTime(NanoTime t) {
  NanoTime whole_seconds = t / kNanosPerSecond * kNanosPerSecond;
  if (whole_seconds > t) whole_seconds -= kNanosPerSecond;  // floor for times before 1970
  std::string iso = FormatIsoMicros(whole_seconds);      // 2024-12-15T11:58:00.000000Z
  std::string compact;
  for (char c : iso.substr(0, iso.find('.'))) {
    if (c != '-' && c != ':') compact += c;
  }
  return compact + "Z";
}

std::string FormatEqcctproCsv(const std::vector<Pick>& station_picks, const EqcctproStationInfo& info,
                              NanoTime chunk_start, NanoTime chunk_end) {
  return kEqcctproCsvHeader + FormatRows(station_picks, info, chunk_start, chunk_end);
}

namespace {

// Stations (the station code names the file) and their trace ids, both sorted; InvalidArgument
// for a trace id that is not NET.STA.LOC.
Status TraceIdsByStation(const std::map<std::string, std::string>& instrument_by_trace_id,
                         std::map<std::string, std::vector<std::string>>* out) {
  for (const auto& [trace_id, instrument] : instrument_by_trace_id) {
    TraceCodes codes;
    if (!SplitTraceId(trace_id, &codes) || codes.station == "." || codes.station == ".." ||
        codes.station.find('/') != std::string::npos) {
      return Status::InvalidArgument("eqcctpro output: trace id '" + trace_id + "' is not NET.STA.LOC");
    }
    (*out)[codes.station].push_back(trace_id);
  }
  return Status::OK();
}

Status UnknownTraceId(const Pick& pick) {
  return Status::InvalidArgument("eqcctpro output: pick on '" + pick.trace_id + "', which has no instrument code");
}

// Writes one station's file of one chunk: the picks of each of its trace ids (sorted) whose peak
// lies in the chunk, grouped by trace id.
Status WriteStationFile(const std::string& dir, const std::string& station, const std::vector<std::string>& trace_ids,
                        const std::map<std::string, std::vector<Pick>>& picks_by_trace_id,
                        const std::map<std::string, std::string>& instrument_by_trace_id, NanoTime chunk_start,
                        NanoTime chunk_end, const std::map<std::string, std::string>* file_channel_by_trace_id) {
  std::string text = kEqcctproCsvHeader;
  for (const std::string& trace_id : trace_ids) {
    EqcctproStationInfo info;
    info.trace_id = trace_id;
    info.instrument_type = instrument_by_trace_id.at(trace_id);
    if (file_channel_by_trace_id != nullptr) {
      auto it = file_channel_by_trace_id->find(trace_id);
      if (it != file_channel_by_trace_id->end()) info.file_channel = it->second;
    }
    std::vector<Pick> in_chunk;
    if (auto found = picks_by_trace_id.find(trace_id); found != picks_by_trace_id.end()) {
      for (const Pick& p : found->second) {
        if (p.peak_time >= chunk_start && p.peak_time <= chunk_end) in_chunk.push_back(p);
      }
    }
    text += FormatRows(in_chunk, info, chunk_start, chunk_end);
  }
  const std::string chunk_dir =
      dir + "/" + FormatEqcctproCompactTime(chunk_start) + "_" + FormatEqcctproCompactTime(chunk_end);
  return WriteFileAtomically(chunk_dir + "/" + station + "_outputs/X_prediction_results.csv", text);
}

}  // namespace

Status WriteEqcctproOutputs(const std::string& dir, const std::vector<Pick>& picks,
                            const std::map<std::string, std::string>& instrument_by_trace_id, NanoTime chunk_start,
                            NanoTime chunk_end, const std::map<std::string, std::string>* file_channel_by_trace_id) {
  // Validate everything before writing anything.
  std::map<std::string, std::vector<std::string>> trace_ids_by_station;
  RAPID_RETURN_IF_ERROR(TraceIdsByStation(instrument_by_trace_id, &trace_ids_by_station));
  std::map<std::string, std::vector<Pick>> picks_by_trace_id;
  for (const Pick& pick : picks) {
    if (instrument_by_trace_id.count(pick.trace_id) == 0) return UnknownTraceId(pick);
    picks_by_trace_id[pick.trace_id].push_back(pick);
  }
  for (const auto& [station, trace_ids] : trace_ids_by_station) {
    RAPID_RETURN_IF_ERROR(WriteStationFile(dir, station, trace_ids, picks_by_trace_id, instrument_by_trace_id,
                                           chunk_start, chunk_end, file_channel_by_trace_id));
  }
  return Status::OK();
}

Status WriteEqcctproRun(const std::string& dir, const std::vector<std::pair<NanoTime, NanoTime>>& chunks,
                        const PickSpill& picks, const std::map<std::string, std::string>& instrument_by_trace_id) {
  // Validate everything before writing anything (a first pass over the picks).
  std::map<std::string, std::vector<std::string>> trace_ids_by_station;
  RAPID_RETURN_IF_ERROR(TraceIdsByStation(instrument_by_trace_id, &trace_ids_by_station));
  RAPID_RETURN_IF_ERROR(picks.ForEach([&](const Pick& p) {
    return instrument_by_trace_id.count(p.trace_id) == 0 ? UnknownTraceId(p) : Status::OK();
  }));
  // Then station by station: the picks arrive sorted by trace id, as the instrument map is, so a
  // station's picks are complete once its last trace id has passed; only the stations still
  // waiting for one of their trace ids hold picks (one at a time when each has one trace id).
  std::map<std::string, std::string> station_of;          // trace id → station code
  std::map<std::string, std::string> last_trace_id_of;    // station → its last trace id
  for (const auto& [station, trace_ids] : trace_ids_by_station) {
    for (const std::string& t : trace_ids) station_of[t] = station;
    last_trace_id_of[station] = trace_ids.back();
  }
  std::map<std::string, std::map<std::string, std::vector<Pick>>> waiting;  // station → its picks by trace id
  auto next = instrument_by_trace_id.begin();
  // All picks of `next` have been seen: a station whose last trace id it is gets its files.
  auto pass = [&]() -> Status {
    const std::string& station = station_of.at(next->first);
    const bool complete = last_trace_id_of.at(station) == next->first;
    ++next;
    if (!complete) return Status::OK();
    const auto& by_trace_id = waiting[station];
    for (const auto& [start, end] : chunks) {
      RAPID_RETURN_IF_ERROR(WriteStationFile(dir, station, trace_ids_by_station.at(station), by_trace_id,
                                             instrument_by_trace_id, start, end, nullptr));
    }
    waiting.erase(station);
    return Status::OK();
  };
  RAPID_RETURN_IF_ERROR(picks.ForEach([&](const Pick& p) {
    while (next->first != p.trace_id) {  // validated above: p.trace_id is ahead in the map
      assert(next != instrument_by_trace_id.end());
      RAPID_RETURN_IF_ERROR(pass());
    }
    waiting[station_of.at(p.trace_id)][p.trace_id].push_back(p);
    return Status::OK();
  }));
  while (next != instrument_by_trace_id.end()) RAPID_RETURN_IF_ERROR(pass());
  return Status::OK();
}

}  // namespace rapid
