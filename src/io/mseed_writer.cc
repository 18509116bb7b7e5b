#include "io/mseed_writer.h"

#include <libmseed.h>

#include <cfloat>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>

#include "core/atomic_file.h"
#include "io/mseed_reader.h"

namespace rapid {
namespace {

constexpr int kMinRecordBytes = 128;
constexpr int kMaxRecordBytes = 1 << 20;
constexpr int64_t kSteim2MaxDifference = (int64_t{1} << 29) - 1;  // 30-bit signed
constexpr int32_t kMaxSequenceNumber = 999999;                     // six ASCII digits
constexpr double kMaxRateError = 1e-9;                              // relative, for the stored rate

struct MsRecordDeleter {
  void operator()(MSRecord* msr) const { msr_free(&msr); }
};
using MsRecordPtr = std::unique_ptr<MSRecord, MsRecordDeleter>;

void AppendRecord(char* record, int length, void* handler_data) {
  static_cast<std::string*>(handler_data)->append(record, static_cast<size_t>(length));
}

Status CheckCode(const std::string& code, size_t max_length, const char* what, const TraceSegment& seg) {
  if (code.size() <= max_length) return Status::OK();
  return Status::InvalidArgument(seg.id.ToString() + ": " + what + " code '" + code + "' longer than " +
                                 std::to_string(max_length) + " characters");
}

Status CheckSegment(const TraceSegment& seg) {
  RAPID_RETURN_IF_ERROR(CheckCode(seg.id.network, 2, "network", seg));
  RAPID_RETURN_IF_ERROR(CheckCode(seg.id.station, 5, "station", seg));
  RAPID_RETURN_IF_ERROR(CheckCode(seg.id.location, 2, "location", seg));
  RAPID_RETURN_IF_ERROR(CheckCode(seg.id.channel, 3, "channel", seg));
  if (seg.start == kUnsetTime) return Status::InvalidArgument(seg.id.ToString() + ": segment start is unset");
  if (!std::isfinite(seg.rate_hz) || seg.rate_hz <= 0) {
    return Status::InvalidArgument(seg.id.ToString() + ": sample rate must be finite and > 0");
  }
  // The header stores the rate as two int16 (factor, multiplier); refuse rather than approximate.
  int16_t factor = 0, multiplier = 0;
  int rc;
  {
    LibmseedSession session;
    rc = ms_genfactmult(seg.rate_hz, &factor, &multiplier);
  }
  if (rc != 0 ||
      std::abs(ms_nomsamprate(factor, multiplier) / seg.rate_hz - 1.0) > kMaxRateError) {
    return Status::InvalidArgument(seg.id.ToString() + ": sample rate " + std::to_string(seg.rate_hz) +
                                   " Hz cannot be expressed as a miniSEED 2 factor/multiplier");
  }
  return Status::OK();
}

std::string SampleName(const TraceSegment& seg, size_t i) {
  return seg.id.ToString() + ": sample " + std::to_string(i) + " at " +
         FormatIsoMicros(seg.SampleTimeAt(static_cast<int64_t>(i)));
}

Status ToSteim2Ints(const TraceSegment& seg, std::vector<int32_t>* ints) {
  ints->resize(seg.samples.size());
  for (size_t i = 0; i < seg.samples.size(); ++i) {
    const double v = std::round(seg.samples[i]);
    if (!(v >= std::numeric_limits<int32_t>::min() && v <= std::numeric_limits<int32_t>::max())) {
      return Status::InvalidArgument(SampleName(seg, i) + " is not representable as int32 for Steim2");
    }
    (*ints)[i] = static_cast<int32_t>(v);
    if (i > 0) {
      const int64_t diff = int64_t{(*ints)[i]} - (*ints)[i - 1];
      if (diff > kSteim2MaxDifference || diff < -kSteim2MaxDifference - 1) {
        return Status::InvalidArgument(SampleName(seg, i) +
                                       " differs from its predecessor by more than Steim2's 30 bits; use float32");
      }
    }
  }
  return Status::OK();
}

Status ToFloats(const TraceSegment& seg, std::vector<float>* floats) {
  floats->resize(seg.samples.size());
  for (size_t i = 0; i < seg.samples.size(); ++i) {
    const double v = seg.samples[i];
    if (!std::isfinite(v) || std::abs(v) > FLT_MAX) {
      return Status::InvalidArgument(SampleName(seg, i) + " is not a finite float32 value");
    }
    (*floats)[i] = static_cast<float>(v);
  }
  return Status::OK();
}

// miniSEED 2 times are microseconds: round to the nearest one.
hptime_t ToHptime(NanoTime t) {
  constexpr int64_t kNanosPerHptime = kNanosPerSecond / HPTMODULUS;
  const int64_t shifted = t + kNanosPerHptime / 2;
  int64_t q = shifted / kNanosPerHptime;
  if (shifted % kNanosPerHptime != 0 && shifted < 0) --q;  // floor division
  return static_cast<hptime_t>(q);
}

Status PackSegment(const TraceSegment& seg, SampleEncoding encoding, int record_length_bytes, int32_t* sequence,
                   std::string* bytes) {
  RAPID_RETURN_IF_ERROR(CheckSegment(seg));
  if (seg.samples.empty()) return Status::OK();
  std::vector<int32_t> ints;
  std::vector<float> floats;
  MsRecordPtr msr(msr_init(nullptr));
  if (msr == nullptr) return Status::ResourceExhausted("libmseed could not allocate a record");
  // The sample buffer belongs to `ints`/`floats`: keep msr_free away from it on every path.
  struct ReleaseSamples {
    MSRecord* msr;
    ~ReleaseSamples() {
      msr->datasamples = nullptr;
      msr->numsamples = 0;
    }
  } release_samples{msr.get()};
  if (encoding == SampleEncoding::kSteim2) {
    RAPID_RETURN_IF_ERROR(ToSteim2Ints(seg, &ints));
    msr->datasamples = ints.data();
    msr->sampletype = 'i';
    msr->encoding = DE_STEIM2;
  } else {
    RAPID_RETURN_IF_ERROR(ToFloats(seg, &floats));
    msr->datasamples = floats.data();
    msr->sampletype = 'f';
    msr->encoding = DE_FLOAT32;
  }
  msr->numsamples = static_cast<int64_t>(seg.samples.size());
  std::strncpy(msr->network, seg.id.network.c_str(), sizeof msr->network - 1);
  std::strncpy(msr->station, seg.id.station.c_str(), sizeof msr->station - 1);
  std::strncpy(msr->location, seg.id.location.c_str(), sizeof msr->location - 1);
  std::strncpy(msr->channel, seg.id.channel.c_str(), sizeof msr->channel - 1);
  msr->dataquality = 'D';
  msr->starttime = ToHptime(seg.start);
  msr->samprate = seg.rate_hz;
  msr->reclen = record_length_bytes;
  msr->byteorder = 1;  // big-endian
  msr->sequence_number = *sequence;

  LibmseedSession session;
  // Without blockette 1001 miniSEED 2 keeps start times to 100 us only; with it, to 1 us.
  struct blkt_1001_s b1001 = {};
  if (msr_addblockette(msr.get(), reinterpret_cast<char*>(&b1001), sizeof b1001, 1001, 0) == nullptr) {
    return Status::Internal(seg.id.ToString() + ": libmseed could not add blockette 1001");
  }
  int64_t packed = 0;
  const int records = msr_pack(msr.get(), &AppendRecord, bytes, &packed, 1, 0);
  if (records < 0 || packed != static_cast<int64_t>(seg.samples.size())) {
    std::string said;
    for (const std::string& m : session.TakeMessages()) said += (said.empty() ? "" : "; ") + m;
    return Status::Internal(seg.id.ToString() + ": libmseed packed " + std::to_string(packed) + " of " +
                            std::to_string(seg.samples.size()) + " samples" +
                            (said.empty() ? "" : " (libmseed: " + said + ")"));
  }
  *sequence = msr->sequence_number;
  if (*sequence > kMaxSequenceNumber) *sequence = 1;
  return Status::OK();
}

}  // namespace

Status EncodeMseed(const std::vector<TraceSegment>& segments, SampleEncoding encoding, int record_length_bytes,
                   std::string* bytes) {
  bytes->clear();
  if (record_length_bytes < kMinRecordBytes || record_length_bytes > kMaxRecordBytes ||
      (record_length_bytes & (record_length_bytes - 1)) != 0) {
    return Status::InvalidArgument("record length " + std::to_string(record_length_bytes) +
                                   " is not a power of two in [128, 1048576]");
  }
  int32_t sequence = 1;
  for (const TraceSegment& seg : segments) {
    const Status status = PackSegment(seg, encoding, record_length_bytes, &sequence, bytes);
    if (!status.ok()) {
      bytes->clear();
      return status;
    }
  }
  return Status::OK();
}

Status WriteMseedFile(const std::string& path, const std::vector<TraceSegment>& segments, SampleEncoding encoding,
                      int record_length_bytes) {
  std::string bytes;
  const Status status = EncodeMseed(segments, encoding, record_length_bytes, &bytes);
  if (status.ok()) return WriteFileAtomically(path, bytes);
  const std::string message = path + ": " + status.message();
  switch (status.code()) {
    case Status::Code::kInvalidArgument: return Status::InvalidArgument(message);
    case Status::Code::kResourceExhausted: return Status::ResourceExhausted(message);
    default: return Status::Internal(message);
  }
}

}  // namespace rapid
