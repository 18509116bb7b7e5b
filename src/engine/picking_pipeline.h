// The picking pipeline, long-lived: station data in, picks and probability traces out. It owns
// the middle of every front end — preprocess (one StationStream per stream), windows, cross-station
// batches on the model instances (Annotator), stitching and picking — and nothing of input or
// output: a producer (files for `rapid run`; HTTP bodies and live records next) opens a stream per
// instrument, pushes its data in time order, and closes it; results come back through callbacks.
// Streams are independent: closing one finalises it (its tail is annotated and picked) while the
// others go on, and nothing is kept of a stream once it is done, so the pipeline can run for days.
//
// Lifecycle: construct (instances start waiting for windows) → OpenStream / Push / CloseStream from
// one producer thread, any number of streams at a time → Finish (waits for every submitted window).
// Memory: bounded by AnnotateOptions::queue_capacity_bytes (Push waits for room) plus what each
// open stream holds between parts (engine/station_stream.h).
// Callbacks run on instance threads (or on the producer thread, for a stream closed with nothing
// left in flight), one at a time: they must not call back into the pipeline.
// Thread safety: the producer methods from one thread; stats after Finish.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "engine/annotator.h"
#include "engine/station_stream.h"
#include "io/trace.h"
#include "picking/picker.h"
#include "picking/window_peak.h"

namespace rapid {

// What one block of a stream gave, delivered once its last piece is picked (its times are final:
// they include the block's time shift, StationBlock::time_shift_ns).
struct BlockOutput {
  uint64_t stream = 0;
  std::string trace_id;                              // "NET.STA.LOC"
  std::vector<Pick> picks;                           // the model's phase labels
  std::vector<Pick> detections;                      // triggers of the detection label, if any
  std::vector<std::pair<size_t, Annotation>> traces;  // keep_traces: the pieces, with submission numbers
  // Blocks of independent windows (StationBlock::window_times): every window, in order, with its
  // picks (also in `picks`), so that windows without a pick are known too.
  std::vector<WindowPicks> windows;
};

// SeisBench's threshold for a label neither the model nor its weights name.
constexpr double kDefaultThreshold = 0.3;

// A label's threshold: `overrides` (flags, query parameters), else the model's, else
// kDefaultThreshold.
double LabelThreshold(const std::string& label, const std::map<std::string, double>& overrides, const ModelSpec& spec);

// What a piece of a continuous block settled (PipelineOptions::on_final_picks). Times include the
// piece's time shift (the block's, unless a later segment changes it).
struct FinalPicks {
  // Every pick and detection whose trigger this piece closed.
  std::vector<Pick> picks, detections;
  // The data the picks waited for: the piece's StationBlock::data_until.
  NanoTime data_until = kUnsetTime;
  // Every pick of the stream starting before this has been delivered, and no trigger is open at it
  // (PickStream::settled_index over the phase labels): a stream restarted on the same data with
  // OpenStream(settled_until) gives exactly the picks from here on.
  NanoTime settled_until = kUnsetTime;
  // The block's window grid: windows start at windows_start + k·StrideSamples() samples at the
  // model rate. A stream fed the same data from one of these starts computes the same windows.
  NanoTime windows_start = kUnsetTime;
};

struct PipelineOptions {
  AnnotateOptions annotate;
  int64_t piece_windows = 0;  // windows per block piece; 0: StationStream::DefaultPieceWindows
  ResamplePieces resample;    // how channels at another rate are resampled (StationStream)
  bool keep_traces = false;   // deliver the probability traces in BlockOutput::traces
  // Label → threshold, over the model's (--p-threshold, --s-threshold; LabelThreshold).
  std::map<std::string, double> thresholds;
  // Picks as soon as they are final (a live stream's blocks may never end): when set, it is
  // called after every piece of a continuous block is picked (FinalPicks), and BlockOutput's picks
  // and detections stay empty. Called like the other callbacks.
  std::function<void(uint64_t stream, FinalPicks&& final_picks)> on_final_picks;
  // Windows of cancelled streams left unrun (CancelStream), reported as they leave: those queued
  // at the cancel, on the canceller's thread, and those of pieces pushed later, on the pusher's.
  std::function<void(int64_t windows)> on_windows_cancelled;
};

class PickingPipeline {
 public:
  using BlockFn = std::function<void(BlockOutput&&)>;
  // A window of a block piece failed in the model even alone (its outputs are missing): the
  // stream, the station and the message naming the window's time and the reason.
  using FailureFn = std::function<void(uint64_t stream, const std::string& trace_id, const std::string& message)>;
  // Every block of a closed stream has been delivered.
  using StreamDoneFn = std::function<void(uint64_t stream)>;

  // `instances` are borrowed (one model, each used by one thread) and must outlive this.
  PickingPipeline(const std::vector<Model*>& instances, const PipelineOptions& opts, BlockFn on_block,
                  FailureFn on_failure, StreamDoneFn on_stream_done);
  ~PickingPipeline();  // Finish() if it was not called
  PickingPipeline(const PickingPipeline&) = delete;
  PickingPipeline& operator=(const PickingPipeline&) = delete;

  // A new stream (one instrument's data); ids are distinct for the pipeline's life. Its picks and
  // detections all start at or after `picks_from` (kUnsetTime: no bound): the probabilities before
  // it are not picked, so a trigger is looked for from there as at the start of a trace (a live
  // stream restarted where an earlier run's picks were settled, FinalPicks::settled_until).
  uint64_t OpenStream(NanoTime picks_from = kUnsetTime);
  // The stream's next data (engine/station_stream.h Push). Notes of dropped or filled data go to
  // *notes. InvalidArgument when resampling fails (the stream stays usable).
  Status Push(uint64_t stream, std::vector<TraceSegment> segments, std::vector<std::string>* notes);
  // Blocks the producer built itself (independent windows, engine/eqcctpro_windows.h), pieces in
  // order; their block ids are replaced by ids of the stream (a piece's id is that of its block's
  // first piece as given).
  void PushBlocks(uint64_t stream, std::vector<StationBlock> pieces);
  // No more data for the stream: its remaining blocks are submitted; on_stream_done follows once
  // they are delivered. The stream id is not usable afterwards.
  Status CloseStream(uint64_t stream, std::vector<std::string>* notes);
  // The stream's windows are not run from now on: those queued leave the queue (Annotator::Cancel),
  // and those of pieces pushed afterwards, by a Push or CloseStream in progress or later, are
  // skipped as they come (Annotator::SubmitUnrun); windows already in a batch run. Every block is
  // still delivered, with the reason as its failure, and on_stream_done still follows the close.
  // For a caller that no longer wants the stream's results (a request past its deadline); the
  // windows dropped go to PipelineOptions::on_windows_cancelled. Thread-safe; any time before the
  // stream is done (afterwards it has nothing left to drop).
  void CancelStream(uint64_t stream, const std::string& reason);
  // A stop was requested and a block was refused: the producer should stop feeding.
  bool stopped() const { return stopped_; }
  // No more streams: waits for every submitted window (after a stop: for the batches running).
  void Finish();

  int64_t windows_done() const { return annotator_.windows_done(); }
  const ModelSpec& spec() const { return annotator_.spec(); }
  int64_t piece_windows() const { return piece_windows_; }
  const AnnotateStats& stats() const { return annotator_.stats(); }  // after Finish
  double pick_s() const { return pick_s_; }                          // after Finish
  double annotated_station_s() const { return annotated_station_s_; }  // after Finish

 private:
  struct Stream {
    std::unique_ptr<StationStream> preprocess;
    int64_t blocks_submitted = 0, blocks_done = 0;
    uint64_t own_blocks = 0;  // blocks given by PushBlocks
    NanoTime picks_from = kUnsetTime;
    bool closed = false;
    std::string cancelled;  // CancelStream's reason: later pieces are submitted unrun
  };
  struct BlockPicking {  // a block's picks wait for its last piece, which carries the time shift
    std::vector<PickStream> pickers;  // one per label
    std::vector<NanoTime> window_times;  // independent windows: the start of each, in block order
    BlockOutput output;
  };

  void Submit(uint64_t stream, std::vector<StationBlock>* pieces);
  std::string CancelReason(uint64_t stream);  // empty: not cancelled
  void OnPiece(size_t number, Annotation&& a);  // the Annotator's on_done
  void PickPiece(const Annotation& a, NanoTime picks_from, BlockPicking* bp);
  void DeliverFinal(uint64_t stream, const Annotation& a, BlockPicking* bp);  // REQUIRES: mu_ held
  void PickWindows(const Annotation& a, BlockPicking* bp);
  bool StreamFinished(uint64_t stream);  // REQUIRES: mu_ held; erases it and says so when done

  const PipelineOptions opts_;
  int64_t piece_windows_ = 0;
  BlockFn on_block_;
  FailureFn on_failure_;
  StreamDoneFn on_stream_done_;
  uint64_t next_stream_ = 0;
  bool stopped_ = false;
  std::mutex mu_;  // guards streams_, blocks_ and the counters below; held while calling back
  std::map<uint64_t, Stream> streams_;
  std::map<uint64_t, BlockPicking> blocks_;  // by block id, until its last piece
  double pick_s_ = 0.0;
  double annotated_station_s_ = 0.0;
  Annotator annotator_;  // last: its threads call OnPiece, which uses the members above
};

}  // namespace rapid
