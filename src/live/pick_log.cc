#include "live/pick_log.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "sinks/picks_csv.h"
#include "sinks/quakeml.h"

namespace rapid {

namespace fs = std::filesystem;

namespace {
constexpr std::chrono::seconds kQuakeMlEvery{10};
constexpr int kQuakeMlDaysKept = 2;  // days before the newest one kept in memory
}  // namespace

PickLog::PickLog(std::string output_dir, std::string model_name, bool jsonl_stdout, bool quakeml)
    : dir_(std::move(output_dir)), model_(std::move(model_name)), jsonl_(jsonl_stdout), quakeml_(quakeml) {}

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
    if (quakeml_) {
      std::vector<Pick>& kept = day_picks_[day];
      kept.insert(kept.end(), day_picks.begin(), day_picks.end());
      dirty_days_.insert(day);
    }
  }
  return Status::OK();
}

Status PickLog::Flush(bool now) {
  std::lock_guard<std::mutex> lock(mu_);
  const auto t = std::chrono::steady_clock::now();
  if (!quakeml_ || dirty_days_.empty() || (!now && t - last_flush_ < kQuakeMlEvery)) return Status::OK();
  last_flush_ = t;
  const NanoTime creation = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                std::chrono::system_clock::now().time_since_epoch()).count();
  for (const std::string& day : dirty_days_) {
    const std::string path = (fs::path(dir_) / "picks" / (day + ".xml")).string();
    RAPID_RETURN_IF_ERROR(WriteFileAtomically(path, FormatQuakeMl(day_picks_[day], model_, creation)));
  }
  dirty_days_.clear();
  // Days well before the newest are complete: written above for the last time, let go.
  while (day_picks_.size() > static_cast<size_t>(kQuakeMlDaysKept + 1)) day_picks_.erase(day_picks_.begin());
  return Status::OK();
}

int64_t PickLog::written() const {
  std::lock_guard<std::mutex> lock(mu_);
  return written_;
}

}  // namespace rapid
