#include "engine/unit_tracker.h"

#include <algorithm>

#include "sinks/probability_writer.h"

namespace rapid {

UnitTracker::UnitTracker(const ModelSpec& spec, Journal* journal, std::string probabilities_dir,
                         CompleteFn on_complete, std::string window_tables_dir)
    : spec_(spec), journal_(journal), probabilities_dir_(std::move(probabilities_dir)),
      window_tables_dir_(std::move(window_tables_dir)), on_complete_(std::move(on_complete)) {}

void UnitTracker::Begin(const std::string& unit) {
  std::lock_guard<std::mutex> lock(mu_);
  units_[unit].result.unit = unit;
}

void UnitTracker::AddStream(const std::string& unit, uint64_t stream) {
  std::lock_guard<std::mutex> lock(mu_);
  units_[unit].streams_open += 1;
  unit_of_stream_[stream] = unit;
}

void UnitTracker::AddWindowTable(const std::string& unit, int64_t stream, EqcctproWindowTable table) {
  std::lock_guard<std::mutex> lock(mu_);
  Unit& u = units_[unit];
  if (stream >= 0) u.table_of_stream[static_cast<uint64_t>(stream)] = u.tables.size();
  u.tables.push_back(std::move(table));
}

void UnitTracker::EndUnit(const std::string& unit, JournalUnit&& read) {
  std::lock_guard<std::mutex> lock(mu_);
  Unit& u = units_[unit];
  u.result.stations = std::move(read.stations);
  // Model failures of this unit may already be there.
  u.result.failed_stations.insert(u.result.failed_stations.end(), read.failed_stations.begin(),
                                  read.failed_stations.end());
  u.result.errors.insert(u.result.errors.end(), read.errors.begin(), read.errors.end());
  u.read = true;
  CompleteIfDone(unit);
}

void UnitTracker::OnBlock(BlockOutput&& block) {
  std::lock_guard<std::mutex> lock(mu_);
  Unit& u = units_[unit_of_stream_.at(block.stream)];
  u.result.picks.insert(u.result.picks.end(), block.picks.begin(), block.picks.end());
  u.result.detections.insert(u.result.detections.end(), block.detections.begin(), block.detections.end());
  for (auto& trace : block.traces) u.traces.push_back(std::move(trace));
  if (auto t = u.table_of_stream.find(block.stream); t != u.table_of_stream.end()) {
    std::vector<WindowPicks>& rows = u.tables[t->second].windows;
    rows.insert(rows.end(), std::make_move_iterator(block.windows.begin()), std::make_move_iterator(block.windows.end()));
  }
}

void UnitTracker::OnFailure(uint64_t stream, const std::string& trace_id, const std::string& message) {
  // The model failed on some window even alone: the station is reported failed with the reason,
  // and the rest of its data is picked as usual.
  std::lock_guard<std::mutex> lock(mu_);
  JournalUnit& r = units_[unit_of_stream_.at(stream)].result;
  r.errors.push_back({trace_id, "", message});
  if (std::find(r.failed_stations.begin(), r.failed_stations.end(), trace_id) == r.failed_stations.end()) {
    r.failed_stations.push_back(trace_id);
  }
}

void UnitTracker::OnStreamDone(uint64_t stream) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = unit_of_stream_.find(stream);
  const std::string unit = it->second;
  unit_of_stream_.erase(it);
  units_[unit].streams_open -= 1;
  CompleteIfDone(unit);
}

void UnitTracker::CompleteIfDone(const std::string& unit) {
  auto it = units_.find(unit);
  Unit& u = it->second;
  if (!u.read || u.streams_open > 0) return;
  Status s;
  if (!probabilities_dir_.empty() && !u.traces.empty()) {
    std::sort(u.traces.begin(), u.traces.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
    std::vector<Annotation> ordered;
    for (auto& entry : u.traces) ordered.push_back(std::move(entry.second));
    s = WriteProbabilityTraces(probabilities_dir_, ordered, spec_, nullptr);
  }
  for (const EqcctproWindowTable& table : u.tables) {
    if (s.ok()) s = WriteEqcctproWindowTable(window_tables_dir_, table);
  }
  if (s.ok() && journal_ != nullptr) s = journal_->Append(u.result);
  if (!s.ok() && status_.ok()) status_ = s;
  on_complete_(std::move(u.result));
  units_.erase(it);
}

std::vector<JournalUnit> UnitTracker::Incomplete() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<JournalUnit> out;
  for (auto& [name, u] : units_) out.push_back(std::move(u.result));
  units_.clear();
  return out;
}

Status UnitTracker::status() {
  std::lock_guard<std::mutex> lock(mu_);
  return status_;
}

}  // namespace rapid
