#include "live/archive_replay.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "core/read_file.h"
#include "io/input_scan.h"
#include "io/mseed_reader.h"
#include "seedlink/client.h"

namespace rapid {

Status ArchiveReplay::Open(const std::string& archive, double speed, ArchiveReplay* out) {
  if (!(speed > 0)) return Status::InvalidArgument("--speed must be above 0");
  std::vector<InputFile> files;
  if (Status s = ScanInput(archive, InputLayout::kAuto, &files, nullptr); !s.ok()) {
    return Status::NotFound("--replay " + archive + ": " + s.message());
  }
  ArchiveReplay r;
  r.speed_ = speed;
  for (const InputFile& f : files) {
    std::string bytes;
    RAPID_RETURN_IF_ERROR(ReadWholeFile(f.path, &bytes));
    for (size_t at = 0; at + 48 <= bytes.size();) {
      const int64_t length = DetectRecordLength(std::string_view(bytes).substr(at));
      if (length <= 0 || at + static_cast<size_t>(length) > bytes.size()) break;  // the rest is not records
      std::string record = bytes.substr(at, static_cast<size_t>(length));
      at += static_cast<size_t>(length);
      MseedFileContents c;
      if (!DecodeMseedBytes(record, f.path, ReaderOptions(), &c).ok() || c.segments.empty()) continue;
      const TraceSegment& s = c.segments.back();
      r.records_.push_back({s.SampleTimeAt(static_cast<int64_t>(s.samples.size())), MseedStationId(record), std::move(record)});
    }
  }
  if (r.records_.empty()) return Status::InvalidArgument("--replay " + archive + ": no miniSEED record decodes");
  std::stable_sort(r.records_.begin(), r.records_.end(), [](const Record& a, const Record& b) { return a.end < b.end; });
  *out = std::move(r);
  return Status::OK();
}

NanoTime ArchiveReplay::span_ns() const { return records_.empty() ? 0 : records_.back().end - records_.front().end; }

bool ArchiveReplay::Run(const std::atomic<bool>& stop, const RecordFn& on_record) const {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const NanoTime first = records_.front().end;
  for (size_t i = 0; i < records_.size(); ++i) {
    const auto due = start + std::chrono::nanoseconds(static_cast<int64_t>(static_cast<double>(records_[i].end - first) / speed_));
    while (Clock::now() < due) {
      if (stop) return false;
      std::this_thread::sleep_until(std::min(due, Clock::now() + std::chrono::milliseconds(50)));
    }
    if (stop) return false;
    on_record(records_[i].station_id, i + 1, records_[i].bytes);
  }
  return true;
}

}  // namespace rapid
