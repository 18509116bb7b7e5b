#include "engine/station_block.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "dsp/resample.h"

namespace rapid {

namespace {

// ObsPy's round-half-away-from-zero used when trimming to the nearest sample.
int64_t RoundAway(double x) { return static_cast<int64_t>(x < 0 ? -std::floor(-x + 0.5) : std::floor(x + 0.5)); }

struct Piece {  // one resampled segment of one component
  NanoTime start;
  NanoTime end;   // time of the last sample
  const TraceSegment* segment;
  std::vector<double> samples;
};

std::string InstrumentKey(const ChannelId& id) {
  return id.StationKey() + "." + id.channel.substr(0, id.channel.empty() ? 0 : id.channel.size() - 1);
}

// Copies the part of `piece` within [t0, t1] (nearest-sample trimming) into `row` from index 0,
// returning how many samples the trimmed piece has.
int64_t CopyTrimmed(const Piece& piece, NanoTime t0, NanoTime t1, double rate_hz, float* row, int64_t row_len) {
  int64_t n = static_cast<int64_t>(piece.samples.size());
  int64_t first = std::max<int64_t>(0, RoundAway(static_cast<double>(t0 - piece.start) * rate_hz / 1e9));
  int64_t drop_end = std::max<int64_t>(0, RoundAway(static_cast<double>(piece.end - t1) * rate_hz / 1e9));
  int64_t last = n - drop_end;  // exclusive
  int64_t count = std::max<int64_t>(0, last - first);
  if (row != nullptr) {
    const auto begin = piece.samples.begin() + first;
    std::transform(begin, begin + std::min(count, row_len), row, [](double v) { return static_cast<float>(v); });
  }
  return count;
}

}  // namespace

int ComponentIndex(const std::string& channel_code, const std::string& component_order) {
  if (channel_code.empty()) return -1;
  char c = channel_code.back();
  auto find = [&](char x) {
    size_t p = component_order.find(x);
    return p == std::string::npos ? -1 : static_cast<int>(p);
  };
  int idx = find(c);
  if (idx >= 0) return idx;
  if (c == '1') return find('N');
  if (c == '2') return find('E');
  if (c == 'N') return find('1');
  if (c == 'E') return find('2');
  return -1;
}

std::vector<std::vector<TraceSegment>> GroupByInstrument(std::vector<TraceSegment> segments) {
  std::map<std::string, std::vector<TraceSegment>> groups;
  for (TraceSegment& s : segments) groups[InstrumentKey(s.id)].push_back(std::move(s));
  std::vector<std::vector<TraceSegment>> out;
  for (auto& [key, group] : groups) {
    std::sort(group.begin(), group.end(), [](const TraceSegment& a, const TraceSegment& b) {
      return a.id.channel != b.id.channel ? a.id.channel < b.id.channel : a.start < b.start;
    });
    out.push_back(std::move(group));
  }
  return out;
}

Status BuildStationBlocks(const std::vector<TraceSegment>& segments, const ModelSpec& spec,
                          std::vector<StationBlock>* blocks, std::vector<std::string>* notes) {
  blocks->clear();
  if (segments.empty()) return Status::OK();
  const int64_t channels = spec.Channels();
  const double rate = spec.rate_hz;
  const std::string trace_id = segments.front().id.StationKey();

  std::vector<std::vector<Piece>> by_component(static_cast<size_t>(channels));
  for (const TraceSegment& seg : segments) {
    int c = ComponentIndex(seg.id.channel, spec.component_order);
    if (c < 0) {
      std::string note = "ignored channel " + seg.id.ToString() + " (not one of the model's components " +
                         spec.component_order + ")";
      if (std::find(notes->begin(), notes->end(), note) == notes->end()) notes->push_back(note);
      continue;
    }
    Piece p{seg.start, kUnsetTime, &seg, seg.samples};
    RAPID_RETURN_IF_ERROR(ResampleSegment(seg.rate_hz, rate, &p.samples));
    if (p.samples.empty()) continue;
    p.end = SampleTime(p.start, static_cast<int64_t>(p.samples.size()) - 1, rate);
    by_component[static_cast<size_t>(c)].push_back(std::move(p));
  }

  std::vector<int> present;
  for (int c = 0; c < channels; ++c) {
    auto& pieces = by_component[static_cast<size_t>(c)];
    std::sort(pieces.begin(), pieces.end(), [](const Piece& a, const Piece& b) { return a.start < b.start; });
    if (!pieces.empty()) {
      present.push_back(c);
    } else {
      notes->push_back(trace_id + ": component " + std::string(1, spec.component_order[static_cast<size_t>(c)]) +
                       " missing, zero-filled");
    }
  }
  if (present.empty()) return Status::OK();

  // Sweep the spans all present components cover (k-way interval intersection).
  std::vector<size_t> cursor(static_cast<size_t>(channels), 0);
  while (true) {
    bool done = false;
    NanoTime t0 = std::numeric_limits<NanoTime>::min(), t1 = std::numeric_limits<NanoTime>::max();
    for (int c : present) {
      const auto& pieces = by_component[static_cast<size_t>(c)];
      if (cursor[static_cast<size_t>(c)] >= pieces.size()) { done = true; break; }
      const Piece& p = pieces[cursor[static_cast<size_t>(c)]];
      t0 = std::max(t0, p.start);
      t1 = std::min(t1, p.end);
    }
    if (done) break;
    if (t0 <= t1) {
      // Row length: the trimmed length of the piece that ends first (SeisBench takes the first
      // trace of its end-time-ordered queue); ties go to the earlier start.
      const Piece* first_end = nullptr;
      for (int c : present) {
        const Piece& p = by_component[static_cast<size_t>(c)][cursor[static_cast<size_t>(c)]];
        if (first_end == nullptr || p.end < first_end->end || (p.end == first_end->end && p.start < first_end->start))
          first_end = &p;
      }
      const int64_t n = CopyTrimmed(*first_end, t0, t1, rate, nullptr, 0);
      if (n < spec.in_samples) {
        notes->push_back(trace_id + ": span " + FormatIsoMicros(t0) + " – " + FormatIsoMicros(t1) + " has " +
                         std::to_string(n) + " samples, shorter than one window (" + std::to_string(spec.in_samples) +
                         "); not annotated");
      } else {
        StationBlock block;
        block.trace_id = trace_id;
        block.start = t0;
        block.rate_hz = rate;
        block.channels = channels;
        block.samples_per_channel = n;
        block.samples.assign(static_cast<size_t>(channels * n), 0.0f);
        for (int c : present) {
          const Piece& p = by_component[static_cast<size_t>(c)][cursor[static_cast<size_t>(c)]];
          CopyTrimmed(p, t0, t1, rate, block.samples.data() + c * n, n);
        }
        blocks->push_back(std::move(block));
      }
    }
    // Advance the component whose current piece ends first.
    int advance = present.front();
    for (int c : present) {
      if (by_component[static_cast<size_t>(c)][cursor[static_cast<size_t>(c)]].end <
          by_component[static_cast<size_t>(advance)][cursor[static_cast<size_t>(advance)]].end)
        advance = c;
    }
    ++cursor[static_cast<size_t>(advance)];
  }
  return Status::OK();
}

}  // namespace rapid
