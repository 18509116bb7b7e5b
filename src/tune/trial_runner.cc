#include "tune/trial_runner.h"

#include <csignal>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/exit_codes.h"
#include "tune/child_process.h"

namespace rapid {

namespace {

namespace fs = std::filesystem;

// Exit status of a rapid run stopped by SIGINT/SIGTERM.

}  // namespace

std::vector<std::string> TrialArguments(const TrialRunOptions& opts, const Trial& t) {
  std::vector<std::string> a = {opts.rapid_binary, "run",  "--input",      t.input,      "--model", t.model,
                                "--output",        opts.folder, "--progress", "off",  "--max-stations",
                                std::to_string(t.stations)};
  if (!t.weights.empty()) a.insert(a.end(), {"--weights", t.weights});
  a.insert(a.end(), {"--backend", t.backend});
  if (!t.cpus.empty()) a.insert(a.end(), {"--cpus", t.cpus});
  a.insert(a.end(), {"--devices", t.gpus.empty() ? "cpu" : t.gpus});
  if (!opts.max_ram.empty()) a.insert(a.end(), {"--max-ram", opts.max_ram});
  if (t.source != "planner") {
    a.insert(a.end(), {"--instances", std::to_string(t.instances), "--batch-size", std::to_string(t.batch_size)});
    if (t.gpus.empty()) a.insert(a.end(), {"--intra-threads", std::to_string(t.threads_per_instance)});
  }
  return a;
}

namespace {

// The last line of the log that reports an error (rapid prints "error: …"), else its last line.
std::string LastErrorLine(const std::string& log_path) {
  std::ifstream in(log_path);
  std::string line, last, last_error;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    last = line;
    if (line.rfind("error:", 0) == 0) last_error = line;
  }
  return last_error.empty() ? last : last_error;
}

// Fills the measurements of `t` from the run's report.
Status ReadRunJson(const std::string& path, Trial* t) {
  std::ifstream in(path);
  if (!in) return Status::NotFound(path + ": the run wrote no report");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
    const nlohmann::json& plan = j.at("plan");
    const nlohmann::json& first_device = plan.at("devices").at(0);
    t->instances = first_device.at("instances").get<int64_t>();
    t->threads_per_instance = first_device.at("intra_threads").get<int64_t>();
    t->batch_size = first_device.at("batch_size").get<int64_t>();
    t->windows = j.at("windows").get<int64_t>();
    t->picker_s = j.at("stage_s").at("annotate_wall").get<double>();
    t->windows_per_s = t->picker_s > 0 ? static_cast<double>(t->windows) / t->picker_s : 0.0;
    t->station_minutes_per_s = t->wall_s > 0 ? j.at("annotated_station_s").get<double>() / 60.0 / t->wall_s : 0.0;
    t->rss_growth_bytes = std::max<int64_t>(0, t->peak_rss_bytes - j.at("rss_after_load_bytes").get<int64_t>());
    t->planned_ram_bytes = plan.at("expected_peak_host_bytes").get<int64_t>();
    t->planned_vram_bytes = 0;
    for (const nlohmann::json& d : plan.at("devices")) t->planned_vram_bytes += d.at("expected_peak_bytes").get<int64_t>();
    t->vram_peak_bytes = 0;
    for (const auto& [device, bytes] : j.at("vram_peak_used_bytes").items()) t->vram_peak_bytes += bytes.get<int64_t>();
    if (j.at("units_failed").get<int64_t>() > 0) {
      t->comment = std::to_string(j.at("units_failed").get<int64_t>()) + " units failed (see the trial's run.json)";
    }
  } catch (const nlohmann::json::exception& e) {
    return Status::Corruption(path + ": " + e.what());
  }
  return Status::OK();
}

}  // namespace

Status RunTrial(const TrialRunOptions& opts, Trial* t, bool* interrupted) {
  *interrupted = false;
  std::error_code ec;
  fs::remove_all(opts.folder, ec);  // a trial stopped earlier may have left a journal
  fs::create_directories(opts.folder, ec);
  if (ec) return Status::IOError(opts.folder + ": cannot create: " + ec.message());
  const std::string log = opts.folder + "/log.txt";
  ChildResult child;
  RAPID_RETURN_IF_ERROR(RunChild(TrialArguments(opts, *t), log, opts.timeout_s, &child));
  // Stopped by the user's Ctrl-C (the terminal signals the whole process group), gracefully or
  // before its handlers were installed.
  if (child.exit_code == kExitInterrupted || child.signal == SIGINT || child.signal == SIGTERM) {
    *interrupted = true;
    return Status::OK();
  }
  t->wall_s = child.wall_s;
  t->peak_rss_bytes = child.peak_rss_bytes;
  t->success = child.exit_code == 0 || child.exit_code == 2;  // 2: measured, but some input failed
  if (child.timed_out) {
    t->error = "ran past the trial timeout of " + std::to_string(static_cast<int64_t>(opts.timeout_s)) + " s";
  } else if (child.signal != 0) {
    t->error = "killed by signal " + std::to_string(child.signal) + (child.signal == 9 ? " (out of memory?)" : "");
  } else if (!t->success) {
    t->error = "exit " + std::to_string(child.exit_code) + ": " + LastErrorLine(log);
  }
  if (!t->success) {
    t->success = false;
    return Status::OK();
  }
  Status s = ReadRunJson(opts.folder + "/run.json", t);
  if (!s.ok()) {
    t->success = false;
    t->error = s.message();
  }
  return Status::OK();
}

}  // namespace rapid
