#include "engine/unit_producer.h"

#include <chrono>
#include <filesystem>
#include <map>

#include "dsp/taper.h"
#include "engine/eqcctpro_windows.h"
#include "io/segment_merge.h"
#include "sinks/eqcctpro_window_table.h"

namespace rapid {

namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Drops the samples of `seg` outside [start, end] (either may be unset).
void TrimToSelection(NanoTime start, NanoTime end, TraceSegment* seg) {
  if (seg->samples.empty()) return;
  int64_t n = static_cast<int64_t>(seg->samples.size());
  int64_t first = 0, last = n;  // [first, last)
  while (start != kUnsetTime && first < n && seg->SampleTimeAt(first) < start) ++first;
  while (end != kUnsetTime && last > first && seg->SampleTimeAt(last - 1) > end) --last;
  seg->samples.erase(seg->samples.begin() + last, seg->samples.end());
  seg->samples.erase(seg->samples.begin(), seg->samples.begin() + first);
  seg->start = SampleTime(seg->start, first, seg->rate_hz);
}

std::string SelectionText(NanoTime start, NanoTime end) {
  if (end == kUnsetTime) return "from " + FormatIsoMicros(start);
  if (start == kUnsetTime) return "until " + FormatIsoMicros(end);
  return FormatIsoMicros(start) + " – " + FormatIsoMicros(end);
}

}  // namespace

void UnitProducer::Select(TraceSegment* seg) {
  if (!selecting_) return;
  unit_data_.Add(*seg);
  TrimToSelection(opts_.start, opts_.end, seg);
  unit_selected_ = unit_selected_ || !seg->samples.empty();
}

void UnitProducer::Filter(const std::string& unit, TraceSegment* seg) {
  if (!opts_.filter.active() || seg->samples.empty()) return;
  double mean = 0.0;
  for (double v : seg->samples) mean += v;
  mean /= static_cast<double>(seg->samples.size());
  for (double& v : seg->samples) v -= mean;
  std::string note;
  const int64_t taper = TaperHalfLengthOfSeconds(opts_.filter.taper_s, seg->rate_hz, static_cast<int64_t>(seg->samples.size()));
  if (Status s = ApplyStationFilter(opts_.filter, taper, seg, &note); !s.ok()) {
    report_->errors.push_back({unit, "", s.message()});
    seg->samples.clear();  // unusable without its filter
    return;
  }
  if (!note.empty() && filter_notes_.insert(note).second) report_->notes.push_back(note);
}

Status UnitProducer::ReadEqcctproChunk(const WorkUnit& unit, const std::vector<std::string>& paths,
                                   std::vector<TraceSegment>* traces) {
  for (const std::string& path : paths) {
    MseedFileContents contents;
    if (Status s = ReadMseedFile(path, reader_opts_, &contents); !s.ok()) {
      report_->files_failed += 1;
      return Status::InvalidArgument(s.message());
    }
    for (const std::string& p : contents.problems) report_->errors.push_back({unit.name, path, p});
    std::vector<std::string> merge_problems;
    std::vector<TraceSegment> segments = MergeSegments(std::move(contents.segments), reader_opts_, &merge_problems);
    for (const std::string& p : merge_problems) report_->errors.push_back({unit.name, path, p});
    const size_t before = traces->size();
    if (Status s = EqcctproFileTraces(segments, traces); !s.ok()) return Status::InvalidArgument(path + ": " + s.message());
    // EQCCTPro gives up on a station when one of its files yields no trace.
    if (traces->size() == before) return Status::InvalidArgument(path + ": no samples");
  }
  return Status::OK();
}

void UnitProducer::ReadUnitEqcctpro(const WorkUnit& unit) {
  namespace fs = std::filesystem;
  tracker_->Begin(unit.name);
  const size_t first_error = report_->errors.size();
  JournalUnit read;
  unit_data_ = DataSpan();
  unit_selected_ = false;
  const ModelSpec& spec = pipeline_->spec();
  for (size_t g = 0; g < unit.files.size() && !pipeline_->stopped();) {
    const size_t group_end = TimeGroupEnd(unit.files, g);
    std::vector<std::string> paths, skipped;
    for (size_t i = g; i < group_end; ++i) paths.push_back(unit.files[i]->path);
    const InputFile& chunk = *unit.files[g];
    g = group_end;
    // --start/--end choose whole chunks, as EQCCTPro's start_time/end_time choose its folders: a
    // chunk's samples are never cut (that would move its taper and filter edges).
    if (selecting_) {
      unit_data_.Add(chunk.chunk_start, chunk.chunk_end);
      if ((opts_.end != kUnsetTime && chunk.chunk_start > opts_.end) ||
          (opts_.start != kUnsetTime && chunk.chunk_end < opts_.start)) {
        continue;
      }
      unit_selected_ = true;
    }
    auto t = Clock::now();
    paths = EqcctproReadingOrder(paths, &skipped);
    for (const std::string& s : skipped) report_->notes.push_back(s + ": not read (EQCCTPro reads <STA>/*mseed only)");
    if (paths.empty()) continue;
    const fs::path first(paths.front());
    EqcctproWindowTable table;
    table.station_folder = first.parent_path().filename().string();
    table.chunk_folder = first.parent_path().parent_path().filename().string();
    table.file_name = table.station_folder + "/" + first.filename().string();
    std::vector<TraceSegment> traces;
    Status s = ReadEqcctproChunk(unit, paths, &traces);
    read_s += Since(t);
    t = Clock::now();
    EqcctproWindows windows;
    if (s.ok()) s = BuildEqcctproWindows(traces, opts_.filter, spec.component_order, &windows);
    const std::string station = unit.name.empty() && !traces.empty() ? traces.front().id.StationKey() : unit.name;
    table.station = traces.empty() ? table.station_folder : traces.front().id.station;
    if (!s.ok()) {
      report_->errors.push_back({station, "", table.chunk_folder + "/" + table.station_folder + ": " + s.message()});
      read.failed_stations.push_back(station);
      tracker_->AddWindowTable(unit.name, -1, std::move(table));
      continue;
    }
    read.stations.emplace(station, traces.front().id.channel.substr(0, 2));
    for (const std::string& note : windows.notes) report_->notes.push_back(table.chunk_folder + ": " + note);
    const uint64_t stream = pipeline_->OpenStream();
    tracker_->AddStream(unit.name, stream);
    tracker_->AddWindowTable(unit.name, static_cast<int64_t>(stream), std::move(table));
    pipeline_->PushBlocks(stream, EqcctproBlockPieces(std::move(windows), station, spec.Channels(), 0,
                                                      pipeline_->piece_windows()));
    (void)pipeline_->CloseStream(stream, &report_->notes);
    preprocess_s += Since(t);
  }
  if (selecting_ && !unit_data_.empty()) {
    all_data_.Add(unit_data_.lo, unit_data_.hi);
    any_selected_ = any_selected_ || unit_selected_;
  }
  read.errors.assign(report_->errors.begin() + static_cast<std::ptrdiff_t>(first_error), report_->errors.end());
  report_->errors.resize(first_error);
  tracker_->EndUnit(unit.name, std::move(read));
}

std::vector<TraceSegment> UnitProducer::ReadTimeGroup(const WorkUnit& unit, size_t begin, size_t end,
                                                  JournalUnit* read) {
  std::vector<TraceSegment> pieces;
  for (size_t i = begin; i < end; ++i) {
    const InputFile* f = unit.files[i];
    MseedFileContents contents;
    Status s = ReadMseedFile(f->path, reader_opts_, &contents);
    if (!s.ok()) {
      report_->errors.push_back({unit.name, f->path, s.message()});
      report_->files_failed += 1;
      if (!unit.name.empty()) read->failed_stations.push_back(unit.name);
      continue;
    }
    for (const std::string& p : contents.problems) report_->errors.push_back({unit.name, f->path, p});
    for (TraceSegment& seg : contents.segments) pieces.push_back(std::move(seg));
  }
  std::vector<std::string> merge_problems;
  std::vector<TraceSegment> segments = MergeSegments(std::move(pieces), reader_opts_, &merge_problems);
  for (const std::string& p : merge_problems) report_->errors.push_back({unit.name, "", p});
  for (TraceSegment& seg : segments) {
    Select(&seg);
    Filter(unit.name, &seg);
  }
  return segments;
}

void UnitProducer::ReadUnit(const WorkUnit& unit) {
  if (opts_.eqcctpro_preset) {
    ReadUnitEqcctpro(unit);
    return;
  }
  tracker_->Begin(unit.name);
  const size_t first_error = report_->errors.size();
  JournalUnit read;  // what the producer learns of this unit: stations, failures, errors
  unit_data_ = DataSpan();
  unit_selected_ = false;
  std::map<std::string, uint64_t> streams;  // by instrument
  for (size_t g = 0; g < unit.files.size() && !pipeline_->stopped();) {
    const size_t group_end = TimeGroupEnd(unit.files, g);
    auto t = Clock::now();
    std::vector<TraceSegment> segments = ReadTimeGroup(unit, g, group_end, &read);
    g = group_end;
    read_s += Since(t);
    t = Clock::now();
    for (std::vector<TraceSegment>& instrument : GroupByInstrument(std::move(segments))) {
      const std::string station = instrument.front().id.StationKey();
      read.stations.emplace(station, instrument.front().id.channel.substr(0, 2));
      auto [it, fresh] = streams.try_emplace(InstrumentKey(instrument.front().id));
      if (fresh) {
        it->second = pipeline_->OpenStream();
        tracker_->AddStream(unit.name, it->second);
      }
      if (Status s = pipeline_->Push(it->second, std::move(instrument), &report_->notes); !s.ok()) {
        report_->errors.push_back({station, "", s.message()});
        read.failed_stations.push_back(station);
      }
    }
    preprocess_s += Since(t);
  }
  const auto t = Clock::now();
  for (const auto& [key, stream] : streams) {
    if (Status s = pipeline_->CloseStream(stream, &report_->notes); !s.ok()) {
      report_->errors.push_back({key, "", s.message()});
      read.failed_stations.push_back(key.substr(0, key.rfind('.')));
    }
  }
  preprocess_s += Since(t);
  if (selecting_ && !unit_data_.empty()) {
    all_data_.Add(unit_data_.lo, unit_data_.hi);
    any_selected_ = any_selected_ || unit_selected_;
    if (!unit_selected_) {
      report_->notes.push_back(unit.name + ": no data " + SelectionText(opts_.start, opts_.end) +
                               " (its files hold " + unit_data_.Text() + ")");
    }
  }
  // The unit's errors move into its journal entry (they rejoin report->errors on completion).
  read.errors.assign(report_->errors.begin() + static_cast<std::ptrdiff_t>(first_error), report_->errors.end());
  report_->errors.resize(first_error);
  tracker_->EndUnit(unit.name, std::move(read));
}

void CheckSelection(const RunOptions& opts, const SelectionSeen& seen, RunReport* report) {
  const bool selecting = opts.start != kUnsetTime || opts.end != kUnsetTime;
  if (selecting && !seen.all_data.empty() && !seen.any_selected) {
    report->errors.push_back({"", "", "--start/--end select " + SelectionText(opts.start, opts.end) +
                                          ", but the data read cover " + seen.all_data.Text() + ": nothing to pick"});
  }
}

}  // namespace rapid
