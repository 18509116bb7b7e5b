// Batcher + executor + stitcher, streaming: a producer submits blocks (from any number of stations)
// while model instances, each on its own thread, cut batches from the windows of the queued blocks
// (so a batch mixes stations), normalise them, run the model and scatter the predictions to each
// block's stitcher. When the last window of a block is stitched, the block is finished (traces
// trimmed, handed to the caller) and its memory released.
//
// Memory: blocks count against `queue_capacity_bytes` (their samples and stitcher) from Submit until
// they are finished; Submit waits while the next block would not fit (a block larger than the
// capacity is admitted alone). So memory is bounded by the capacity, not by the number of stations.
//
// Pieces (engine/station_stream.h): the pieces of one block must be submitted in order; a piece is
// finished only after the piece before it (it needs that piece's share of the shared samples), so
// `on_done` sees the pieces of a block in time order.
//
// Determinism: every model call runs exactly its instance's batch size (a short batch — the last one,
// or one run early so a waiting producer gets room — is padded with zero windows), so a window's
// prediction does not depend on which other windows share its batch (tests/annotator_test.cc
// checks this), and stitching does not depend on arrival order (see Stitcher). Output is therefore
// identical for any instance count, timing, submission interleaving or piece size, given the batch
// size, intra-op threads and device (which change how the kernels round).
//
// Thread safety: Submit and Finish from one producer thread; `on_done` is called from instance
// threads, one call at a time.
#pragma once

#include <atomic>
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

#include "core/nano_time.h"
#include "core/status.h"
#include "engine/station_block.h"
#include "picking/annotation.h"
#include "models/model.h"

namespace rapid {

struct AnnotateOptions {
  // Windows per forward call. Larger batches amortise per-call overhead but hold more memory
  // (batch × (channels + labels) × in_samples × 4 bytes per instance).
  int64_t batch_size = 64;
  // Intra-op threads each instance's forward call may use (instances × threads ≈ cores).
  int64_t intra_threads = 1;
  // Per instance, in the order of the instances (e.g. CPU and GPU instances with their device's
  // batch size); when not empty they replace batch_size / intra_threads.
  std::vector<int64_t> instance_batch_sizes;
  std::vector<int64_t> instance_threads;
  // CPUs to pin instance threads to: instance k runs on intra_threads CPUs taken round-robin from
  // this list. Empty: not pinned.
  std::vector<int> cpus;
  // Nice increment of the instance threads and the intra-op threads they start (0: none). rapid
  // serve sets it so that its network threads answer at once while the instances compute.
  int compute_nice = 0;
  // Bytes of blocks (samples + stitcher) submitted but not finished. Larger: more read-ahead, so
  // instances never wait for the producer; smaller: less memory.
  int64_t queue_capacity_bytes = int64_t{256} << 20;
  // Longest time (ms) the oldest queued window waits for its batch to fill; then the windows
  // queued run as they are (engine/batch_policy.h). 0: wait for a full batch (best throughput
  // when reading keeps ahead).
  int64_t max_batch_wait_ms = 0;
  // Graceful stop (may be null): once it reads true (polled every 50 ms), no further batch starts,
  // queued windows are dropped — their blocks never reach `on_done` — Submit drops its block and
  // returns false, and Finish returns OK once the batches already running are stitched.
  const std::atomic<bool>* stop = nullptr;
  // Called after every forward call with its windows (padding not counted) and its seconds, on the
  // instance's thread (metrics of `rapid serve`). May be empty; must be cheap and thread-safe.
  std::function<void(int64_t windows, double forward_s)> on_batch;
};


struct InstanceStats {
  int64_t windows = 0;
  int64_t batches = 0;
  int64_t retried_batches = 0;  // calls that failed and were retried window by window
  int64_t failed_windows = 0;   // windows that failed alone too
  double busy_s = 0.0;  // normalising, running the model and stitching
};

struct AnnotateStats {
  int64_t blocks = 0;
  int64_t windows = 0;
  int64_t batches = 0;
  int64_t retried_batches = 0;
  int64_t failed_windows = 0;
  double normalise_s = 0.0;  // summed over instances
  double forward_s = 0.0;
  double stitch_s = 0.0;
  double wall_s = 0.0;        // from construction to the end of Finish
  double producer_wait_s = 0.0;  // Submit waiting for room
  int64_t queue_high_water_bytes = 0;
  std::vector<InstanceStats> instances;
};

class Annotator {
 public:
  // Called once per finished block piece with its submission number (0, 1, …).
  using DoneFn = std::function<void(size_t block_number, Annotation&&)>;

  // `instances` are borrowed (all of one model; each used by one thread) and must outlive this.
  // REQUIRES: at least one instance (the process aborts with a message otherwise).
  Annotator(const std::vector<Model*>& instances, const AnnotateOptions& opts, DoneFn on_done);
  ~Annotator();  // Finish() if it was not called
  Annotator(const Annotator&) = delete;
  Annotator& operator=(const Annotator&) = delete;

  // Queues `block`; waits while it does not fit the capacity. Returns false (block dropped) once
  // a stop was requested (AnnotateOptions::stop).
  bool Submit(StationBlock block);
  // As Submit, but none of the piece's windows is run: they are skipped as Cancel skips them (the
  // piece's Annotation::failure says `reason`), and the piece is finished and handed to on_done in
  // its block's order, without waiting for room. For the pieces of a cancelled stream, which must
  // still pass so that their blocks end. Returns the windows skipped.
  int64_t SubmitUnrun(StationBlock block, const std::string& reason);

  // The queued windows of the block pieces whose block id `which` accepts leave the queue and are
  // never run: they are skipped as failed windows are (the piece's Annotation::failure says
  // `reason`), so every piece is still finished and handed to on_done. So are the windows of such
  // a piece whose Submit is waiting for room. Windows already in a batch run; pieces submitted
  // later are not affected. Returns the windows dropped. Thread-safe; calls on_done (for pieces
  // with nothing left to run) on the calling thread.
  int64_t Cancel(const std::function<bool(uint64_t block_id)>& which, const std::string& reason);

  // No more blocks: waits until every submitted block is finished (after a stop: until the running
  // batches are). A model failure never ends the run: see Annotation::failure. Idempotent.
  void Finish();

  // Valid after Finish.
  const AnnotateStats& stats() const { return stats_; }
  // The model's spec (every instance's).
  const ModelSpec& spec() const { return spec_; }

  // Windows stitched so far (any time; for progress reports).
  int64_t windows_done() const { return windows_done_.load(std::memory_order_relaxed); }

 private:
  struct Pending;
  struct Batch;
  void RunInstance(size_t index, Model* model);
  bool Stopped() const { return opts_.stop != nullptr && opts_.stop->load(); }
  // Waits on `cv` until `ready` holds or a stop is requested (polling the stop flag).
  template <typename Ready>
  void WaitUnlessStopped(std::condition_variable& cv, std::unique_lock<std::mutex>& lock, Ready ready);
  bool TakeBatch(int64_t size, Batch* batch);  // up to `size` windows; false: no more work
  std::shared_ptr<Pending> NewPending(StationBlock block) const;
  // Skips the windows of `p` not yet handed out and gives it `reason` as its failure (unless it
  // has one); returns how many, and in *emptied whether no window of it is left in flight (its
  // WindowsDone is then the caller's). REQUIRES: mu_ held, or `p` not shared yet.
  int64_t SkipLeft(Pending* p, const std::string& reason, bool* emptied);
  // Numbers `p` and links it to its block's previous piece; queues its windows (waiting for room)
  // or, with none left to run, finishes it. False once a stop was requested.
  bool Enqueue(std::shared_ptr<Pending> p);
  // The piece's windows are all stitched: finishes it, and then its successors that were waiting.
  void WindowsDone(std::shared_ptr<Pending> p);
  void FinishPiece(Pending* p);

  const AnnotateOptions opts_;
  int64_t min_batch_size_ = 1;  // smallest instance batch: enough queued windows wake instances
  const ModelSpec& spec_;
  DoneFn on_done_;
  std::vector<std::thread> threads_;

  std::mutex mu_;
  std::condition_variable work_cv_;   // instances wait for windows
  std::condition_variable space_cv_;  // the producer waits for room
  // Guarded by mu_:
  std::deque<std::shared_ptr<Pending>> queue_;  // blocks with windows not yet handed out
  int64_t undispensed_windows_ = 0;
  int64_t bytes_in_flight_ = 0;
  bool closed_ = false;
  bool producer_waiting_ = false;  // Submit is blocked on room: short batches allowed
  std::vector<Pending*> waiting_for_room_;  // pieces whose Submit is blocked on room
  size_t submitted_ = 0;
  std::map<uint64_t, std::shared_ptr<Pending>> open_blocks_;  // block id → its latest piece, until the last

  std::atomic<int64_t> windows_done_{0};
  std::mutex done_mu_;  // serialises on_done_ and the stats merge
  AnnotateStats stats_;
  std::chrono::steady_clock::time_point start_;
  bool finished_ = false;
};

// Convenience for a fixed set of blocks: one Annotation per block, in block order.
void AnnotateBlocks(const std::vector<Model*>& instances, std::vector<StationBlock> blocks,
                    const AnnotateOptions& opts, std::vector<Annotation>* out, AnnotateStats* stats);

}  // namespace rapid
