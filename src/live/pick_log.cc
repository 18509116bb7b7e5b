#include "live/pick_log.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "sinks/picks_csv.h"

namespace rapid {

namespace fs = std::filesystem;

PickLog::PickLog(std::string output_dir, std::string model_name, bool jsonl_stdout)
    : dir_(std::move(output_dir)), model_(std::move(model_name)), jsonl_(jsonl_stdout) {}

Status PickLog::Open() {
  std::error_code ec;
  fs::create_directories(fs::path(dir_) / "picks", ec);
  if (ec) return Status::IOError(dir_ + "/picks: cannot create: " + ec.message());
  return Status::OK();
}

Status PickLog::Write(std::vector<Pick> picks) {
  if (picks.empty()) return Status::OK();
  std::map<std::string, std::vector<Pick>> by_day;  // "YYYY-MM-DD" → its picks
  for (Pick& p : picks) by_day[FormatIsoMicros(p.peak_time).substr(0, 10)].push_back(std::move(p));
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [day, day_picks] : by_day) {
    if (jsonl_) {
      for (const Pick& p : day_picks) {
        nlohmann::json j = {{"trace_id", p.trace_id},          {"phase", p.phase},
                            {"peak_time", FormatIsoMicros(p.peak_time)}, {"peak_value", p.peak_value},
                            {"start_time", FormatIsoMicros(p.start_time)}, {"end_time", FormatIsoMicros(p.end_time)},
                            {"model", model_}};
        std::cout << j.dump() << "\n";
      }
      std::cout.flush();
    }
    const fs::path path = fs::path(dir_) / "picks" / (day + ".csv");
    const bool fresh = !fs::exists(path);
    const std::string text = FormatPicksCsv(day_picks, model_);  // header line, then the rows
    const size_t rows = fresh ? 0 : text.find('\n') + 1;
    std::ofstream out(path, std::ios::app | std::ios::binary);
    out << text.substr(rows);
    out.flush();
    if (!out) return Status::IOError(path.string() + ": cannot append " + std::to_string(day_picks.size()) + " picks");
    written_ += static_cast<int64_t>(day_picks.size());
  }
  return Status::OK();
}

int64_t PickLog::written() const {
  std::lock_guard<std::mutex> lock(mu_);
  return written_;
}

}  // namespace rapid
