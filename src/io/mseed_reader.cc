#include "io/mseed_reader.h"

#include <libmseed.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <utility>

namespace rapid {
namespace {

constexpr int64_t kMinRecordBytes = 128;      // smallest miniSEED 2 record (2^7)
constexpr int64_t kMaxRecordBytes = 1 << 20;  // largest record libmseed 2 accepts (2^20)
constexpr int64_t kFixedHeaderBytes = 48;
constexpr int64_t kScanStepBytes = 64;        // resync step through bytes that are not a record
// Rates outside [kMinRateHz, kMaxRateHz] are corrupt headers for our purpose; the lower bound
// also keeps a record's time span (<= 2^16 samples) far inside the int64 nanosecond range.
constexpr double kMinRateHz = 1e-4;
constexpr double kMaxRateHz = 1e6;
// Record start times outside 1900-01-01 .. 2100-01-01 are corrupt (libmseed 2 hptime, us).
constexpr int64_t kMinHptime = -2'208'988'800'000'000;
constexpr int64_t kMaxHptime = 4'102'444'800'000'000;
// Records of one channel in one file further apart than this are reported: miniSEED files (day
// files, chunks) span hours, so such a gap almost always means a corrupted time. Both parts are kept.
constexpr NanoTime kSuspiciousGapNs = int64_t{86400} * kNanosPerSecond;
constexpr int64_t kNanosPerHptime = kNanosPerSecond / HPTMODULUS;

// libmseed 2 logs through one process-wide hook and a static message buffer. The mutex serialises
// libmseed calls; the thread-local sink hands each message to the session that caused it. This is
// the only global state in the io module, forced by libmseed 2's API.
std::recursive_mutex g_libmseed_mutex;
thread_local std::vector<std::string>* t_log_sink = nullptr;

void CaptureLogLine(char* message) {
  if (t_log_sink == nullptr || message == nullptr) return;
  std::string text(message);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.pop_back();
  if (!text.empty()) t_log_sink->push_back(std::move(text));
}

void InstallLogHooks() {
  static std::once_flag once;
  std::call_once(once, [] { ms_loginit(&CaptureLogLine, nullptr, &CaptureLogLine, nullptr); });
}

struct MsRecordDeleter {
  void operator()(MSRecord* msr) const { msr_free(&msr); }
};
using MsRecordPtr = std::unique_ptr<MSRecord, MsRecordDeleter>;

struct FileCloser {
  void operator()(FILE* f) const { std::fclose(f); }
};

bool IsPowerOfTwo(int64_t n) { return n > 0 && (n & (n - 1)) == 0; }

std::string JoinMessages(const std::vector<std::string>& messages) {
  std::string text;
  for (const std::string& m : messages) text += (text.empty() ? "" : "; ") + m;
  return text;
}

// Walks a buffer record by record, merging each waveform record's samples as it comes (into
// `merger`) or collecting one piece per record (without one), and a problem per thing it drops.
// With a merger, the walk stops at the first record of a channel that starts before the
// channel's previous record and does not merely repeat merged samples (out_of_order()): the
// records must then be collected and merged by MergeSegments, which sorts them first.
class RecordWalker {
 public:
  RecordWalker(std::vector<char>* buffer, MseedFileContents* out, SegmentMerger* merger)
      : buffer_(*buffer), out_(out), merger_(merger) {}

  void Run() {
    const int64_t size = static_cast<int64_t>(buffer_.size());
    if (merger_ != nullptr) CountDeclaredSamples(size);
    int64_t offset = 0;
    while (offset < size && !out_of_order_) offset = Step(offset, size);
    if (!out_of_order_) EndJunk(size);
  }

  std::vector<TraceSegment> TakePieces() { return std::move(pieces_); }
  int64_t records_parsed() const { return records_parsed_; }
  bool saw_header() const { return saw_header_; }
  bool out_of_order() const { return out_of_order_; }

 private:
  // Handles whatever starts at `offset`; returns where to continue.
  int64_t Step(int64_t offset, int64_t size) {
    const int64_t remaining = size - offset;
    char* record = buffer_.data() + offset;
    int64_t reclen = -1;
    if (remaining >= kMinRecordBytes) reclen = DetectRecordLength(std::string_view(record, static_cast<size_t>(remaining)));
    if (reclen < 0) {
      if (remaining >= kFixedHeaderBytes && MS_ISVALIDHEADER(record)) {
        EndJunk(offset);
        Problem(offset, "truncated record (only " + std::to_string(remaining) + " bytes left)");
        return size;
      }
      if (junk_start_ < 0) junk_start_ = offset;
      return offset + std::min(remaining, kScanStepBytes);
    }
    EndJunk(offset);
    saw_header_ = true;
    if (reclen == 0) {
      reclen = ImpliedRecordLength(last_reclen_, remaining);
      if (reclen == 0) {
        Problem(offset, "record length unknown (no blockette 1000), " + std::to_string(remaining) +
                            " bytes skipped");
        return size;
      }
    }
    if (reclen < kMinRecordBytes || reclen > kMaxRecordBytes) {
      Problem(offset, "record length " + std::to_string(reclen) + " out of range");
      junk_start_ = offset + kScanStepBytes;  // keep scanning, reporting what follows as junk
      return offset + kScanStepBytes;
    }
    if (reclen > remaining) {
      Problem(offset, "truncated record (" + std::to_string(remaining) + " of " + std::to_string(reclen) +
                          " bytes)");
      // Keep scanning in case the length field itself was corrupt; the bytes up to the next
      // record belong to this reported record, so they are not reported again.
      junk_start_ = offset + kScanStepBytes;
      junk_is_reported_ = true;
      return offset + kScanStepBytes;
    }
    // Header first: libmseed 2 trusts the header's sample count and record length when unpacking,
    // so a corrupt one would make it read past the record. Only a record whose samples fit is
    // unpacked.
    std::string cause, libmseed_says;
    if (!Parse(record, reclen, /*unpack=*/false, &cause) || !HeaderFits(*msr_, reclen, &cause) ||
        !Parse(record, reclen, /*unpack=*/true, &cause, &libmseed_says)) {
      Problem(offset, cause);
      return offset + reclen;
    }
    ++records_parsed_;
    last_reclen_ = reclen;
    UseRecord(*msr_, offset, libmseed_says);
    return offset + reclen;
  }

  // The length of a record without blockette 1000 that no following header delimits: the previous
  // record's, or all that is left when that is a record length (the file's last record); 0: unknown.
  static int64_t ImpliedRecordLength(int64_t last_reclen, int64_t remaining) {
    if (last_reclen > 0 && last_reclen <= remaining) return last_reclen;
    if (IsPowerOfTwo(remaining) && remaining >= kMinRecordBytes && remaining <= kMaxRecordBytes) return remaining;
    return 0;
  }

  // Fills declared_samples_ from the headers alone, stepping through the buffer as Step does, so
  // that each channel's segment can reserve all its samples at once: grown by doubling, a channel
  // faults in about twice its memory and holds up to twice its size while being copied. Records
  // whose header the walk refuses are left out; the figures only size reservations.
  void CountDeclaredSamples(int64_t size) {
    std::string ignored;
    int64_t last_reclen = 0;
    for (int64_t offset = 0; size - offset >= kMinRecordBytes;) {
      char* record = buffer_.data() + offset;
      int64_t reclen = DetectRecordLength(std::string_view(record, static_cast<size_t>(size - offset)));
      if (reclen == 0) reclen = ImpliedRecordLength(last_reclen, size - offset);
      if (reclen < kMinRecordBytes || reclen > size - offset) {
        offset += kScanStepBytes;
        continue;
      }
      if (Parse(record, reclen, /*unpack=*/false, &ignored) && HeaderFits(*msr_, reclen, &ignored)) {
        declared_samples_[ChannelId{msr_->network, msr_->station, msr_->location, msr_->channel}] +=
            msr_->samplecnt;
        last_reclen = reclen;
      }
      offset += reclen;
    }
  }

  // msr_parse into msr_. On failure *cause says why (with libmseed's messages); on success
  // libmseed's warnings go to *warnings (when given).
  bool Parse(char* record, int64_t reclen, bool unpack, std::string* cause, std::string* warnings = nullptr) {
    int rc;
    std::string libmseed_says;
    {
      LibmseedSession session;
      MSRecord* raw = msr_.release();
      rc = msr_parse(record, static_cast<int>(reclen), &raw, static_cast<int>(reclen), unpack ? 1 : 0, 0);
      msr_.reset(raw);
      libmseed_says = JoinMessages(session.TakeMessages());
    }
    if (rc == MS_NOERROR && msr_ != nullptr) {
      if (warnings != nullptr) *warnings = std::move(libmseed_says);
      return true;
    }
    *cause = rc > 0 ? "truncated record" : ms_errorstr(rc);
    if (!libmseed_says.empty()) *cause += " (libmseed: " + libmseed_says + ")";
    return false;
  }

  // Whether the parsed header describes the `reclen` bytes we hold: its record length is `reclen`,
  // and its sample count fits in the data section for its encoding.
  static bool HeaderFits(const MSRecord& msr, int64_t reclen, std::string* cause) {
    // A second blockette 1000 can set msr.reclen to another length than the one the record was
    // detected with (the first); libmseed then decodes up to that length, past the record.
    if (msr.reclen != reclen) {
      *cause = "header says the record is " + std::to_string(msr.reclen) + " bytes, but it was found as " +
               std::to_string(reclen) + " bytes (conflicting blockettes 1000)";
      return false;
    }
    if (msr.samplecnt <= 0) return true;
    const int64_t data_offset = msr.fsdh != nullptr ? msr.fsdh->data_offset : 0;
    if (data_offset < kFixedHeaderBytes || data_offset >= reclen) {
      *cause = "data offset " + std::to_string(data_offset) + " outside the record";
      return false;
    }
    const int64_t payload_bytes = reclen - data_offset;
    int64_t capacity = -1;  // samples the payload can hold; -1: encoding unknown (libmseed rejects it)
    switch (msr.encoding) {
      case DE_ASCII: capacity = payload_bytes; break;
      case DE_INT16: case DE_GEOSCOPE163: case DE_GEOSCOPE164: case DE_CDSN: case DE_SRO: case DE_DWWSSN:
        capacity = payload_bytes / 2;
        break;
      case DE_GEOSCOPE24: capacity = payload_bytes / 3; break;
      case DE_INT32: case DE_FLOAT32: capacity = payload_bytes / 4; break;
      case DE_FLOAT64: capacity = payload_bytes / 8; break;
      case DE_STEIM1: capacity = payload_bytes / 64 * 15 * 4; break;  // 15 data words of <= 4 samples
      case DE_STEIM2: capacity = payload_bytes / 64 * 15 * 7; break;  // 15 data words of <= 7 samples
      default: break;
    }
    if (capacity >= 0 && msr.samplecnt > capacity) {
      *cause = "header claims " + std::to_string(msr.samplecnt) + " samples but the " +
               std::to_string(payload_bytes) + "-byte data section holds at most " + std::to_string(capacity);
      return false;
    }
    return true;
  }

  void UseRecord(const MSRecord& msr, int64_t offset, const std::string& libmseed_says) {
    ChannelId id{msr.network, msr.station, msr.location, msr.channel};
    const std::string where = id.ToString();
    if (!libmseed_says.empty()) Note(offset, where + ": libmseed: " + libmseed_says);
    if (msr.sampletype == 'a') {
      Problem(offset, where + ": ASCII text record (" + std::to_string(msr.numsamples) +
                          " characters), not a waveform; skipped");
      return;
    }
    if (msr.numsamples <= 0 || msr.datasamples == nullptr) {
      ++out_->records_skipped;  // nothing to drop
      return;
    }
    const double rate_hz = msr_samprate(const_cast<MSRecord*>(&msr));
    if (!(rate_hz >= kMinRateHz && rate_hz <= kMaxRateHz)) {  // also rejects NaN
      char text[64];
      std::snprintf(text, sizeof text, "%g", rate_hz);
      Problem(offset, where + ": sample rate " + text + " Hz outside [1e-4, 1e6]; " +
                          std::to_string(msr.numsamples) + " samples skipped");
      return;
    }
    if (msr.fsdh != nullptr) {
      // libmseed turns an impossible header time (day 400, hour 25) into a valid later one; such
      // a record would silently land elsewhere in time, so it is refused.
      const BTime& t = msr.fsdh->start_time;
      if (t.day < 1 || t.day > 366 || t.hour > 23 || t.min > 59 || t.sec > 60 || t.fract > 9999) {
        char text[96];
        std::snprintf(text, sizeof text, "impossible start time (year %u, day %u, %02u:%02u:%02u.%04u)", t.year,
                      t.day, t.hour, t.min, t.sec, t.fract);
        Problem(offset, where + ": " + text + "; " + std::to_string(msr.numsamples) + " samples skipped");
        return;
      }
    }
    if (msr.starttime == HPTERROR || msr.starttime < kMinHptime || msr.starttime > kMaxHptime) {
      Problem(offset, where + ": start time outside 1900-2100; record skipped");
      return;
    }
    SampleSpan samples;
    if (!SamplesOf(msr, &samples)) {
      Problem(offset, where + ": unsupported sample type '" + std::string(1, msr.sampletype) + "'; skipped");
      return;
    }
    if (const int64_t non_finite = CountNonFinite(samples); non_finite > 0) {
      Problem(offset, where + ": " + std::to_string(non_finite) + " of " + std::to_string(samples.count) +
                          " samples are NaN or infinite; record skipped");
      return;
    }
    const NanoTime start = static_cast<NanoTime>(msr.starttime) * kNanosPerHptime;
    if (merger_ != nullptr) {
      if (!merger_->Add(id, start, rate_hz, samples, ExpectedSamples(id))) {
        out_of_order_ = true;
        return;
      }
    } else {
      TraceSegment piece;
      piece.id = std::move(id);
      piece.start = start;
      piece.rate_hz = rate_hz;
      AppendSamples(samples, &piece.samples);
      pieces_.push_back(std::move(piece));
    }
    ++out_->records_decoded;
  }

  // All the samples channel `id` declares (see CountDeclaredSamples) when first asked, 0 after:
  // only a channel's first segment reserves, or a channel split by a gap at every record would
  // reserve what is left of it once per record.
  int64_t ExpectedSamples(const ChannelId& id) {
    const auto it = declared_samples_.find(id);
    if (it == declared_samples_.end()) return 0;
    const int64_t all = it->second;
    declared_samples_.erase(it);
    return all;
  }

  // The record's decoded samples in place. False: a sample type other than int32/float32/float64.
  static bool SamplesOf(const MSRecord& msr, SampleSpan* samples) {
    samples->data = msr.datasamples;
    samples->count = msr.numsamples;
    switch (msr.sampletype) {
      case 'i': samples->type = SampleSpan::Type::kInt32; return true;
      case 'f': samples->type = SampleSpan::Type::kFloat32; return true;
      case 'd': samples->type = SampleSpan::Type::kFloat64; return true;
      default: return false;
    }
  }

  static int64_t CountNonFinite(SampleSpan samples) {
    auto count = [&](const auto* v) {
      return std::count_if(v, v + samples.count, [](auto x) { return !std::isfinite(x); });
    };
    switch (samples.type) {
      case SampleSpan::Type::kInt32: return 0;
      case SampleSpan::Type::kFloat32: return count(static_cast<const float*>(samples.data));
      case SampleSpan::Type::kFloat64: return count(static_cast<const double*>(samples.data));
    }
    return 0;
  }

  // A dropped record: counted and reported.
  void Problem(int64_t offset, const std::string& what) {
    ++out_->records_skipped;
    Note(offset, what);
  }
  void Note(int64_t offset, const std::string& what) {
    out_->problems.push_back("record at byte " + std::to_string(offset) + ": " + what);
  }

  void EndJunk(int64_t end) {
    const bool silent = junk_is_reported_;
    junk_is_reported_ = false;
    if (junk_start_ < 0 || end <= junk_start_ || silent) {
      junk_start_ = -1;
      return;
    }
    out_->problems.push_back("bytes " + std::to_string(junk_start_) + "-" + std::to_string(end - 1) + " (" +
                             std::to_string(end - junk_start_) + " bytes): not miniSEED data, skipped");
    junk_start_ = -1;
  }

  std::vector<char>& buffer_;
  MseedFileContents* out_;
  SegmentMerger* merger_;  // null: records are collected in pieces_
  MsRecordPtr msr_;  // reused across records, as libmseed intends
  std::vector<TraceSegment> pieces_;
  std::map<ChannelId, int64_t> declared_samples_;  // per channel not yet reserved, by the headers
  int64_t records_parsed_ = 0;
  int64_t last_reclen_ = 0;
  int64_t junk_start_ = -1;        // first byte of the current run of non-record bytes, or -1
  bool junk_is_reported_ = false;  // the current run is the tail of a record already reported
  bool saw_header_ = false;
  bool out_of_order_ = false;
};

// Decodes `buffer` (mutable: libmseed 2 takes char*).
Status DecodeBuffer(std::vector<char>* buffer, const std::string& name, const ReaderOptions& opts,
                    MseedFileContents* out) {
  *out = MseedFileContents();
  if (buffer->empty()) return Status::Corruption(name + ": empty file (0 bytes)");
  // Records merged as they come; a file whose records of a channel are out of time order is
  // walked again and merged by MergeSegments (same result, one more copy of each record).
  std::vector<std::string> merge_problems;
  SegmentMerger merger(opts, &merge_problems);
  RecordWalker in_order(buffer, out, &merger);
  in_order.Run();
  std::unique_ptr<RecordWalker> sorted;
  if (in_order.out_of_order()) {
    merger.Take();  // frees what was merged before the walk turned back, before the pieces are held
    *out = MseedFileContents();
    merge_problems.clear();
    sorted = std::make_unique<RecordWalker>(buffer, out, nullptr);
    sorted->Run();
    out->segments = MergeSegments(sorted->TakePieces(), opts, &out->problems);
  } else {
    out->segments = merger.Take();
    out->problems.insert(out->problems.end(), merge_problems.begin(), merge_problems.end());
  }
  const RecordWalker& walker = sorted ? *sorted : in_order;
  for (size_t i = 1; i < out->segments.size(); ++i) {
    const TraceSegment& a = out->segments[i - 1];
    const TraceSegment& b = out->segments[i];
    if (a.id == b.id && b.start - a.LastSampleTime() > kSuspiciousGapNs) {
      out->problems.push_back(a.id.ToString() + ": a gap of " +
                              std::to_string((b.start - a.LastSampleTime()) / kSuspiciousGapNs) + " days between " +
                              FormatIsoMicros(a.LastSampleTime()) + " and " + FormatIsoMicros(b.start) +
                              " inside one file (a corrupted record time?); both parts kept");
    }
  }
  if (walker.records_parsed() > 0) return Status::OK();
  if (!walker.saw_header()) {
    return Status::Corruption(name + ": not miniSEED (no record header found in " +
                              std::to_string(buffer->size()) + " bytes)");
  }
  // The first problems say why; a long list stays in out->problems.
  constexpr size_t kProblemsInMessage = 3;
  std::vector<std::string> first(out->problems.begin(),
                                 out->problems.begin() + std::min(out->problems.size(), kProblemsInMessage));
  std::string more;
  if (out->problems.size() > kProblemsInMessage) {
    more = "; and " + std::to_string(out->problems.size() - kProblemsInMessage) + " more";
  }
  return Status::Corruption(name + ": no decodable miniSEED record (" + JoinMessages(first) + more + ")");
}

}  // namespace

LibmseedSession::LibmseedSession() {
  InstallLogHooks();
  g_libmseed_mutex.lock();
  previous_ = t_log_sink;
  t_log_sink = &messages_;
}

LibmseedSession::~LibmseedSession() {
  t_log_sink = previous_;
  g_libmseed_mutex.unlock();
}

std::vector<std::string> LibmseedSession::TakeMessages() { return std::exchange(messages_, {}); }

int64_t DetectRecordLength(std::string_view bytes) {
  constexpr int64_t kBlocketteHeaderBytes = 4;  // what ms_detect may read at the offset it stops at
  const int64_t size = static_cast<int64_t>(bytes.size());
  if (size < kFixedHeaderBytes) return -1;
  const int64_t window = size <= kMaxRecordBytes ? size - kBlocketteHeaderBytes : kMaxRecordBytes;
  LibmseedSession quiet;
  return ms_detect(bytes.data(), static_cast<int>(window));
}

Status DecodeMseedBytes(std::string_view bytes, const std::string& source_name, const ReaderOptions& opts,
                        MseedFileContents* out) {
  std::vector<char> buffer(bytes.begin(), bytes.end());
  return DecodeBuffer(&buffer, source_name, opts, out);
}

Status ReadMseedFile(const std::string& path, const ReaderOptions& opts, MseedFileContents* out) {
  *out = MseedFileContents();
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (status.type() == std::filesystem::file_type::not_found) return Status::NotFound(path + ": no such file");
  if (std::filesystem::is_directory(status)) return Status::InvalidArgument(path + ": is a directory, not a file");
  std::unique_ptr<FILE, FileCloser> file(std::fopen(path.c_str(), "rb"));
  if (file == nullptr) return Status::IOError(path + ": cannot open: " + std::strerror(errno));
  // Read in place: to the size the file has when opened, then whatever it grew by.
  std::vector<char> buffer;
  const auto size_bytes = std::filesystem::file_size(path, ec);
  size_t filled = 0;
  buffer.resize(ec ? size_t{1} << 16 : static_cast<size_t>(size_bytes) + 1);
  while (true) {
    filled += std::fread(buffer.data() + filled, 1, buffer.size() - filled, file.get());
    if (filled < buffer.size()) break;
    buffer.resize(buffer.size() * 2);
  }
  if (std::ferror(file.get())) return Status::IOError(path + ": read failed: " + std::strerror(errno));
  buffer.resize(filled);
  return DecodeBuffer(&buffer, path, opts, out);
}

}  // namespace rapid
