// One model served by `rapid serve`: its instances, its long-lived picking pipeline (shared by
// every request, so windows of all requests in flight share batches: dynamic batching with the
// pipeline's max batch delay), and the feeder thread that is the pipeline's one producer.
//
// A request is the decoded miniSEED of one HTTP body. Submit admits it or refuses it at once:
//  - 429 when the windows already queued plus the request's would pass max_queue_windows (a
//    request larger than the limit alone is admitted when nothing is queued, so it can run);
//  - 503 while draining.
// Admitted requests wait in a FIFO for the feeder, which keeps only a few batches' worth of windows
// (feed_ahead) in the pipeline beyond those being computed — enough to batch across requests — so
// the rest wait here, in order; one still waiting at its deadline is answered 504 and never fed
// (its windows are never computed). A request already fed is answered 504 at its deadline too:
// its windows still queued in the pipeline leave it unrun, as do those of the instrument being fed
// (PickingPipeline::CancelStream), its instruments not yet fed are not fed, and only windows
// already in a running batch finish.
// Picks are made per request from the probability traces with the request's thresholds by the
// same picker `rapid run` uses, so they equal `rapid run`'s on the same data at the same batch size.
// Thread safety: Submit from any thread; `done` is called once, from the caller (refusals), the
// feeder or an instance thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/byte_budget.h"
#include "core/status.h"
#include "engine/picking_pipeline.h"
#include "engine/run_plan.h"
#include "io/trace.h"
#include "models/registry.h"
#include "picking/annotation.h"
#include "picking/picker.h"

namespace rapid {

using ServeClock = std::chrono::steady_clock;

struct ServeRequest {
  std::vector<TraceSegment> segments;         // merged segments of the body
  std::map<std::string, double> thresholds;   // label → threshold over the model's
  bool keep_traces = false;                   // the annotate route: return the traces
  ServeClock::time_point received;
  ServeClock::time_point deadline;
  ByteLease memory;  // RequestBytes of the request memory, given back once the request is done
};

struct ServeResult {
  int status = 200;   // 200, or 429 / 503 / 504 with `error`
  std::string error;
  std::vector<Pick> picks, detections;
  std::vector<std::string> stations;   // NET.STA.LOC
  int64_t windows = 0;
  std::vector<std::string> errors;     // stations the model failed on, with the reason
  std::vector<std::string> notes;      // zero-filled components, spans too short for a window…
  std::vector<Annotation> traces;      // keep_traces: every block piece, in time order per station
  ByteLease memory;                    // 200: the request's memory, for its answer to hold until written
  double queue_ms = 0.0, compute_ms = 0.0, total_ms = 0.0;
};

struct ModelServiceOptions {
  std::string model = "phasenet";
  std::string weights;
  PlanRequest plan;
  int64_t max_batch_delay_ms = 5;
  // Nice increment of the instances' threads (AnnotateOptions::compute_nice): the network threads,
  // the feeder and the answers win the CPU when they have work, the instances take the rest.
  int compute_nice = 0;
  // 0: about a quarter of a second of work (the planner's probe forward time × instances), at least 4 batches
  int64_t max_queue_windows = 0;
};

// Observes the service for metrics (each may be empty; called on the service's threads, cheap).
struct ServeObserver {
  std::function<void(int64_t windows, double forward_s)> on_batch;  // every forward call
  std::function<void(int64_t windows, double queue_s, double compute_s)> on_request_done;
  std::function<void(int64_t windows)> on_windows_cancelled;  // past the deadline: never computed
};

class ModelService {
 public:
  // Loads the model (planner as `rapid run`), starts the pipeline and runs one warm-up forward per
  // instance. Errors as LoadModel / PlanRun / LoadExecutors.
  static Status Create(const ModelServiceOptions& opts, std::unique_ptr<ModelService>* out);
  ~ModelService();  // Drain(), then stops the feeder and the pipeline

  using Done = std::function<void(ServeResult&&)>;
  void Submit(ServeRequest request, Done done);

  // No new requests (503); waits until every admitted one is answered or `timeout` passes.
  // True when all were answered.
  bool Drain(std::chrono::milliseconds timeout);

  const std::string& name() const { return name_; }
  const ModelSpec& spec() const { return pipeline_->spec(); }
  const RunPlan& plan() const { return plan_; }
  const std::string& weights_sha256() const { return loaded_.weights_sha256; }
  const std::string& backend() const { return loaded_.backend; }
  int64_t queued_windows() const;
  int64_t max_queue_windows() const { return max_queue_windows_; }
  int64_t windows_done() const { return pipeline_->windows_done(); }
  void set_observer(ServeObserver observer) { observer_ = std::move(observer); }

  // The model windows a request of these segments makes (its instruments' spans at the model
  // rate through the window grid), for admission.
  static int64_t EstimateWindows(const std::vector<TraceSegment>& segments, const ModelSpec& spec);

  // What a request of these decoded segments may hold until it is done: its samples, the most the
  // Fourier resampling of one of its channels' segments may hold at once
  // (StationStream::ResampleBytesBound; the feeder resamples one instrument at a time), and its
  // probability traces, every label over each instrument's span at the model rate, at
  // `bytes_per_trace_value` each (kept as float until answered, then whatever the answer's
  // encoding holds at once: the caller knows the route).
  static int64_t RequestBytes(const std::vector<TraceSegment>& segments, const ModelSpec& spec,
                              int64_t bytes_per_trace_value);

 private:
  struct Job;
  ModelService() = default;
  void Feed();                       // the feeder thread
  void StartJob(const std::shared_ptr<Job>& job);
  void FinishJob(const std::shared_ptr<Job>& job);  // REQUIRES: mu_ held
  void Answer(const std::shared_ptr<Job>& job, ServeResult&& result);  // once per job
  void WatchDeadlines();             // the deadline thread

  std::string name_;
  LoadedModel loaded_;
  RunPlan plan_;
  Executors executors_;
  std::unique_ptr<PickingPipeline> pipeline_;
  int64_t max_queue_windows_ = 0;
  ServeObserver observer_;

  // Lock order: the pipeline's callbacks take mu_ under the pipeline's own lock, so the pipeline is
  // never called with mu_ held.
  mutable std::mutex mu_;
  std::condition_variable work_cv_, idle_cv_, watch_cv_;
  std::deque<std::shared_ptr<Job>> waiting_;            // admitted, not yet fed
  std::map<uint64_t, std::shared_ptr<Job>> job_of_stream_;
  std::map<uint64_t, std::shared_ptr<Job>> open_jobs_;  // by job id, until answered
  uint64_t next_job_ = 0;
  int64_t queued_windows_ = 0;                          // of admitted jobs not yet finished
  int64_t fed_windows_ = 0;                             // of fed jobs not yet finished
  int64_t feed_ahead_windows_ = 1;
  bool draining_ = false, stopping_ = false;
  std::thread feeder_, watchdog_;
};

}  // namespace rapid
