#include "fetch/record_split.h"

#include "io/mseed_reader.h"

namespace rapid {

Status SplitRecords(std::string_view body, std::vector<FetchedRecord>* records) {
  records->clear();
  for (size_t offset = 0; offset < body.size();) {
    const std::string_view rest = body.substr(offset);
    int64_t reclen = DetectRecordLength(rest);
    if (reclen == 0 && (rest.size() & (rest.size() - 1)) == 0) reclen = static_cast<int64_t>(rest.size());  // last, no blockette 1000
    if (reclen <= 0) return Status::Corruption("no miniSEED record at byte " + std::to_string(offset));
    if (static_cast<size_t>(reclen) > rest.size()) {
      return Status::Corruption("record at byte " + std::to_string(offset) + " cut short (" + std::to_string(rest.size()) +
                                " of " + std::to_string(reclen) + " bytes)");
    }
    const std::string_view bytes = rest.substr(0, static_cast<size_t>(reclen));
    MseedFileContents one;
    const Status s = DecodeMseedBytes(bytes, "record at byte " + std::to_string(offset), ReaderOptions(), &one);
    if (!s.ok()) return Status::Corruption("record at byte " + std::to_string(offset) + " unreadable: " + s.message());
    offset += static_cast<size_t>(reclen);
    if (one.segments.empty()) continue;  // no samples (a log or an empty record): nothing to keep
    const TraceSegment& seg = one.segments.front();
    records->push_back({bytes, seg.id, seg.start, seg.SampleTimeAt(static_cast<int64_t>(seg.samples.size()))});
  }
  return Status::OK();
}

std::vector<std::string> RecordsBySlice(const std::vector<FetchedRecord>& records, const std::vector<FetchSlice>& slices,
                                        const std::vector<size_t>& which) {
  std::vector<std::string> out(which.size());
  for (const FetchedRecord& r : records) {
    const std::string id = r.id.ToString();
    for (size_t k = 0; k < which.size(); ++k) {
      const FetchSlice& s = slices[which[k]];
      if (s.channel.Id() == id && r.start < s.end && r.end > s.start) out[k].append(r.bytes);
    }
  }
  return out;
}

}  // namespace rapid
