#include "engine/station_stream.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "dsp/fft.h"
#include "dsp/resample.h"

namespace rapid {

namespace {

constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

// ObsPy's round-half-away-from-zero, used when dropping the overlap of consecutive chunks.
int64_t RoundAway(double x) { return static_cast<int64_t>(x < 0 ? -std::floor(-x + 0.5) : std::floor(x + 0.5)); }

double Samples(NanoTime from, NanoTime to, double rate_hz) {
  return static_cast<double>(to - from) * rate_hz / static_cast<double>(kNanosPerSecond);
}

void AddNoteOnce(const std::string& note, std::vector<std::string>* notes) {
  if (std::find(notes->begin(), notes->end(), note) == notes->end()) notes->push_back(note);
}

}  // namespace

int64_t AlignedGridIndex(NanoTime t, double rate_hz) {
  // The same double operations as NumPy on ObsPy's timestamp (ns / 1e9); nearbyint rounds half
  // to even in the default rounding mode, as np.round does.
  return static_cast<int64_t>(std::nearbyint(static_cast<double>(t) / 1e9 * rate_hz));
}

NanoTime GridTime(int64_t k, double rate_hz) {
  const double step_ns = 1e9 / rate_hz;
  if (step_ns == std::floor(step_ns)) return k * static_cast<int64_t>(step_ns);
  return static_cast<NanoTime>(std::llround(static_cast<long double>(k) * 1e9L / static_cast<long double>(rate_hz)));
}

struct StationStream::Run {
  int64_t k0 = 0;          // grid index of sample 0
  NanoTime shift_ns = 0;   // segment start − GridTime(k0)
  // Samples [base, total()), of which those before `dropped` are no longer needed: they are
  // erased only once they outnumber the rest, so cutting pieces does not copy the run each time.
  std::vector<float> samples;
  int64_t base = 0;
  int64_t dropped = 0;
  bool closed = false;

  int64_t total() const { return base + static_cast<int64_t>(samples.size()); }
  int64_t end_k() const { return k0 + total(); }  // one past the last grid index produced so far
};

struct StationStream::Channel {
  Channel(const TraceSegment& seg, int c, double target_hz, ResamplePieces pieces)
      : rate_hz(seg.rate_hz), component(c), start(seg.start), resampler(seg.rate_hz, target_hz, pieces) {}
  double rate_hz;
  int component;
  NanoTime start;  // of the current segment
  ResampleStream resampler;

  NanoTime NextSampleTime() const { return SampleTime(start, resampler.appended(), rate_hz); }
};

struct StationStream::Block {
  uint64_t id = 0;
  int64_t start_k = 0;         // grid index of block sample 0
  int64_t last_k = 0;          // last grid index some joined run covers so far
  std::vector<size_t> joined;  // by component: runs_[c][0, joined[c]) belong to this block
  int64_t next_window = 0;     // grid index of the next piece's first window
  int64_t pieces = 0;
};

int64_t StationStream::DefaultPieceWindows(const ModelSpec& spec) {
  return std::max<int64_t>(4, 200000 / std::max<int64_t>(1, spec.StrideSamples()));
}

StationStream::StationStream(const ModelSpec& spec, int64_t piece_windows, uint64_t first_block_id,
                             ResamplePieces resample)
    : spec_(spec),
      piece_windows_(piece_windows),
      resample_(resample),
      next_block_id_(first_block_id),
      runs_(static_cast<size_t>(spec.Channels())),
      feeding_channel_(static_cast<size_t>(spec.Channels())) {}

StationStream::~StationStream() = default;

int64_t StationStream::PreprocessBytesBound(const ModelSpec& spec, double rate_hz, int64_t max_channel_samples,
                                            const ResamplePieces& resample) {
  const int64_t bytes = ResampleBytesBound(spec, rate_hz, max_channel_samples, resample);
  return bytes == 0 ? 0 : bytes + kFftPlanCacheBytes;
}

int64_t StationStream::ResampleBytesBound(const ModelSpec& spec, double rate_hz, int64_t max_channel_samples,
                                          const ResamplePieces& resample) {
  if (ChooseResampleMethod(rate_hz, spec.rate_hz) != ResampleMethod::kFourier) return 0;
  const int64_t n = std::min(resample.WholeMaxInputSamples(rate_hz, spec.rate_hz), max_channel_samples);
  if (n <= 0) return 0;
  const int64_t n_out = FourierResampledLength(n, rate_hz, spec.rate_hz);
  const int64_t channels = spec.Channels();
  return channels * (static_cast<int64_t>(sizeof(double)) * n + static_cast<int64_t>(sizeof(float)) * n_out) +
         FourierResampleBytesBound(n, n_out);
}

int64_t StationStream::HeldSamples() const {
  int64_t n = 0;
  for (const auto& [code, ch] : channels_) n += ch->resampler.buffered();
  for (const auto& runs : runs_) {
    for (const Run& r : runs) n += static_cast<int64_t>(r.samples.size());
  }
  return n;
}

Status StationStream::CloseChannel(Channel* ch) {
  auto& runs = runs_[static_cast<size_t>(ch->component)];
  RAPID_RETURN_IF_ERROR(ch->resampler.Drain(true, &runs.back().samples));
  runs.back().closed = true;
  // A segment too short to give one model-rate sample covers nothing.
  if (runs.back().total() == 0 && !(block_ && runs.size() <= block_->joined[static_cast<size_t>(ch->component)])) {
    runs.pop_back();
  }
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
  std::string& feeder = feeding_channel_[static_cast<size_t>(c)];
  if (feeder.empty()) feeder = seg.id.channel;
  if (feeder != seg.id.channel) {
    AddNoteOnce("ignored channel " + seg.id.ToString() + " (component already read from " + feeder + ")", notes);
    return Status::OK();
  }
  const int64_t n = static_cast<int64_t>(seg.samples.size());
  int64_t known = 0;  // leading samples of `seg` not to be used
  auto it = channels_.find(seg.id.channel);
  if (it != channels_.end()) {
    Channel& ch = *it->second;
    const NanoTime expected = ch.NextSampleTime();
    // Drop what this channel already delivered (the overlap of consecutive chunks).
    known = std::clamp<int64_t>(RoundAway(Samples(seg.start, expected, seg.rate_hz)), 0, n);
    if (known == n) return Status::OK();
    seg.start = seg.SampleTimeAt(known);
    const bool same_rate = std::abs(1.0 - seg.rate_hz / ch.rate_hz) <= 1e-4;
    if (same_rate && std::abs(Samples(expected, seg.start, ch.rate_hz)) <= 0.5) {
      return ch.resampler.Feed(&seg.samples, known, &runs_[static_cast<size_t>(c)].back().samples);
    }
    RAPID_RETURN_IF_ERROR(CloseChannel(&ch));  // a gap: the next samples start a new segment
    channels_.erase(it);
  }
  if (settled_ != kUnsetTime && seg.start < settled_) {
    // Data older than an earlier part's earliest sample: that span may already be annotated.
    const int64_t late = std::clamp<int64_t>(
        static_cast<int64_t>(std::ceil(Samples(seg.start, settled_, seg.rate_hz) - 1e-9)), 0, n - known);
    if (late > 0) {
      notes->push_back(seg.id.ToString() + ": " + std::to_string(late) + " samples from " +
                       FormatIsoMicros(seg.start) + " arrived after later data; dropped");
      known += late;
      if (known == n) return Status::OK();
      seg.start = seg.SampleTimeAt(late);
    }
  }
  auto ch = std::make_unique<Channel>(seg, c, spec_.rate_hz, resample_);
  Run run;
  run.k0 = AlignedGridIndex(seg.start, spec_.rate_hz);
  run.shift_ns = seg.start - GridTime(run.k0, spec_.rate_hz);
  RAPID_RETURN_IF_ERROR(ch->resampler.Feed(&seg.samples, known, &run.samples));
  runs_[static_cast<size_t>(c)].push_back(std::move(run));
  channels_[seg.id.channel] = std::move(ch);
  return Status::OK();
}

Status StationStream::Push(std::vector<TraceSegment> segments, std::vector<StationBlock>* pieces,
                           std::vector<std::string>* notes) {
  std::sort(segments.begin(), segments.end(), [](const TraceSegment& a, const TraceSegment& b) {
    return a.id.channel != b.id.channel ? a.id.channel < b.id.channel : a.start < b.start;
  });
  NanoTime earliest = kUnsetTime;
  for (TraceSegment& seg : segments) {
    if (seg.samples.empty() || !(seg.rate_hz > 0.0)) continue;
    earliest = earliest == kUnsetTime ? seg.start : std::min(earliest, seg.start);
    Status s = AddSegment(std::move(seg), notes);
    if (!s.ok()) return Status::InvalidArgument(trace_id_ + ": " + s.message());
  }
  if (earliest != kUnsetTime) {
    // Later parts bring nothing before `earliest`: a channel whose next sample would lie before it
    // cannot continue, so its segment ends here.
    for (auto it = channels_.begin(); it != channels_.end();) {
      Channel& ch = *it->second;
      if (Samples(ch.NextSampleTime(), earliest, ch.rate_hz) > 0.5) {
        Status s = CloseChannel(&ch);
        if (!s.ok()) return Status::InvalidArgument(trace_id_ + ": " + s.message());
        it = channels_.erase(it);
      } else {
        ++it;
      }
    }
    settled_ = settled_ == kUnsetTime ? earliest : std::max(settled_, earliest);
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
  closed_ = true;
  Sweep(pieces, notes);
  return Status::OK();
}

int64_t StationStream::KnownUntil() const {
  if (closed_) return kNever;
  // Every later run starts at or after the grid index of a time >= settled_.
  const int64_t settled = settled_ == kUnsetTime
                              ? std::numeric_limits<int64_t>::min()
                              : static_cast<int64_t>(std::floor(static_cast<double>(settled_) / 1e9 * spec_.rate_hz));
  int64_t known = kNever;
  for (const auto& runs : runs_) {
    const bool open = !runs.empty() && !runs.back().closed;
    known = std::min(known, open ? runs.back().end_k() : settled);
  }
  return known;
}

int64_t StationStream::JoinRuns() {
  int64_t last = block_->last_k;
  for (bool grew = true; grew;) {
    grew = false;
    for (size_t c = 0; c < runs_.size(); ++c) {
      const auto& runs = runs_[c];
      size_t& j = block_->joined[c];
      if (j > 0) last = std::max(last, runs[j - 1].end_k() - 1);  // only the newest can still grow
      while (j < runs.size() && runs[j].k0 <= last) {
        last = std::max(last, runs[j].end_k() - 1);
        ++j;
        grew = true;
      }
    }
  }
  block_->last_k = last;
  return last;
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
  b.block_start = GridTime(block_->start_k, rate);
  b.block_offset = from;
  b.start = SampleTime(b.block_start, from, rate);
  b.time_shift_ns = MeanShiftNs();
  b.data_until = GridTime(block_->start_k + (last ? from + length : from + windows * spec_.StrideSamples() + spec_.in_samples), rate);
  const int64_t lo = block_->start_k + from, hi = lo + length;
  for (size_t c = 0; c < runs_.size(); ++c) {
    for (size_t j = 0; j < block_->joined[c]; ++j) {
      const Run& run = runs_[c][j];
      const int64_t a = std::max(lo, run.k0), e = std::min(hi, run.end_k());
      if (a >= e) continue;
      std::copy_n(run.samples.begin() + (a - run.k0 - run.base), e - a,
                  b.samples.begin() + static_cast<int64_t>(c) * length + (a - lo));
    }
  }
  return b;
}

void StationStream::DropBefore(int64_t block_sample) {
  for (size_t c = 0; c < runs_.size(); ++c) {
    for (size_t j = 0; j < block_->joined[c]; ++j) {
      Run& run = runs_[c][j];
      const int64_t keep_from = std::clamp<int64_t>(block_->start_k + block_sample - run.k0, 0, run.total());
      if (keep_from <= run.dropped) continue;
      run.dropped = keep_from;
      if (2 * (run.dropped - run.base) > static_cast<int64_t>(run.samples.size())) {
        run.samples.erase(run.samples.begin(), run.samples.begin() + (run.dropped - run.base));
        run.base = run.dropped;
      }
    }
  }
}

NanoTime StationStream::MeanShiftNs() const {
  int64_t shift_sum_ns = 0, segments = 0;
  for (size_t c = 0; c < runs_.size(); ++c) {
    for (size_t j = 0; j < block_->joined[c]; ++j) {
      shift_sum_ns += runs_[c][j].shift_ns;
      segments += 1;
    }
  }
  return segments == 0 ? 0 : std::llround(static_cast<double>(shift_sum_ns) / static_cast<double>(segments));
}

void StationStream::FinishBlock(std::vector<StationBlock>* pieces, std::vector<std::string>* notes) {
  const double rate = spec_.rate_hz;
  const int64_t length = block_->last_k + 1 - block_->start_k;
  for (size_t c = 0; c < runs_.size(); ++c) {
    if (block_->joined[c] == 0) {
      AddNoteOnce(trace_id_ + ": component " + std::string(1, spec_.component_order[c]) + " missing, zero-filled",
                  notes);
    }
  }
  if (length < spec_.in_samples) {
    notes->push_back(trace_id_ + ": span " + FormatIsoMicros(GridTime(block_->start_k, rate)) + " – " +
                     FormatIsoMicros(GridTime(block_->last_k, rate)) + " has " + std::to_string(length) +
                     " samples, shorter than one window (" + std::to_string(spec_.in_samples) + "); not annotated");
  } else {
    const int64_t from = block_->next_window * spec_.StrideSamples();
    pieces->push_back(CutPiece(from, length - from, kWindowsToTheEnd, true));
  }
  for (size_t c = 0; c < runs_.size(); ++c) {
    runs_[c].erase(runs_[c].begin(), runs_[c].begin() + static_cast<std::ptrdiff_t>(block_->joined[c]));
  }
  block_.reset();
}

void StationStream::Sweep(std::vector<StationBlock>* pieces, std::vector<std::string>* notes) {
  const int64_t in = spec_.in_samples, stride = spec_.StrideSamples();
  while (true) {
    const int64_t known = KnownUntil();
    if (!block_) {
      int64_t first = kNever;
      for (const auto& runs : runs_) {
        if (!runs.empty()) first = std::min(first, runs.front().k0);
      }
      if (first == kNever || first >= known) return;  // an earlier run may still arrive
      block_ = std::make_unique<Block>();
      block_->id = next_block_id_++;
      block_->start_k = first;
      block_->last_k = first;
      block_->joined.assign(runs_.size(), 0);
    }
    const int64_t last = JoinRuns();
    const int64_t avail = std::min(known, last + 1) - block_->start_k;  // samples final so far
    while (piece_windows_ > 0 && avail >= (block_->next_window + piece_windows_) * stride + in) {
      const int64_t from = block_->next_window * stride;
      pieces->push_back(CutPiece(from, (piece_windows_ - 1) * stride + in, piece_windows_, false));
      block_->next_window += piece_windows_;
      DropBefore(block_->next_window * stride);
    }
    // The block ends once nothing can join it any more: every joined run has ended and every
    // component is known past its last sample.
    bool ended = known > last;
    for (size_t c = 0; c < runs_.size() && ended; ++c) {
      for (size_t j = 0; j < block_->joined[c]; ++j) ended = ended && runs_[c][j].closed;
    }
    if (!ended) return;
    FinishBlock(pieces, notes);
  }
}

}  // namespace rapid
