#include "io/segment_merge.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdint>
#include <utility>

namespace rapid {
namespace {

bool RatesMatch(double a, double b, double tolerance_relative) {
  return std::abs(1.0 - a / b) <= tolerance_relative;
}

bool SameSample(double a, double b) { return a == b || (std::isnan(a) && std::isnan(b)); }

// Calls fn(values) with the span's values typed.
template <typename Fn>
void VisitSamples(SampleSpan s, Fn fn) {
  switch (s.type) {
    case SampleSpan::Type::kInt32: return fn(static_cast<const int32_t*>(s.data));
    case SampleSpan::Type::kFloat32: return fn(static_cast<const float*>(s.data));
    case SampleSpan::Type::kFloat64: return fn(static_cast<const double*>(s.data));
  }
}

// Appends samples [first, count) of `s` to `out`, as doubles.
void AppendFrom(SampleSpan s, int64_t first, std::vector<double>* out) {
  VisitSamples(s, [&](const auto* v) { out->insert(out->end(), v + first, v + s.count); });
}

// The index of `seg`'s sample a piece starting at `start` coincides with, clamped to
// [0, size]; -1 when the piece lies more than `tolerance_ns` off the segment's sample grid (or
// centuries away). REQUIRES: start >= seg.start.
int64_t GridIndex(const TraceSegment& seg, NanoTime start, double tolerance_ns) {
  int64_t offset_ns = 0;
  if (__builtin_sub_overflow(start, seg.start, &offset_ns)) return -1;
  const double offset_samples = static_cast<double>(offset_ns) * seg.rate_hz / 1e9;
  const int64_t k = std::clamp<int64_t>(std::llround(offset_samples), 0, static_cast<int64_t>(seg.samples.size()));
  return std::abs(static_cast<double>(start - seg.SampleTimeAt(k))) > tolerance_ns ? -1 : k;
}

// How many of the first `count` samples of `samples` differ from have[k...].
int64_t CountDiffering(const std::vector<double>& have, int64_t k, SampleSpan samples, int64_t count) {
  int64_t differing = 0;
  VisitSamples(samples, [&](const auto* v) {
    for (int64_t i = 0; i < count; ++i) {
      if (!SameSample(have[k + i], static_cast<double>(v[i]))) ++differing;
    }
  });
  return differing;
}

SampleSpan SpanOf(const TraceSegment& piece) {
  return SampleSpan{piece.samples.data(), SampleSpan::Type::kFloat64, static_cast<int64_t>(piece.samples.size())};
}

}  // namespace

void AppendSamples(SampleSpan samples, std::vector<double>* out) { AppendFrom(samples, 0, out); }

struct SegmentMerger::Channel {
  NanoTime last_start = kUnsetTime;
  std::vector<size_t> current;  // index in out_ of the newest segment of each rate group
};

SegmentMerger::SegmentMerger(const ReaderOptions& opts, std::vector<std::string>* problems)
    : opts_(opts), problems_(problems) {}

SegmentMerger::~SegmentMerger() = default;

void SegmentMerger::Report(std::string message) {
  if (problems_ != nullptr) problems_->push_back(std::move(message));
}

// Appends the piece to `seg` when it continues or overlaps it on its sample grid. Returns false
// (nothing appended) when the piece must start a new segment.
// REQUIRES: start >= seg->start, rates matching within tolerance.
bool SegmentMerger::Extend(TraceSegment* seg, NanoTime start, SampleSpan samples, const ChannelId& id) {
  const int64_t n = static_cast<int64_t>(seg->samples.size());
  const double tolerance_ns = opts_.time_tolerance_samples * 1e9 / seg->rate_hz;
  int64_t delta_ns = 0;
  if (__builtin_sub_overflow(start, seg->SampleTimeAt(n), &delta_ns)) return false;  // centuries apart: a gap
  if (static_cast<double>(delta_ns) > tolerance_ns) return false;                   // gap
  if (static_cast<double>(delta_ns) >= -tolerance_ns) {                              // continues
    AppendFrom(samples, 0, &seg->samples);
    return true;
  }
  // The piece starts inside the segment: find the segment sample it coincides with.
  const int64_t k = GridIndex(*seg, start, tolerance_ns);
  if (k < 0) {
    Report(id.ToString() + ": piece starting " + FormatIsoMicros(start) + " overlaps the segment starting " +
           FormatIsoMicros(seg->start) + " off its sample grid; kept as a separate segment");
    return false;
  }
  const int64_t overlap = std::min<int64_t>(n - k, samples.count);
  const int64_t differing = CountDiffering(seg->samples, k, samples, overlap);
  if (differing > 0) {
    Report(id.ToString() + ": " + std::to_string(differing) + " of " + std::to_string(overlap) +
           " overlapping samples from " + FormatIsoMicros(start) +
           " differ from the data already merged; kept the earlier samples");
  }
  AppendFrom(samples, overlap, &seg->samples);
  return true;
}

SegmentMerger::Channel* SegmentMerger::ChannelFor(const ChannelId& id) {
  if (last_channel_ == nullptr || *last_id_ != id) {
    auto it = channels_.try_emplace(id).first;
    last_id_ = &it->first;
    last_channel_ = &it->second;
  }
  return last_channel_;
}

bool SegmentMerger::RepeatsNewestSegment(Channel* channel, NanoTime start, double rate_hz, SampleSpan samples) {
  const size_t* group = GroupFor(channel, rate_hz);
  if (group == nullptr) return false;
  const TraceSegment& seg = out_[*group];
  if (start < seg.start) return false;
  const int64_t k = GridIndex(seg, start, opts_.time_tolerance_samples * 1e9 / seg.rate_hz);
  return k >= 0 && k <= static_cast<int64_t>(seg.samples.size()) - samples.count &&
         CountDiffering(seg.samples, k, samples, samples.count) == 0;
}

size_t* SegmentMerger::GroupFor(Channel* channel, double rate_hz) {
  auto group = std::find_if(channel->current.begin(), channel->current.end(), [&](size_t g) {
    return RatesMatch(rate_hz, out_[g].rate_hz, opts_.rate_tolerance_relative);
  });
  return group == channel->current.end() ? nullptr : &*group;
}

void SegmentMerger::StartSegment(Channel* channel, size_t* group, TraceSegment seg) {
  out_.push_back(std::move(seg));
  if (group != nullptr) {
    *group = out_.size() - 1;
  } else {
    channel->current.push_back(out_.size() - 1);
  }
}

bool SegmentMerger::Add(const ChannelId& id, NanoTime start, double rate_hz, SampleSpan samples,
                        int64_t expected_samples) {
  Channel* channel = ChannelFor(id);
  if (samples.count <= 0) return true;
  if (channel->last_start > start) return RepeatsNewestSegment(channel, start, rate_hz, samples);
  channel->last_start = start;
  size_t* group = GroupFor(channel, rate_hz);
  if (group != nullptr && Extend(&out_[*group], start, samples, id)) return true;
  TraceSegment seg;
  seg.id = id;
  seg.start = start;
  seg.rate_hz = rate_hz;
  seg.samples.reserve(static_cast<size_t>(std::max(expected_samples, samples.count)));
  AppendFrom(samples, 0, &seg.samples);
  StartSegment(channel, group, std::move(seg));
  return true;
}

bool SegmentMerger::Add(TraceSegment piece, int64_t expected_samples) {
  Channel* channel = ChannelFor(piece.id);
  if (piece.samples.empty()) return true;
  if (channel->last_start > piece.start) {
    return RepeatsNewestSegment(channel, piece.start, piece.rate_hz, SpanOf(piece));
  }
  channel->last_start = piece.start;
  size_t* group = GroupFor(channel, piece.rate_hz);
  if (group != nullptr && Extend(&out_[*group], piece.start, SpanOf(piece), piece.id)) return true;
  piece.samples.reserve(static_cast<size_t>(std::max<int64_t>(expected_samples, 0)));
  StartSegment(channel, group, std::move(piece));
  return true;
}

std::vector<TraceSegment> SegmentMerger::Take() {
  std::vector<TraceSegment> out = std::move(out_);
  out_.clear();
  channels_.clear();
  last_id_ = nullptr;
  last_channel_ = nullptr;
  std::sort(out.begin(), out.end(), [](const TraceSegment& a, const TraceSegment& b) {
    if (a.id != b.id) return a.id < b.id;
    if (a.start != b.start) return a.start < b.start;
    return a.rate_hz < b.rate_hz;
  });
  return out;
}

std::vector<TraceSegment> MergeSegments(std::vector<TraceSegment> pieces, const ReaderOptions& opts,
                                        std::vector<std::string>* problems) {
  SegmentMerger merger(opts, problems);
  std::vector<TraceSegment> valid;
  valid.reserve(pieces.size());
  for (TraceSegment& piece : pieces) {
    if (piece.samples.empty()) continue;
    if (!std::isfinite(piece.rate_hz) || piece.rate_hz <= 0 || piece.start == kUnsetTime) {
      if (problems != nullptr) {
        problems->push_back(piece.id.ToString() + ": dropped " + std::to_string(piece.samples.size()) +
                            " samples with an invalid sample rate or start time");
      }
      continue;
    }
    valid.push_back(std::move(piece));
  }
  std::stable_sort(valid.begin(), valid.end(), [](const TraceSegment& a, const TraceSegment& b) {
    if (a.id != b.id) return a.id < b.id;
    return a.start < b.start;
  });
  // A channel's first piece reserves all the channel's samples (later segments, after gaps, grow).
  std::vector<int64_t> reserve(valid.size(), 0);
  for (size_t i = 0, first = 0; i < valid.size(); ++i) {
    if (valid[i].id != valid[first].id) first = i;
    reserve[first] += static_cast<int64_t>(valid[i].samples.size());
  }
  for (size_t i = 0; i < valid.size(); ++i) {
    [[maybe_unused]] const bool in_order = merger.Add(std::move(valid[i]), reserve[i]);
    assert(in_order && "sorted above");
  }
  return merger.Take();
}

}  // namespace rapid
