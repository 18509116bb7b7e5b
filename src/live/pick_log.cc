#include "live/pick_log.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/read_file.h"
#include "sinks/picks_csv.h"
#include "sinks/quakeml.h"

namespace rapid {

namespace fs = std::filesystem;

namespace {
constexpr std::chrono::seconds kQuakeMlEvery{10};
constexpr int kQuakeMlDaysKept = 2;  // days before the newest one kept in memory
}  // namespace

std::string PickJson(const Pick& p, const std::string& model_name) {
  const nlohmann::json j = {{"trace_id", p.trace_id},
                            {"phase", p.phase},
                            {"peak_time", FormatIsoMicros(p.peak_time)},
                            {"peak_value", p.peak_value},
                            {"start_time", FormatIsoMicros(p.start_time)},
                            {"end_time", FormatIsoMicros(p.end_time)},
                            {"model", model_name}};
  return j.dump();
}

PickLog::PickLog(std::string output_dir, std::string model_name, bool quakeml, std::function<void(const std::string&)> on_pick)
    : dir_(std::move(output_dir)), model_(std::move(model_name)), quakeml_(quakeml), on_pick_(std::move(on_pick)) {}

namespace {

// The rows of a day's CSV file, without the header; a last row without its newline (torn by a
// kill) is cut from the file.
Status ReadDayRows(const fs::path& path, std::vector<std::string>* rows) {
  std::string text;
  RAPID_RETURN_IF_ERROR(ReadWholeFile(path.string(), &text));
  const size_t end = text.rfind('\n') + 1;  // 0 when there is no newline at all
  if (end != text.size()) {
    std::error_code ec;
    fs::resize_file(path, end, ec);
    if (ec) return Status::IOError(path.string() + ": cannot cut a torn last row: " + ec.message());
    text.resize(end);
  }
  rows->clear();
  for (size_t from = text.find('\n') + 1; from < text.size();) {  // after the header
    const size_t nl = text.find('\n', from);
    rows->push_back(text.substr(from, nl - from));
    from = nl + 1;
  }
  return Status::OK();
}

std::string RowOf(const Pick& p, const std::string& model) {
  const std::string text = FormatPicksCsv({p}, model);
  const size_t from = text.find('\n') + 1;
  return text.substr(from, text.size() - from - 1);
}

}  // namespace

Status PickLog::Open(NanoTime repeats_from) {
  std::error_code ec;
  const fs::path dir = fs::path(dir_) / "picks";
  fs::create_directories(dir, ec);
  if (ec) return Status::IOError(dir_ + "/picks: cannot create: " + ec.message());
  std::set<std::string> days;  // "YYYY-MM-DD" of the CSV files there
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().extension() == ".csv") days.insert(e.path().stem().string());
  }
  const std::string repeats_day = repeats_from == kUnsetTime ? "~" : FormatIsoMicros(repeats_from).substr(0, 10);
  int quakeml_days = 0;
  for (auto day = days.rbegin(); day != days.rend(); ++day) {
    std::vector<std::string> rows;
    RAPID_RETURN_IF_ERROR(ReadDayRows(dir / (*day + ".csv"), &rows));
    const bool for_quakeml = quakeml_ && quakeml_days++ <= kQuakeMlDaysKept;
    for (const std::string& row : rows) {
      Pick p;
      if (!ParsePicksCsvRow(row, &p)) continue;
      if (*day >= repeats_day && p.start_time >= repeats_from) repeats_.insert(row);
      if (for_quakeml) day_picks_[*day].push_back(std::move(p));
    }
  }
  return Status::OK();
}

Status PickLog::Write(std::vector<Pick> picks) {
  if (picks.empty()) return Status::OK();
  std::map<std::string, std::vector<Pick>> by_day;  // "YYYY-MM-DD" → its picks
  std::lock_guard<std::mutex> lock(mu_);
  for (Pick& p : picks) {
    if (!repeats_.empty()) {
      if (auto it = repeats_.find(RowOf(p, model_)); it != repeats_.end()) {
        repeats_.erase(it);
        repeats_dropped_ += 1;
        continue;
      }
    }
    by_day[FormatIsoMicros(p.peak_time).substr(0, 10)].push_back(std::move(p));
  }
  for (auto& [day, day_picks] : by_day) {
    if (on_pick_) {
      for (const Pick& p : day_picks) on_pick_(PickJson(p, model_));
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

int64_t PickLog::repeats_dropped() const {
  std::lock_guard<std::mutex> lock(mu_);
  return repeats_dropped_;
}

int64_t PickLog::written() const {
  std::lock_guard<std::mutex> lock(mu_);
  return written_;
}

}  // namespace rapid
