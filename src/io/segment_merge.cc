#include "io/segment_merge.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>

namespace rapid {
namespace {

bool RatesMatch(double a, double b, double tolerance_relative) {
  return std::abs(1.0 - a / b) <= tolerance_relative;
}

bool SameSample(double a, double b) { return a == b || (std::isnan(a) && std::isnan(b)); }

class Merger {
 public:
  Merger(const ReaderOptions& opts, std::vector<std::string>* problems) : opts_(opts), problems_(problems) {}

  // Appends `piece` to `seg` when it continues or overlaps it on its sample grid. Returns false
  // (piece untouched) when the piece must start a new segment.
  // REQUIRES: piece.start >= seg.start, both rates valid and matching within tolerance.
  bool Extend(TraceSegment* seg, TraceSegment* piece) {
    const int64_t n = static_cast<int64_t>(seg->samples.size());
    const double tolerance_ns = opts_.time_tolerance_samples * 1e9 / seg->rate_hz;
    int64_t delta_ns = 0;
    int64_t offset_ns = 0;
    if (__builtin_sub_overflow(piece->start, seg->SampleTimeAt(n), &delta_ns) ||
        __builtin_sub_overflow(piece->start, seg->start, &offset_ns)) {
      return false;  // centuries apart: a gap
    }
    if (static_cast<double>(delta_ns) > tolerance_ns) return false;  // gap
    if (static_cast<double>(delta_ns) >= -tolerance_ns) {             // continues
      Append(seg, *piece, 0);
      return true;
    }
    // The piece starts inside the segment: find the segment sample it coincides with.
    const double offset_samples = static_cast<double>(offset_ns) * seg->rate_hz / 1e9;
    const int64_t k = std::clamp<int64_t>(std::llround(offset_samples), 0, n);
    if (std::abs(static_cast<double>(piece->start - seg->SampleTimeAt(k))) > tolerance_ns) {
      Report(piece->id.ToString() + ": piece starting " + FormatIsoMicros(piece->start) +
             " overlaps the segment starting " + FormatIsoMicros(seg->start) +
             " off its sample grid; kept as a separate segment");
      return false;
    }
    const int64_t overlap = std::min<int64_t>(n - k, static_cast<int64_t>(piece->samples.size()));
    int64_t differing = 0;
    for (int64_t i = 0; i < overlap; ++i) {
      if (!SameSample(seg->samples[k + i], piece->samples[i])) ++differing;
    }
    if (differing > 0) {
      Report(piece->id.ToString() + ": " + std::to_string(differing) + " of " + std::to_string(overlap) +
             " overlapping samples from " + FormatIsoMicros(piece->start) +
             " differ from the data already merged; kept the earlier samples");
    }
    Append(seg, *piece, overlap);
    return true;
  }

  void Report(std::string message) {
    if (problems_ != nullptr) problems_->push_back(std::move(message));
  }

 private:
  static void Append(TraceSegment* seg, const TraceSegment& piece, int64_t first) {
    seg->samples.insert(seg->samples.end(), piece.samples.begin() + first, piece.samples.end());
  }

  const ReaderOptions& opts_;
  std::vector<std::string>* problems_;
};

}  // namespace

std::vector<TraceSegment> MergeSegments(std::vector<TraceSegment> pieces, const ReaderOptions& opts,
                                        std::vector<std::string>* problems) {
  Merger merger(opts, problems);
  std::vector<TraceSegment> valid;
  valid.reserve(pieces.size());
  for (TraceSegment& piece : pieces) {
    if (piece.samples.empty()) continue;
    if (!std::isfinite(piece.rate_hz) || piece.rate_hz <= 0 || piece.start == kUnsetTime) {
      merger.Report(piece.id.ToString() + ": dropped " + std::to_string(piece.samples.size()) +
                    " samples with an invalid sample rate or start time");
      continue;
    }
    valid.push_back(std::move(piece));
  }
  std::stable_sort(valid.begin(), valid.end(), [](const TraceSegment& a, const TraceSegment& b) {
    if (a.id != b.id) return a.id < b.id;
    return a.start < b.start;
  });

  std::vector<TraceSegment> out;
  size_t begin = 0;
  while (begin < valid.size()) {
    size_t end = begin;
    while (end < valid.size() && valid[end].id == valid[begin].id) ++end;
    // Index into `out` of the newest segment of each rate group of this channel.
    std::vector<size_t> current;
    for (size_t i = begin; i < end; ++i) {
      TraceSegment& piece = valid[i];
      auto group = std::find_if(current.begin(), current.end(), [&](size_t g) {
        return RatesMatch(piece.rate_hz, out[g].rate_hz, opts.rate_tolerance_relative);
      });
      if (group != current.end() && merger.Extend(&out[*group], &piece)) continue;
      out.push_back(std::move(piece));
      if (group != current.end()) {
        *group = out.size() - 1;
      } else {
        current.push_back(out.size() - 1);
      }
    }
    begin = end;
  }
  std::sort(out.begin(), out.end(), [](const TraceSegment& a, const TraceSegment& b) {
    if (a.id != b.id) return a.id < b.id;
    if (a.start != b.start) return a.start < b.start;
    return a.rate_hz < b.rate_hz;
  });
  return out;
}

}  // namespace rapid
