// Encodes trace segments as miniSEED 2 (via libmseed 2) and writes them atomically.
// Thread safety: safe to call concurrently on distinct paths.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "io/trace.h"

namespace rapid {

enum class SampleEncoding {
  kSteim2,   // lossless for integer samples; samples are rounded to int32
  kFloat32,  // IEEE float; samples are rounded to float precision (e.g. probabilities)
};

// Packs every segment, in order, into big-endian miniSEED 2 records of record_length_bytes with
// data quality 'D', blockette 1000, and sequence numbers counting up from 1 across the file.
// Start times are rounded to the microsecond (miniSEED 2's resolution). Empty segments are skipped.
// OK: *bytes (overwritten) holds the records.
// InvalidArgument: record_length_bytes is not a power of two in [128, 1048576]; a segment has an
// unset start, a rate that is not finite and > 0 or that the header's int16 factor/multiplier
// cannot express to 1e-9 (e.g. 12345.678 Hz; 100, 1/3 and 100/3 Hz are fine), codes longer than SEED allows (network 2,
// station 5, location 2, channel 3); a sample is not finite; for kSteim2 a sample rounds outside
// int32 or two neighbours differ by more than Steim2's 30 bits (use kFloat32); for kFloat32 a
// sample overflows float. The message names the segment. Internal: libmseed refused to pack.
// On error *bytes is empty. Packing holds the LibmseedSession lock for one segment at a time.
Status EncodeMseed(const std::vector<TraceSegment>& segments, SampleEncoding encoding, int record_length_bytes,
                   std::string* bytes);

// EncodeMseed, then WriteFileAtomically(path, bytes): a killed run never leaves a half file.
// Errors as EncodeMseed, plus IOError from writing (nothing written at `path` then).
Status WriteMseedFile(const std::string& path, const std::vector<TraceSegment>& segments, SampleEncoding encoding,
                      int record_length_bytes = 512);

}  // namespace rapid
