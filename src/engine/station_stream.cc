#include "engine/station_stream.h"

#include <algorithm>
#include <cmath>

namespace rapid {

namespace {

// ObsPy's round-half-away-from-zero used when trimming to the nearest sample.
int64_t RoundAway(double x) { return static_cast<int64_t>(x < 0 ? -std::floor(-x + 0.5) : std::floor(x + 0.5)); }

double Samples(NanoTime from, NanoTime to, double rate_hz) {
  return static_cast<double>(to - from) * rate_hz / static_cast<double>(kNanosPerSecond);
}

void AddNoteOnce(const std::string& note, std::vector<std::string>* notes) {
  if (std::find(notes->begin(), notes->end(), note) == notes->end()) notes->push_back(note);
}

}  // namespace

struct StationStream::Run {
  NanoTime start = kUnsetTime;  // time of sample 0 (model rate)
  // Samples [base, total()), of which those before `dropped` are no longer needed: they are
  // erased only once they outnumber the rest, so cutting pieces does not copy the run each time.
  std::vector<float> samples;
  int64_t base = 0;
  int64_t dropped = 0;
  bool closed = false;

  int64_t total() const { return base + static_cast<int64_t>(samples.size()); }
  NanoTime End(double rate_hz) const { return SampleTime(start, total() - 1, rate_hz); }
};

struct StationStream::Channel {
  Channel(const TraceSegment& seg, int c, double target_hz)
      : id(seg.id), rate_hz(seg.rate_hz), component(c), start(seg.start), resampler(seg.rate_hz, target_hz) {}
  ChannelId id;
  double rate_hz;
  int component;
  NanoTime start;  // of the current segment
  ResampleStream resampler;
};

struct StationStream::Block {
  uint64_t id = 0;
  NanoTime start = kUnsetTime;
  std::vector<int64_t> first;  // by component: run index of block sample 0
  int64_t next_window = 0;     // grid index of the next piece's first window
  int64_t pieces = 0;
};

int64_t StationStream::DefaultPieceWindows(const ModelSpec& spec) {
  return std::max<int64_t>(4, 200000 / std::max<int64_t>(1, spec.StrideSamples()));
}

StationStream::StationStream(const ModelSpec& spec, int64_t piece_windows, uint64_t first_block_id)
    : spec_(spec),
      piece_windows_(piece_windows),
      next_block_id_(first_block_id),
      runs_(static_cast<size_t>(spec.Channels())),
      feeding_channel_(static_cast<size_t>(spec.Channels())) {}

StationStream::~StationStream() = default;

int64_t StationStream::HeldSamples() const {
  int64_t n = 0;
  for (const auto& [code, ch] : channels_) n += ch->resampler.buffered();
  for (const auto& runs : runs_) {
    for (const Run& r : runs) n += static_cast<int64_t>(r.samples.size());
  }
  return n;
}

Status StationStream::CloseChannel(Channel* ch) {
  Run& run = runs_[static_cast<size_t>(ch->component)].back();
  RAPID_RETURN_IF_ERROR(ch->resampler.Drain(true, &run.samples));
  run.closed = true;
  return Status::OK();
}

Status StationStream::AddSegment(TraceSegment seg, std::vector<std::string>* notes) {
  if (trace_id_.empty()) trace_id_ = seg.id.StationKey();
  const int c = ComponentIndex(seg.id.channel, spec_.component_order);
  if (c < 0) {
    AddNoteOnce("ignored channel " + seg.id.ToString() + " (not one of the model's components " +
                    spec_.component_order + ")",
                notes);
    return Status::OK();
  }
  if (present_decided_ && std::find(present_.begin(), present_.end(), c) == present_.end()) {
    AddNoteOnce("ignored channel " + seg.id.ToString() + " (its component had no data when the first block began)",
                notes);
    return Status::OK();
  }
  std::string& feeder = feeding_channel_[static_cast<size_t>(c)];
  if (feeder.empty()) feeder = seg.id.channel;
  if (feeder != seg.id.channel) {
    AddNoteOnce("ignored channel " + seg.id.ToString() + " (component already read from " + feeder + ")", notes);
    return Status::OK();
  }
  int64_t known = 0;  // leading samples of `seg` the channel already delivered
  auto it = channels_.find(seg.id.channel);
  if (it != channels_.end()) {
    Channel& ch = *it->second;
    const NanoTime expected = SampleTime(ch.start, ch.resampler.appended(), ch.rate_hz);
    // Drop what this channel already delivered (the overlap of consecutive chunks).
    known = std::clamp<int64_t>(RoundAway(Samples(seg.start, expected, seg.rate_hz)), 0,
                                static_cast<int64_t>(seg.samples.size()));
    if (known == static_cast<int64_t>(seg.samples.size())) return Status::OK();
    seg.start = seg.SampleTimeAt(known);
    const bool same_rate = std::abs(1.0 - seg.rate_hz / ch.rate_hz) <= 1e-4;
    if (same_rate && std::abs(Samples(expected, seg.start, ch.rate_hz)) <= 0.5) {
      return ch.resampler.Feed(seg.samples.data() + known, static_cast<int64_t>(seg.samples.size()) - known,
                               &runs_[static_cast<size_t>(c)].back().samples);
    }
    RAPID_RETURN_IF_ERROR(CloseChannel(&ch));  // a gap: the next samples start a new segment
    channels_.erase(it);
  }
  auto ch = std::make_unique<Channel>(seg, c, spec_.rate_hz);
  Run run;
  run.start = seg.start;
  RAPID_RETURN_IF_ERROR(
      ch->resampler.Feed(seg.samples.data() + known, static_cast<int64_t>(seg.samples.size()) - known, &run.samples));
  runs_[static_cast<size_t>(c)].push_back(std::move(run));
  channels_[seg.id.channel] = std::move(ch);
  return Status::OK();
}

Status StationStream::Push(std::vector<TraceSegment> segments, std::vector<StationBlock>* pieces,
                           std::vector<std::string>* notes) {
  std::sort(segments.begin(), segments.end(), [](const TraceSegment& a, const TraceSegment& b) {
    return a.id.channel != b.id.channel ? a.id.channel < b.id.channel : a.start < b.start;
  });
  for (TraceSegment& seg : segments) {
    if (seg.samples.empty() || !(seg.rate_hz > 0.0)) continue;
    Status s = AddSegment(std::move(seg), notes);
    if (!s.ok()) return Status::InvalidArgument(trace_id_ + ": " + s.message());
  }
  Sweep(pieces, notes);
  return Status::OK();
}

Status StationStream::Close(std::vector<StationBlock>* pieces, std::vector<std::string>* notes) {
  for (auto& [code, ch] : channels_) {
    Status s = CloseChannel(ch.get());
    if (!s.ok()) return Status::InvalidArgument(trace_id_ + ": " + s.message());
  }
  channels_.clear();
  Sweep(pieces, notes);
  return Status::OK();
}

StationBlock StationStream::CutPiece(int64_t from, int64_t length, int64_t windows, bool last) {
  const double rate = spec_.rate_hz;
  const int64_t channels = spec_.Channels();
  StationBlock b;
  b.trace_id = trace_id_;
  b.rate_hz = rate;
  b.channels = channels;
  b.samples_per_channel = length;
  b.samples.assign(static_cast<size_t>(channels * length), 0.0f);
  b.block_id = block_->id;
  b.piece = block_->pieces++;
  b.last_piece = last;
  b.first_window = block_->next_window;
  b.window_count = windows;
  b.block_start = block_->start;
  b.block_offset = from;
  b.start = SampleTime(block_->start, from, rate);
  for (int c : present_) {
    const Run& run = runs_[static_cast<size_t>(c)].front();
    const int64_t first = block_->first[static_cast<size_t>(c)] + from;
    const int64_t count = std::clamp<int64_t>(run.total() - first, 0, length);
    std::copy_n(run.samples.begin() + (first - run.base), count, b.samples.begin() + c * length);
  }
  return b;
}

void StationStream::DropBefore(int64_t block_sample) {
  for (int c : present_) {
    Run& run = runs_[static_cast<size_t>(c)].front();
    const int64_t keep_from = std::min(run.total(), block_->first[static_cast<size_t>(c)] + block_sample);
    if (keep_from <= run.dropped) continue;
    run.dropped = keep_from;
    if (2 * (run.dropped - run.base) > static_cast<int64_t>(run.samples.size())) {
      run.samples.erase(run.samples.begin(), run.samples.begin() + (run.dropped - run.base));
      run.base = run.dropped;
    }
  }
}

void StationStream::Sweep(std::vector<StationBlock>* pieces, std::vector<std::string>* notes) {
  const double rate = spec_.rate_hz;
  const int64_t in = spec_.in_samples, stride = spec_.StrideSamples();
  while (true) {
    if (!present_decided_) {
      for (int c = 0; c < spec_.Channels(); ++c) {
        if (!runs_[static_cast<size_t>(c)].empty()) present_.push_back(c);
      }
      if (present_.empty()) return;
      present_decided_ = true;
      for (int c = 0; c < spec_.Channels(); ++c) {
        if (runs_[static_cast<size_t>(c)].empty()) {
          notes->push_back(trace_id_ + ": component " + std::string(1, spec_.component_order[static_cast<size_t>(c)]) +
                           " missing, zero-filled");
        }
      }
    }
    for (int c : present_) {
      if (runs_[static_cast<size_t>(c)].empty()) return;  // waits for data (or, when final, none will come)
    }
    // The front run that ends first (ties: the earlier start), as SeisBench orders its queue.
    int first_end = present_.front();
    NanoTime t0 = kUnsetTime;
    for (int c : present_) {
      const Run& r = runs_[static_cast<size_t>(c)].front();
      const Run& best = runs_[static_cast<size_t>(first_end)].front();
      if (r.End(rate) < best.End(rate) || (r.End(rate) == best.End(rate) && r.start < best.start)) first_end = c;
      t0 = t0 == kUnsetTime ? r.start : std::max(t0, r.start);
    }
    const Run& ending = runs_[static_cast<size_t>(first_end)].front();
    if (!block_) {
      if (t0 > ending.End(rate)) {  // no common span with the run that ends first
        if (!ending.closed) return;
        runs_[static_cast<size_t>(first_end)].pop_front();
        continue;
      }
      block_ = std::make_unique<Block>();
      block_->id = next_block_id_++;
      block_->start = t0;
      block_->first.assign(static_cast<size_t>(spec_.Channels()), 0);
      for (int c : present_) {
        block_->first[static_cast<size_t>(c)] =
            std::max<int64_t>(0, RoundAway(Samples(runs_[static_cast<size_t>(c)].front().start, t0, rate)));
      }
    }
    const bool closed = ending.closed;
    // Samples every component has so far; once closed, the trimmed length of the run that ends first.
    int64_t avail = ending.total() - block_->first[static_cast<size_t>(first_end)];
    if (!closed) {
      for (int c : present_) {
        avail = std::min(avail, runs_[static_cast<size_t>(c)].front().total() - block_->first[static_cast<size_t>(c)]);
      }
    }
    while (piece_windows_ > 0 && avail >= (block_->next_window + piece_windows_) * stride + in) {
      const int64_t from = block_->next_window * stride;
      pieces->push_back(CutPiece(from, (piece_windows_ - 1) * stride + in, piece_windows_, false));
      block_->next_window += piece_windows_;
      DropBefore(block_->next_window * stride);
    }
    if (!closed) return;
    if (avail < in) {
      notes->push_back(trace_id_ + ": span " + FormatIsoMicros(t0) + " – " + FormatIsoMicros(ending.End(rate)) +
                       " has " + std::to_string(avail) + " samples, shorter than one window (" + std::to_string(in) +
                       "); not annotated");
    } else {
      const int64_t from = block_->next_window * stride;
      pieces->push_back(CutPiece(from, avail - from, -1, true));
    }
    block_.reset();
    runs_[static_cast<size_t>(first_end)].pop_front();
  }
}

}  // namespace rapid
