#include "engine/picking_pipeline.h"

#include <chrono>

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

uint64_t PickingPipeline::OpenStream() {
  const uint64_t id = next_stream_++;
  auto preprocess = std::make_unique<StationStream>(annotator_.spec(), piece_windows_, id << kStreamShift);
  std::lock_guard<std::mutex> lock(mu_);
  streams_[id].preprocess = std::move(preprocess);
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

void PickingPipeline::Submit(uint64_t stream, std::vector<StationBlock>* pieces) {
  for (StationBlock& b : *pieces) {
    if (b.last_piece) {  // counted before the annotator can deliver it
      std::lock_guard<std::mutex> lock(mu_);
      streams_.at(stream).blocks_submitted += 1;
    }
    if (!annotator_.Submit(std::move(b))) stopped_ = true;
  }
  pieces->clear();
}

bool PickingPipeline::StreamFinished(uint64_t stream) {
  auto it = streams_.find(stream);
  if (!it->second.closed || it->second.blocks_done < it->second.blocks_submitted) return false;
  streams_.erase(it);
  return true;
}

void PickingPipeline::PickPiece(const Annotation& a, BlockPicking* bp) {
  const ModelSpec& spec = annotator_.spec();
  if (bp->pickers.empty()) {
    for (const std::string& label : spec.labels) {
      auto th = spec.thresholds.find(label);
      bp->pickers.emplace_back(a.trace_id, label, a.block_start, a.rate_hz,
                               th == spec.thresholds.end() ? opts_.default_threshold : th->second);
    }
  }
  for (size_t l = 0; l < spec.labels.size(); ++l) {
    if (spec.labels[l] == spec.noise_label) continue;
    std::vector<Pick>* out = spec.labels[l] == spec.detection_label ? &bp->output.detections : &bp->output.picks;
    bp->pickers[l].Feed(a.traces[l].data(), static_cast<int64_t>(a.traces[l].size()), a.offset, out);
    if (a.last_piece) bp->pickers[l].Close(out);
  }
}

void PickingPipeline::OnPiece(size_t number, Annotation&& a) {
  const auto t0 = Clock::now();
  const uint64_t stream = StreamOfBlock(a.block_id);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = blocks_.try_emplace(a.block_id).first;
  BlockPicking& bp = it->second;
  PickPiece(a, &bp);
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
