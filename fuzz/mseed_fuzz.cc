// libFuzzer target: the reader's decode + merge path on arbitrary bytes taken as one miniSEED file.
// Beyond the sanitizers, it checks what the reader's contract promises about its output, and
// merges the decoded segments a second time with loose tolerances to reach the overlap paths.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "io/mseed_reader.h"
#include "io/segment_merge.h"

namespace {

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "mseed_fuzz: contract broken: %s\n", what);
  std::abort();
}

// Segments as MergeSegments promises them: non-empty, valid rate and start, sorted.
void CheckSegments(const std::vector<rapid::TraceSegment>& segments, bool finite_samples) {
  for (size_t i = 0; i < segments.size(); ++i) {
    const rapid::TraceSegment& s = segments[i];
    if (s.samples.empty()) Fail("empty segment");
    if (!(s.rate_hz > 0) || !std::isfinite(s.rate_hz)) Fail("segment rate not positive and finite");
    if (s.start == rapid::kUnsetTime) Fail("segment start unset");
    if (finite_samples) {
      for (double v : s.samples) {
        if (!std::isfinite(v)) Fail("NaN or infinite sample in a decoded segment");
      }
    }
    if (i > 0) {
      const rapid::TraceSegment& p = segments[i - 1];
      if (s.id < p.id || (s.id == p.id && s.start < p.start)) Fail("segments not sorted by (id, start)");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string kName = "fuzz-input";
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  rapid::MseedFileContents contents;
  const rapid::Status status = rapid::DecodeMseedBytes(bytes, kName, rapid::ReaderOptions(), &contents);
  if (!status.ok() && status.message().rfind(kName + ": ", 0) != 0) Fail("error message does not name the input");
  if (status.ok() && contents.records_decoded + contents.records_skipped == 0) Fail("OK without any record");
  if (contents.records_decoded == 0 && !contents.segments.empty()) Fail("segments without decoded records");
  CheckSegments(contents.segments, /*finite_samples=*/true);

  rapid::ReaderOptions loose;
  loose.time_tolerance_samples = 1e3;
  loose.rate_tolerance_relative = 0.5;
  std::vector<std::string> problems;
  CheckSegments(rapid::MergeSegments(std::move(contents.segments), loose, &problems), /*finite_samples=*/true);
  return 0;
}
