#include "sinks/run_report.h"

#include <nlohmann/json.hpp>

#include "core/atomic_file.h"

namespace rapid {

namespace {

nlohmann::ordered_json PlanJson(const RunPlan& plan) {
  nlohmann::ordered_json j = {{"device", plan.device},
                              {"instances", plan.instances},
                              {"intra_threads", plan.intra_threads},
                              {"batch_size", plan.batch_size},
                              {"cores_available", plan.cores_available},
                              {"cpus", plan.cpus},
                              {"weight_bytes", plan.weight_bytes},
                              {"activation_bytes_per_window", plan.activation_bytes_per_window},
                              {"probe_forward_s_per_window", plan.probe_forward_s_per_window},
                              {"memory_available_bytes", plan.memory_available_bytes},
                              {"host_budget_bytes", plan.host_budget_bytes},
                              {"expected_peak_host_bytes", plan.expected_peak_host_bytes},
                              {"preprocess_bytes", plan.preprocess_bytes},
                              {"queue_capacity_bytes", plan.queue_capacity_bytes},
                              {"source", plan.source},
                              {"reasons", plan.reasons}};
  nlohmann::ordered_json devices = nlohmann::ordered_json::array();
  for (const RunDevicePlan& d : plan.devices) {
    devices.push_back({{"name", d.name},
                       {"instances", d.instances},
                       {"intra_threads", d.intra_threads},
                       {"batch_size", d.batch_size},
                       {"free_bytes", d.free_bytes},
                       {"total_bytes", d.total_bytes},
                       {"budget_bytes", d.budget_bytes},
                       {"expected_peak_bytes", d.expected_peak_bytes},
                       {"activation_bytes_per_window", d.activation_bytes_per_window}});
  }
  j["devices"] = devices;
  return j;
}

nlohmann::ordered_json RanksJson(const std::vector<RankReport>& ranks) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const RankReport& k : ranks) {
    out.push_back({{"rank", k.rank},
                   {"host", k.host},
                   {"units", k.units},
                   {"startup_s", k.startup_s},
                   {"windows", k.windows},
                   {"wall_s", k.wall_s},
                   {"windows_per_s", k.windows_per_s},
                   {"busy_fraction", k.busy_fraction},
                   {"peak_rss_bytes", k.peak_rss_bytes},
                   {"instances", k.instances},
                   {"intra_threads", k.intra_threads},
                   {"batch_size", k.batch_size},
                   {"cpus", k.cpus},
                   {"device", k.device}});
  }
  return out;
}

}  // namespace

std::string RunReportJson(const RunReport& r) {
  nlohmann::ordered_json j;
  j["format_version"] = 1;
  j["rapid_version"] = r.rapid_version;
  j["model"] = r.model;
  j["model_class"] = r.model_class;
  j["weights"] = r.weights_path;
  j["weights_sha256"] = r.weights_sha256;
  j["backend"] = r.backend;
  j["input"] = r.input;
  j["layout"] = r.layout;
  if (!r.preset.empty()) j["preset"] = r.preset;
  if (r.filter.active()) {
    j["filter"] = {{"taper_s", r.filter.taper_s},
                   {"bandpass_hz", r.filter.bandpass ? nlohmann::ordered_json{r.filter.low_hz, r.filter.high_hz}
                                                     : nlohmann::ordered_json(nullptr)},
                   {"corners", r.filter.corners},
                   {"zerophase", true}};
  }
  if (!r.thresholds.empty()) j["thresholds"] = r.thresholds;
  if (r.time_chunks > 0) {
    j["time_chunks"] = {{"count", r.time_chunks}, {"chunk_s", r.chunk_s}, {"overlap_s", r.chunk_overlap_s}};
  }
  j["files_total"] = r.files_total;
  j["files_failed"] = r.files_failed;
  j["units_total"] = r.units_total;
  j["units_done"] = r.units_done;
  j["interrupted"] = r.interrupted;
  j["units_failed"] = r.units_failed;
  j["blocks"] = r.blocks;
  j["windows"] = r.windows;
  j["batches"] = r.batches;
  j["picks"] = r.picks;
  j["detections"] = r.detections;
  j["wall_s"] = r.wall_s;
  j["stage_s"] = r.stage_s;
  j["peak_rss_bytes"] = r.peak_rss_bytes;
  j["rss_after_load_bytes"] = r.rss_after_load_bytes;
  j["annotated_station_s"] = r.annotated_station_s;
  j["vram_peak_used_bytes"] = r.vram_peak_used_bytes;
  j["queue_high_water_bytes"] = r.queue_high_water_bytes;
  j["plan"] = PlanJson(r.plan);
  nlohmann::ordered_json instances = nlohmann::ordered_json::array();
  for (const InstanceReport& i : r.instances) {
    instances.push_back(
        {{"windows", i.windows}, {"batches", i.batches}, {"busy_s", i.busy_s}, {"utilisation", i.utilisation}});
  }
  j["instances"] = instances;
  if (!r.ranks.empty()) {
    j["ranks"] = RanksJson(r.ranks);
    j["coordinator"] = {{"messages", r.coordinator_messages}, {"busy_s", r.coordinator_busy_s}};
  }
  nlohmann::ordered_json errors = nlohmann::ordered_json::array();
  for (const RunError& e : r.errors) errors.push_back({{"unit", e.unit}, {"file", e.file}, {"message", e.message}});
  j["errors"] = errors;
  j["notes"] = r.notes;
  return j.dump(2) + "\n";
}

Status WriteRunReport(const std::string& path, const RunReport& report) {
  return WriteFileAtomically(path, RunReportJson(report));
}

}  // namespace rapid
