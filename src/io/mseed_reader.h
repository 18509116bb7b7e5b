// Decodes miniSEED 2 files (via libmseed 2) into continuous trace segments.
// Thread safety: ReadMseedFile and DecodeMseedBytes may run concurrently on distinct inputs; the
// libmseed calls themselves are serialised one record at a time (see LibmseedSession).
// libmseed's own logging is captured (see LibmseedSession): it never prints by itself.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "io/segment_merge.h"
#include "io/trace.h"

namespace rapid {

// What one file decoded to. Owned by the caller; no libmseed state survives the call.
struct MseedFileContents {
  // Records of each channel joined by MergeSegments, sorted by (ChannelId, start).
  std::vector<TraceSegment> segments;
  // One human-readable message per thing dropped or doubtful, naming where it was, e.g.
  // "record at byte 4096: truncated record (2206 of 4096 bytes)" or
  // "bytes 0-20479 (20480 bytes): not miniSEED data, skipped".
  std::vector<std::string> problems;
  int64_t records_decoded = 0;  // waveform records whose samples are in `segments`
  int64_t records_skipped = 0;  // records found but not used: broken, truncated, ASCII, NaN, bad rate, no samples
};

// Reads and decodes the miniSEED file at `path` into *out (which is overwritten).
// Every record is decoded; sample types int/float32/float64 become double. Skipped and not used,
// each with a problem: ASCII (log) records, records with NaN/Inf samples, records whose sample
// rate is outside [1e-4, 1e6] Hz or not finite, records starting outside 1900-2100, records whose
// header claims more samples than the record holds or another record length than the one the
// record was found with (e.g. two blockettes 1000), records libmseed cannot decode, a truncated
// record, and runs of bytes that are not miniSEED (e.g. full-SEED control headers). Records
// without samples are counted as skipped without a problem. libmseed's warnings on a record it
// did decode (e.g. a failed Steim integrity check) are added as problems; the record is kept.
// OK: at least one miniSEED record parsed (even if it held no usable samples; see problems).
// NotFound: no such file. IOError: unreadable (message has the OS reason).
// Corruption: empty, not miniSEED, or no record decodable; the message names `path` and the cause.
// On error *out holds what was gathered (problems explain the cause).
Status ReadMseedFile(const std::string& path, const ReaderOptions& opts, MseedFileContents* out);

// As ReadMseedFile, for miniSEED bytes already in memory; `source_name` names them in messages.
// It holds at most kDecodeBytesPerInputByte × bytes.size() bytes at once besides `bytes`.
Status DecodeMseedBytes(std::string_view bytes, const std::string& source_name, const ReaderOptions& opts,
                        MseedFileContents* out);

// The most samples a byte of miniSEED 2 can hold: Steim-2 packs seven 4-bit differences into a
// 32-bit word (headers and other encodings hold fewer).
inline constexpr double kMaxSamplesPerMseedByte = 1.75;

// A bound on what decoding n bytes of miniSEED holds at once, per byte: their copy (libmseed 2 takes
// a mutable buffer) and the samples as doubles (at most kMaxSamplesPerMseedByte per byte), each
// channel reserved once from the headers; records out of time order also hold each record's samples
// while they are merged. Measured on constant samples in Steim-2 (1.61 samples per byte;
// tests/mseed_reader_test.cc): 13.9 in time order (also with records repeated later), 26.9 with
// the records reversed, so at most about 29 at 1.75 samples per byte; the rest is margin.
// `rapid serve` reserves this before decoding a body (docs/serve.md).
inline constexpr int64_t kDecodeBytesPerInputByte = 32;

// libmseed's ms_detect on the classic (v2) record at the start of `bytes`, over at most 1 MiB of
// them, quietly and never reading past them: the record's length, 0 when it has no blockette 1000
// (length unknown), -1 when it is not a record. libmseed 2.19 reads a blockette header at any offset
// up to the length it is given, 4 bytes past it; where the window reaches the end of `bytes` it is
// told 4 bytes less (a blockette 1000 there would not fit whole anyway).
int64_t DetectRecordLength(std::string_view bytes);

// Exclusive and quiet use of libmseed 2 by this thread while the object lives. libmseed 2 formats
// every log message in one static buffer, so two threads whose calls log at the same time would
// race; a session therefore holds a process-wide (recursive) mutex, and routes libmseed's log and
// diagnostic output into TakeMessages() instead of stdout/stderr. Wrap every libmseed call that
// may log in a session, and keep sessions short (one record) so readers on other threads proceed.
// Nestable on one thread: the innermost session receives the messages.
class LibmseedSession {
 public:
  LibmseedSession();   // blocks while another thread holds a session
  ~LibmseedSession();
  LibmseedSession(const LibmseedSession&) = delete;
  LibmseedSession& operator=(const LibmseedSession&) = delete;

  // Returns the messages captured so far (trailing newlines removed) and clears the list.
  std::vector<std::string> TakeMessages();

 private:
  std::vector<std::string> messages_;
  std::vector<std::string>* previous_;
};

}  // namespace rapid
