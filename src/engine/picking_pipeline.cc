#include "engine/picking_pipeline.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

namespace rapid {

namespace {

using Clock = std::chrono::steady_clock;

// Block ids carry their stream in the high 32 bits, so a piece finds its stream.
constexpr int kStreamShift = 32;
uint64_t StreamOfBlock(uint64_t block_id) { return block_id >> kStreamShift; }

void ShiftPickTimes(NanoTime shift_ns, std::vector<Pick>* picks) {
  for (Pick& p : *picks) {
    p.start_time += shift_ns;
    p.peak_time += shift_ns;
    p.end_time += shift_ns;
  }
}

}  // namespace

double LabelThreshold(const std::string& label, const std::map<std::string, double>& overrides, const ModelSpec& spec) {
  if (auto it = overrides.find(label); it != overrides.end()) return it->second;
  if (auto it = spec.thresholds.find(label); it != spec.thresholds.end()) return it->second;
  return kDefaultThreshold;
}

PickingPipeline::PickingPipeline(const std::vector<Model*>& instances, const PipelineOptions& opts, BlockFn on_block,
                                 FailureFn on_failure, StreamDoneFn on_stream_done)
    : opts_(opts),
      on_block_(std::move(on_block)),
      on_failure_(std::move(on_failure)),
      on_stream_done_(std::move(on_stream_done)),
      annotator_(instances, opts.annotate, [this](size_t number, Annotation&& a) { OnPiece(number, std::move(a)); }) {
  piece_windows_ = opts_.piece_windows > 0 ? opts_.piece_windows : StationStream::DefaultPieceWindows(annotator_.spec());
}

PickingPipeline::~PickingPipeline() { Finish(); }

uint64_t PickingPipeline::OpenStream(NanoTime picks_from) {
  const uint64_t id = next_stream_++;
  auto preprocess = std::make_unique<StationStream>(annotator_.spec(), piece_windows_, id << kStreamShift, opts_.resample);
  std::lock_guard<std::mutex> lock(mu_);
  streams_[id].preprocess = std::move(preprocess);
  streams_[id].picks_from = picks_from;
  return id;
}

Status PickingPipeline::Push(uint64_t stream, std::vector<TraceSegment> segments, std::vector<std::string>* notes) {
  StationStream* preprocess = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    preprocess = streams_.at(stream).preprocess.get();
  }
  std::vector<StationBlock> pieces;
  Status s = preprocess->Push(std::move(segments), &pieces, notes);
  Submit(stream, &pieces);
  return s;
}

void PickingPipeline::PushBlocks(uint64_t stream, std::vector<StationBlock> pieces) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    Stream& s = streams_.at(stream);
    // Above the StationStream's ids of this stream, which count up from stream << kStreamShift.
    const uint64_t base = (stream << kStreamShift) | (uint64_t{1} << (kStreamShift - 1));
    std::map<uint64_t, uint64_t> renamed;
    for (StationBlock& b : pieces) {
      auto [it, fresh] = renamed.try_emplace(b.block_id, base + s.own_blocks);
      if (fresh) s.own_blocks += 1;
      b.block_id = it->second;
    }
  }
  Submit(stream, &pieces);
}

Status PickingPipeline::CloseStream(uint64_t stream, std::vector<std::string>* notes) {
  std::unique_ptr<StationStream> preprocess;
  {
    std::lock_guard<std::mutex> lock(mu_);
    preprocess = std::move(streams_.at(stream).preprocess);
  }
  std::vector<StationBlock> pieces;
  Status s = preprocess->Close(&pieces, notes);
  preprocess.reset();  // what it held between parts is no longer needed
  Submit(stream, &pieces);
  std::lock_guard<std::mutex> lock(mu_);
  streams_.at(stream).closed = true;
  if (StreamFinished(stream)) on_stream_done_(stream);
  return s;
}

std::string PickingPipeline::CancelReason(uint64_t stream) {
  std::lock_guard<std::mutex> lock(mu_);
  return streams_.at(stream).cancelled;
}

void PickingPipeline::Submit(uint64_t stream, std::vector<StationBlock>* pieces) {
  int64_t unrun = 0;
  for (StationBlock& b : *pieces) {
    if (b.last_piece || !b.window_times.empty()) {  // before the annotator can deliver it
      std::lock_guard<std::mutex> lock(mu_);
      if (b.last_piece) streams_.at(stream).blocks_submitted += 1;
      std::vector<NanoTime>& times = blocks_[b.block_id].window_times;
      times.insert(times.end(), b.window_times.begin(), b.window_times.end());
    }
    if (const std::string reason = CancelReason(stream); !reason.empty()) {
      unrun += annotator_.SubmitUnrun(std::move(b), reason);
      continue;
    }
    const uint64_t block_id = b.block_id;
    if (!annotator_.Submit(std::move(b))) stopped_ = true;
    // A cancel between the look at the reason and the queueing did not see this piece.
    if (const std::string reason = CancelReason(stream); !reason.empty()) {
      unrun += annotator_.Cancel([block_id](uint64_t id) { return id == block_id; }, reason);
    }
  }
  pieces->clear();
  if (unrun > 0 && opts_.on_windows_cancelled) opts_.on_windows_cancelled(unrun);
}

void PickingPipeline::CancelStream(uint64_t stream, const std::string& reason) {
  const std::string why = reason.empty() ? "cancelled" : reason;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = streams_.find(stream); it != streams_.end()) it->second.cancelled = why;
  }
  const int64_t dropped =
      annotator_.Cancel([stream](uint64_t block_id) { return StreamOfBlock(block_id) == stream; }, why);
  if (dropped > 0 && opts_.on_windows_cancelled) opts_.on_windows_cancelled(dropped);
}

bool PickingPipeline::StreamFinished(uint64_t stream) {
  auto it = streams_.find(stream);
  if (!it->second.closed || it->second.blocks_done < it->second.blocks_submitted) return false;
  streams_.erase(it);
  return true;
}

void PickingPipeline::PickWindows(const Annotation& a, BlockPicking* bp) {
  const ModelSpec& spec = annotator_.spec();
  const int64_t in = spec.in_samples;
  const int64_t first = a.offset / in;
  const int64_t count = a.traces.empty() ? 0 : static_cast<int64_t>(a.traces.front().size()) / in;
  for (int64_t j = 0; j < count; ++j) {
    WindowPicks row;
    row.start = bp->window_times.at(static_cast<size_t>(first + j));
    for (size_t l = 0; l < spec.labels.size(); ++l) {
      if (spec.labels[l] == spec.noise_label || spec.labels[l] == spec.detection_label) continue;
      const WindowPeak peak = PickWindowPeak(a.traces[l].data() + j * in, in, LabelThreshold(spec.labels[l], opts_.thresholds, spec));
      if (peak.index < 0) continue;
      Pick p;
      p.trace_id = a.trace_id;
      p.phase = spec.labels[l];
      p.peak_time = SampleTime(row.start, peak.index, a.rate_hz);
      p.start_time = p.end_time = p.peak_time;
      p.peak_value = peak.value;
      row.picks.push_back(p);
      bp->output.picks.push_back(std::move(p));
    }
    bp->output.windows.push_back(std::move(row));
  }
}

namespace {

// How many leading samples of a piece's traces lie before `picks_from` (0 when it is unset).
int64_t SamplesBefore(const Annotation& a, NanoTime picks_from, int64_t n) {
  if (picks_from == kUnsetTime || n == 0) return 0;
  const double x = static_cast<double>(picks_from - a.time_shift_ns - a.block_start) * a.rate_hz / 1e9 -
                   static_cast<double>(a.offset);
  return std::clamp<int64_t>(static_cast<int64_t>(std::ceil(x - 0.5)), 0, n);
}

}  // namespace

void PickingPipeline::PickPiece(const Annotation& a, NanoTime picks_from, BlockPicking* bp) {
  if (!bp->window_times.empty()) {
    PickWindows(a, bp);
    return;
  }
  const ModelSpec& spec = annotator_.spec();
  if (bp->pickers.empty()) {
    for (const std::string& label : spec.labels) {
      bp->pickers.emplace_back(a.trace_id, label, a.block_start, a.rate_hz, LabelThreshold(label, opts_.thresholds, spec));
    }
  }
  std::vector<float> masked;  // a trace whose samples before picks_from are NaN (never picked)
  for (size_t l = 0; l < spec.labels.size(); ++l) {
    if (spec.labels[l] == spec.noise_label) continue;
    std::vector<Pick>* out = spec.labels[l] == spec.detection_label ? &bp->output.detections : &bp->output.picks;
    const int64_t n = static_cast<int64_t>(a.traces[l].size());
    const float* trace = a.traces[l].data();
    if (const int64_t before = SamplesBefore(a, picks_from, n); before > 0) {
      masked.assign(a.traces[l].begin(), a.traces[l].end());
      std::fill_n(masked.begin(), before, std::numeric_limits<float>::quiet_NaN());
      trace = masked.data();
    }
    bp->pickers[l].Feed(trace, n, a.offset, out);
    if (a.last_piece) bp->pickers[l].Close(out);
  }
}

void PickingPipeline::DeliverFinal(uint64_t stream, const Annotation& a, BlockPicking* bp) {
  const ModelSpec& spec = annotator_.spec();
  FinalPicks f;
  f.picks = std::move(bp->output.picks);
  f.detections = std::move(bp->output.detections);
  bp->output.picks.clear();
  bp->output.detections.clear();
  ShiftPickTimes(a.time_shift_ns, &f.picks);
  ShiftPickTimes(a.time_shift_ns, &f.detections);
  f.data_until = a.data_until + a.time_shift_ns;
  f.windows_start = a.windows_start + a.time_shift_ns;
  int64_t settled = a.offset + (a.traces.empty() ? 0 : static_cast<int64_t>(a.traces.front().size()));
  for (size_t l = 0; l < bp->pickers.size(); ++l) {
    if (spec.labels[l] != spec.noise_label && spec.labels[l] != spec.detection_label) {
      settled = std::min(settled, bp->pickers[l].settled_index());
    }
  }
  f.settled_until = SampleTime(a.block_start, settled, a.rate_hz) + a.time_shift_ns;
  opts_.on_final_picks(stream, std::move(f));
}

void PickingPipeline::OnPiece(size_t number, Annotation&& a) {
  const auto t0 = Clock::now();
  const uint64_t stream = StreamOfBlock(a.block_id);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = blocks_.try_emplace(a.block_id).first;
  BlockPicking& bp = it->second;
  PickPiece(a, streams_.at(stream).picks_from, &bp);
  if (opts_.on_final_picks && bp.window_times.empty()) DeliverFinal(stream, a, &bp);
  if (!a.failure.empty()) {
    on_failure_(stream, a.trace_id, "model failed on a window from " + FormatIsoMicros(a.start) + ": " + a.failure);
  }
  if (!a.traces.empty() && a.rate_hz > 0) {
    annotated_station_s_ += static_cast<double>(a.traces.front().size()) / a.rate_hz;
  }
  const bool last = a.last_piece;
  const NanoTime shift_ns = a.time_shift_ns;
  std::string trace_id = a.trace_id;
  if (opts_.keep_traces) bp.output.traces.emplace_back(number, std::move(a));
  if (last) {
    BlockOutput out = std::move(bp.output);
    blocks_.erase(it);
    out.stream = stream;
    out.trace_id = std::move(trace_id);
    ShiftPickTimes(shift_ns, &out.picks);
    ShiftPickTimes(shift_ns, &out.detections);
    for (auto& [n, trace] : out.traces) {
      trace.start += shift_ns;
      trace.block_start += shift_ns;
    }
    on_block_(std::move(out));
    streams_.at(stream).blocks_done += 1;
    if (StreamFinished(stream)) on_stream_done_(stream);
  }
  pick_s_ += std::chrono::duration<double>(Clock::now() - t0).count();
}

void PickingPipeline::Finish() { annotator_.Finish(); }

}  // namespace rapid
