#include "cluster/cluster_messages.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace rapid {

namespace {

using json = nlohmann::json;

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

json RankToJson(const RankReport& k) {
  return {{"rank", k.rank},       {"host", k.host},
          {"units", k.units},     {"startup_s", k.startup_s}, {"windows", k.windows},
          {"wall_s", k.wall_s},   {"windows_per_s", k.windows_per_s},
          {"busy_fraction", k.busy_fraction}, {"peak_rss_bytes", k.peak_rss_bytes},
          {"instances", k.instances}, {"intra_threads", k.intra_threads},
          {"batch_size", k.batch_size}, {"cpus", k.cpus},
          {"device", k.device}};
}

RankReport RankFromJson(const json& j) {
  RankReport k;
  k.rank = j.at("rank");
  k.host = j.at("host");
  k.units = j.at("units");
  k.startup_s = j.at("startup_s");
  k.windows = j.at("windows");
  k.wall_s = j.at("wall_s");
  k.windows_per_s = j.at("windows_per_s");
  k.busy_fraction = j.at("busy_fraction");
  k.peak_rss_bytes = j.at("peak_rss_bytes");
  k.instances = j.at("instances");
  k.intra_threads = j.at("intra_threads");
  k.batch_size = j.at("batch_size");
  k.cpus = j.at("cpus").get<std::vector<int>>();
  k.device = j.at("device");
  return k;
}

json FiguresToJson(const RunReport& r) {
  json instances = json::array(), errors = json::array();
  for (const InstanceReport& i : r.instances) instances.push_back({i.windows, i.batches, i.busy_s, i.utilisation});
  for (const RunError& e : r.errors) errors.push_back({e.unit, e.file, e.message});
  return {{"blocks", r.blocks},
          {"windows", r.windows},
          {"batches", r.batches},
          {"stage_s", r.stage_s},
          {"annotated_station_s", r.annotated_station_s},
          {"queue_high_water_bytes", r.queue_high_water_bytes},
          {"vram_peak_used_bytes", r.vram_peak_used_bytes},
          {"interrupted", r.interrupted},
          {"instances", instances},
          {"errors", errors},
          {"notes", r.notes}};
}

void FiguresFromJson(const json& j, RunReport* r) {
  r->blocks = j.at("blocks");
  r->windows = j.at("windows");
  r->batches = j.at("batches");
  r->stage_s = j.at("stage_s").get<std::map<std::string, double>>();
  r->annotated_station_s = j.at("annotated_station_s");
  r->queue_high_water_bytes = j.at("queue_high_water_bytes");
  r->vram_peak_used_bytes = j.at("vram_peak_used_bytes").get<std::map<std::string, int64_t>>();
  r->interrupted = j.at("interrupted");
  for (const json& i : j.at("instances")) r->instances.push_back({i.at(0), i.at(1), i.at(2), i.at(3)});
  for (const json& e : j.at("errors")) r->errors.push_back({e.at(0), e.at(1), e.at(2)});
  r->notes = j.at("notes").get<std::vector<std::string>>();
}

}  // namespace

std::string EncodeInputFacts(const InputFacts& f) {
  return Dump({{"preprocess_bytes", f.preprocess_bytes}, {"preprocess_reason", f.preprocess_reason}});
}

bool DecodeInputFacts(const std::string& text, InputFacts* f) {
  const json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return false;
  try {
    f->preprocess_bytes = j.at("preprocess_bytes");
    f->preprocess_reason = j.at("preprocess_reason");
  } catch (const json::exception&) {
    return false;
  }
  return f->preprocess_bytes >= 0;
}

std::string EncodeAssignment(const UnitAssignment& a) {
  switch (a.kind) {
    case UnitAssignment::Kind::kDone:
      return Dump({{"done", true}});
    case UnitAssignment::Kind::kError:
      return Dump({{"error", a.error}});
    case UnitAssignment::Kind::kUnit:
      break;
  }
  json files = json::array();
  for (const InputFile& f : a.files) files.push_back({f.path, f.chunk_start, f.chunk_end});
  return Dump({{"unit", a.unit}, {"files", files}});
}

bool DecodeAssignment(const std::string& text, UnitAssignment* a) {
  const json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return false;
  *a = UnitAssignment();
  try {
    if (j.contains("done")) return true;
    if (j.contains("error")) {
      a->kind = UnitAssignment::Kind::kError;
      a->error = j.at("error");
      return true;
    }
    a->kind = UnitAssignment::Kind::kUnit;
    a->unit = j.at("unit");
    for (const json& f : j.at("files")) a->files.push_back({f.at(0), f.at(1), f.at(2)});
  } catch (const json::exception&) {
    return false;
  }
  return true;
}

std::string EncodeWorkerReport(const WorkerReport& w) {
  if (!w.error.empty()) return Dump({{"error", w.error}});
  const SelectionSeen& s = w.selection;
  return Dump({{"rank", RankToJson(w.rank)},
               {"figures", FiguresToJson(w.figures)},
               {"selection", {s.any_selected, s.all_data.lo, s.all_data.hi}}});
}

bool DecodeWorkerReport(const std::string& text, WorkerReport* w) {
  const json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return false;
  *w = WorkerReport();
  try {
    if (j.contains("error")) {
      w->error = j.at("error");
      return true;
    }
    w->rank = RankFromJson(j.at("rank"));
    FiguresFromJson(j.at("figures"), &w->figures);
    const json& s = j.at("selection");
    w->selection.any_selected = s.at(0);
    if (s.at(1).get<NanoTime>() != kUnsetTime) w->selection.all_data.Add(s.at(1).get<NanoTime>(), s.at(2).get<NanoTime>());
  } catch (const json::exception&) {
    return false;
  }
  return true;
}

void MergeWorkerFigures(const WorkerReport& w, RunReport* report) {
  const RunReport& f = w.figures;
  report->blocks += f.blocks;
  report->windows += f.windows;
  report->batches += f.batches;
  for (const auto& [stage, s] : f.stage_s) report->stage_s[stage] += s;
  report->annotated_station_s += f.annotated_station_s;
  report->queue_high_water_bytes = std::max(report->queue_high_water_bytes, f.queue_high_water_bytes);
  for (const auto& [device, bytes] : f.vram_peak_used_bytes) {
    report->vram_peak_used_bytes[w.rank.host + "/" + device] = bytes;
  }
  report->interrupted = report->interrupted || f.interrupted;
  report->instances.insert(report->instances.end(), f.instances.begin(), f.instances.end());
  report->errors.insert(report->errors.end(), f.errors.begin(), f.errors.end());
  report->notes.insert(report->notes.end(), f.notes.begin(), f.notes.end());
  report->ranks.push_back(w.rank);
  std::sort(report->ranks.begin(), report->ranks.end(), [](const RankReport& a, const RankReport& b) { return a.rank < b.rank; });
}

}  // namespace rapid
