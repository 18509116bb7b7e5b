#include "engine/annotator.h"

#include <algorithm>
#include <atomic>
#include <cassert>
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "dispatch/resource_probe.h"
#include "engine/batch_policy.h"
#include "engine/stitcher.h"
#include "engine/windower.h"

namespace rapid {

namespace {
using Clock = std::chrono::steady_clock;

// Index in the block's output trace of the first output of piece `b`'s window `w`, which starts at
// input sample `start` of the piece (point models: the window's grid index).
int64_t WindowOutput(const ModelSpec& spec, const StationBlock& b, int64_t w, int64_t start) {
  return spec.PointOutput() ? b.first_window + w : spec.OutputIndex(b.block_offset + start);
}

// Output samples of piece `b` whose windows start at `starts`, from its first window's output: up
// to the end of the block's trace for the last piece, else up to the end of its last window's.
int64_t PieceOutputSamples(const ModelSpec& spec, const StationBlock& b, const std::vector<int64_t>& starts) {
  const int64_t first = WindowOutput(spec, b, 0, 0);
  if (spec.PointOutput()) return static_cast<int64_t>(starts.size());
  if (b.last_piece) return spec.OutputLength(b.block_offset + b.samples_per_channel) - first;
  if (starts.empty()) return 0;
  const int64_t last = static_cast<int64_t>(starts.size()) - 1;
  return WindowOutput(spec, b, last, starts.back()) + spec.OutSamples() - first;
}

double Seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

int64_t SteadyNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

// How often a waiting thread looks at the stop flag.
constexpr std::chrono::milliseconds kStopPoll{50};

const ModelSpec& SpecOfFirst(const std::vector<Model*>& instances) {
  if (instances.empty()) {  // a programming error: there is nothing to annotate with
    std::fprintf(stderr, "Annotator: no model instance\n");
    std::abort();
  }
  return instances.front()->Spec();
}
}  // namespace

// A submitted block piece with its windows and stitcher. `remaining` counts windows not yet stitched.
struct Annotator::Pending {
  size_t number = 0;
  StationBlock block;
  std::vector<int64_t> starts;
  std::unique_ptr<Stitcher> stitcher;
  int64_t out_offset = 0;  // index of the stitcher's sample 0 in the block's output trace
  std::atomic<int64_t> remaining{0};
  int64_t bytes = 0;
  int64_t enqueued_ns = 0;  // when its windows were queued (SteadyNs)
  // Guarded by Annotator::mu_:
  size_t next_window = 0;
  bool waits_for_previous = false;  // an earlier piece of the block is not finished yet
  bool windows_done = false;
  bool finished = false;
  std::string failure;                  // why a window of this piece could not be run; empty: none
  std::shared_ptr<Pending> next_piece;  // once submitted
  Stitcher::Carry tail;                 // this piece's windows reaching into the next, until it takes them
};

struct Annotator::Batch {
  struct Ref {
    std::shared_ptr<Pending> pending;
    int64_t index;
  };
  std::vector<Ref> windows;
};

Annotator::Annotator(const std::vector<Model*>& instances, const AnnotateOptions& opts, DoneFn on_done)
    : opts_(opts), spec_(SpecOfFirst(instances)), on_done_(std::move(on_done)), start_(Clock::now()) {
  assert(opts_.instance_batch_sizes.empty() || opts_.instance_batch_sizes.size() == instances.size());
  assert(opts_.instance_threads.empty() || opts_.instance_threads.size() == instances.size());
  min_batch_size_ = std::max<int64_t>(1, opts_.batch_size);
  if (!opts_.instance_batch_sizes.empty()) {
    min_batch_size_ = std::max<int64_t>(1, *std::min_element(opts_.instance_batch_sizes.begin(),
                                                             opts_.instance_batch_sizes.end()));
  }
  stats_.instances.resize(instances.size());
  for (size_t k = 0; k < instances.size(); ++k) threads_.emplace_back(&Annotator::RunInstance, this, k, instances[k]);
}

Annotator::~Annotator() { Finish(); }

template <typename Ready>
void Annotator::WaitUnlessStopped(std::condition_variable& cv, std::unique_lock<std::mutex>& lock, Ready ready) {
  if (opts_.stop == nullptr) {
    cv.wait(lock, ready);
    return;
  }
  while (!ready() && !Stopped()) cv.wait_for(lock, kStopPoll);
}

std::shared_ptr<Annotator::Pending> Annotator::NewPending(StationBlock block) const {
  auto p = std::make_shared<Pending>();
  if (block.window_count != kWindowsToTheEnd) {
    for (int64_t k = 0; k < block.window_count; ++k) p->starts.push_back(k * spec_.StrideSamples());
  } else {
    p->starts = WindowStarts(block.samples_per_channel, spec_);
  }
  p->remaining = static_cast<int64_t>(p->starts.size());
  p->out_offset = WindowOutput(spec_, block, 0, 0);
  const int64_t out_samples = PieceOutputSamples(spec_, block, p->starts);
  p->stitcher = std::make_unique<Stitcher>(spec_, out_samples, block.first_window, block.piece > 0);
  p->bytes = static_cast<int64_t>(block.samples.size() * sizeof(float)) + Stitcher::HeldBytes(spec_, out_samples);
  p->block = std::move(block);
  return p;
}

bool Annotator::Submit(StationBlock block) { return Enqueue(NewPending(std::move(block))); }

int64_t Annotator::SubmitUnrun(StationBlock block, const std::string& reason) {
  std::shared_ptr<Pending> p = NewPending(std::move(block));
  bool unused = false;  // Enqueue finishes it
  const int64_t skipped = SkipLeft(p.get(), reason, &unused);  // not shared yet: no lock needed
  p->bytes -= static_cast<int64_t>(p->block.samples.size() * sizeof(float));
  p->block.samples = std::vector<float>();
  Enqueue(std::move(p));
  return skipped;
}

int64_t Annotator::SkipLeft(Pending* p, const std::string& reason, bool* emptied) {
  const size_t left = p->starts.size() - p->next_window;
  for (size_t w = p->next_window; w < p->starts.size(); ++w) {
    p->stitcher->Skip(p->block.first_window + static_cast<int64_t>(w));
  }
  p->next_window = p->starts.size();
  if (p->failure.empty()) p->failure = reason;
  *emptied = (p->remaining -= static_cast<int64_t>(left)) == 0;  // one atomic step: an instance may stitch
  return static_cast<int64_t>(left);
}

bool Annotator::Enqueue(std::shared_ptr<Pending> p) {
  const auto wait_start = Clock::now();
  std::unique_lock<std::mutex> lock(mu_);
  auto fits = [&] {
    return p->remaining == 0 || bytes_in_flight_ == 0 || bytes_in_flight_ + p->bytes <= opts_.queue_capacity_bytes;
  };
  if (!fits()) {
    producer_waiting_ = true;
    waiting_for_room_.push_back(p.get());  // a Cancel meanwhile skips its windows
    work_cv_.notify_all();  // queued windows may now run as a short batch
    WaitUnlessStopped(space_cv_, lock, fits);
    waiting_for_room_.erase(std::find(waiting_for_room_.begin(), waiting_for_room_.end(), p.get()));
    producer_waiting_ = false;
  }
  stats_.producer_wait_s += Seconds(wait_start, Clock::now());
  if (Stopped()) return false;
  p->number = submitted_++;
  bytes_in_flight_ += p->bytes;
  stats_.queue_high_water_bytes = std::max(stats_.queue_high_water_bytes, bytes_in_flight_);
  if (p->block.last_piece) stats_.blocks += 1;
  if (p->block.piece > 0) {
    auto prev = open_blocks_.find(p->block.block_id);
    assert(prev != open_blocks_.end() && "pieces of a block are submitted in order");
    if (prev->second->finished) {
      p->stitcher->MergeHead(std::move(prev->second->tail));
    } else {
      p->waits_for_previous = true;
      prev->second->next_piece = p;
    }
    open_blocks_.erase(prev);
  }
  if (!p->block.last_piece) open_blocks_[p->block.block_id] = p;
  if (p->remaining == 0) {  // nothing to run: finish at once (outside the lock)
    lock.unlock();
    WindowsDone(std::move(p));
    return true;
  }
  undispensed_windows_ += static_cast<int64_t>(p->starts.size());
  p->enqueued_ns = SteadyNs();
  queue_.push_back(std::move(p));
  // A full batch is ready; with a delay policy, any window starts an instance's deadline.
  if (undispensed_windows_ >= min_batch_size_ || opts_.max_batch_wait_ms > 0) work_cv_.notify_all();
  return true;
}

bool Annotator::TakeBatch(int64_t size, Batch* batch) {
  batch->windows.clear();
  std::unique_lock<std::mutex> lock(mu_);
  const BatchPolicy policy{size, opts_.max_batch_wait_ms * 1'000'000};
  while (true) {
    if (Stopped()) {  // drop what is queued: its blocks stay unfinished
      space_cv_.notify_all();
      return false;
    }
    BatchQueueState state;
    state.queued_windows = undispensed_windows_;
    state.oldest_enqueued_ns = queue_.empty() ? 0 : queue_.front()->enqueued_ns;
    state.producer_done = closed_;
    state.producer_waiting = producer_waiting_;
    const BatchDecision d = DecideBatch(policy, state, SteadyNs());
    if (d.finished) return false;
    if (d.take > 0) break;
    // Wait for the queue to change or the deadline, polling the stop flag (a signal handler sets
    // it and cannot notify).
    auto until = Clock::time_point::max();
    if (d.wake_at_ns >= 0) until = Clock::time_point(std::chrono::nanoseconds(d.wake_at_ns));
    if (opts_.stop != nullptr) until = std::min(until, Clock::now() + kStopPoll);
    if (until == Clock::time_point::max()) {
      work_cv_.wait(lock);
    } else {
      work_cv_.wait_until(lock, until);
    }
  }
  while (static_cast<int64_t>(batch->windows.size()) < size && !queue_.empty()) {
    Pending& front = *queue_.front();
    batch->windows.push_back({queue_.front(), static_cast<int64_t>(front.next_window)});
    if (++front.next_window == front.starts.size()) queue_.pop_front();
  }
  undispensed_windows_ -= static_cast<int64_t>(batch->windows.size());
  // Enough for another instance, or windows it should run now or time.
  if (undispensed_windows_ >= min_batch_size_ ||
      (undispensed_windows_ > 0 && (closed_ || producer_waiting_ || opts_.max_batch_wait_ms > 0))) {
    work_cv_.notify_all();
  }
  return true;
}

int64_t Annotator::Cancel(const std::function<bool(uint64_t block_id)>& which, const std::string& reason) {
  std::vector<std::shared_ptr<Pending>> emptied;  // no window left in flight: finished here
  int64_t dropped = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = queue_.begin(); it != queue_.end();) {
      if (!which((*it)->block.block_id)) {
        ++it;
        continue;
      }
      bool none_in_flight = false;
      dropped += SkipLeft(it->get(), reason, &none_in_flight);
      if (none_in_flight) emptied.push_back(*it);
      it = queue_.erase(it);
    }
    undispensed_windows_ -= dropped;
    // A piece waiting for room has none of its windows queued: its Submit finishes it.
    int64_t waiting = 0;
    for (Pending* p : waiting_for_room_) {
      bool unused = false;  // its Submit finishes it
      if (which(p->block.block_id)) waiting += SkipLeft(p, reason, &unused);
    }
    if (waiting > 0) space_cv_.notify_all();
    dropped += waiting;
  }
  for (auto& p : emptied) WindowsDone(std::move(p));
  return dropped;
}

void Annotator::WindowsDone(std::shared_ptr<Pending> p) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    p->windows_done = true;
    if (p->waits_for_previous) return;  // the previous piece finishes this one
  }
  while (p) {
    FinishPiece(p.get());
    std::lock_guard<std::mutex> lock(mu_);
    p->finished = true;
    bytes_in_flight_ -= p->bytes;
    space_cv_.notify_one();
    std::shared_ptr<Pending> next = std::move(p->next_piece);
    if (next) {
      next->stitcher->MergeHead(std::move(p->tail));
      next->waits_for_previous = false;
    }
    p.reset();
    if (next && next->windows_done) p = std::move(next);
  }
}

void Annotator::FinishPiece(Pending* p) {
  const StationBlock& b = p->block;
  // A piece before the last owns the output samples up to its successor's first one (point
  // models: one sample per window, none shared).
  const bool point = spec_.PointOutput();
  const int64_t owned = b.last_piece ? PieceOutputSamples(spec_, b, p->starts)
                        : point      ? b.window_count
                                     : spec_.OutputIndex(b.block_offset + b.window_count * spec_.StrideSamples()) -
                                      p->out_offset;
  const NanoTime block_start = b.block_start == kUnsetTime ? b.start : b.block_start;
  Annotation a;
  a.trace_id = b.trace_id;
  a.rate_hz = point ? b.rate_hz / static_cast<double>(spec_.StrideSamples()) : b.rate_hz * spec_.OutputFactor();
  a.block_id = b.block_id;
  a.piece = b.piece;
  a.last_piece = b.last_piece;
  a.block_start = point ? SampleTime(block_start, spec_.in_samples / 2, b.rate_hz) : block_start;
  a.windows_start = block_start;
  a.traces = p->stitcher->Finish(owned);
  if (!b.last_piece) p->tail = p->stitcher->TakeCarry(owned);
  int64_t lead = 0, trail = 0;
  if (!a.traces.empty()) NanMargins(a.traces.front(), &lead, &trail);
  if (b.piece > 0) lead = 0;
  if (!b.last_piece) trail = 0;
  for (auto& t : a.traces) {
    t.erase(t.end() - trail, t.end());
    t.erase(t.begin(), t.begin() + std::min<int64_t>(lead, static_cast<int64_t>(t.size())));
  }
  a.offset = p->out_offset + lead;
  a.time_shift_ns = b.time_shift_ns;
  a.data_until = b.data_until;
  a.failure = p->failure;
  a.start = SampleTime(a.block_start, a.offset, a.rate_hz);
  p->stitcher.reset();
  p->block.samples = std::vector<float>();
  std::lock_guard<std::mutex> lock(done_mu_);
  on_done_(p->number, std::move(a));
}

void Annotator::RunInstance(size_t index, Model* model) {
  const int64_t threads =
      std::max<int64_t>(1, opts_.instance_threads.empty() ? opts_.intra_threads : opts_.instance_threads[index]);
  if (!opts_.cpus.empty()) {
    std::vector<int> mine;
    for (int64_t t = 0; t < threads; ++t) {
      mine.push_back(opts_.cpus[static_cast<size_t>(static_cast<int64_t>(index) * threads + t) % opts_.cpus.size()]);
    }
    (void)PinCurrentThread(mine);  // best effort: an unpinned instance still computes correctly
  }
  (void)LowerCurrentThreadPriority(opts_.compute_nice);  // best effort, as pinning
  model->UseIntraOpThreads(static_cast<int>(threads));
  const int64_t in = spec_.in_samples, channels = spec_.Channels(), labels = spec_.Labels();
  const int64_t out_samples = spec_.OutSamples();
  const size_t size = static_cast<size_t>(std::max<int64_t>(
      1, opts_.instance_batch_sizes.empty() ? opts_.batch_size : opts_.instance_batch_sizes[index]));
  std::vector<float> input(size * static_cast<size_t>(channels * in));
  std::vector<float> output(size * static_cast<size_t>(labels * out_samples));
  InstanceStats mine;
  double normalise_s = 0, forward_s = 0, stitch_s = 0;
  Batch batch;
  while (TakeBatch(static_cast<int64_t>(size), &batch)) {
    const size_t count = batch.windows.size();
    auto t0 = Clock::now();
    for (size_t i = 0; i < count; ++i) {
      const Pending& p = *batch.windows[i].pending;
      NormaliseWindow(p.block.samples.data(), p.block.samples_per_channel, channels,
                      p.starts[static_cast<size_t>(batch.windows[i].index)], in, spec_.norm,
                      input.data() + i * static_cast<size_t>(channels * in));
    }
    // Pad a short batch: every call runs `size` windows, so no prediction depends on the batch.
    std::fill(input.begin() + static_cast<std::ptrdiff_t>(count * static_cast<size_t>(channels * in)), input.end(), 0.0f);
    auto t1 = Clock::now();
    // A failed call (e.g. out of memory inside the model) is retried one window at a time; a
    // window that fails again is left out of its block, which carries the reason (Annotation::failure).
    std::vector<std::string> failures(count);
    if (Status s = model->Forward(input.data(), static_cast<int64_t>(size), output.data()); !s.ok()) {
      mine.retried_batches += 1;
      const size_t in_floats = static_cast<size_t>(channels * in), out_floats = static_cast<size_t>(labels * out_samples);
      for (size_t i = 0; i < count; ++i) {
        Status one = model->Forward(input.data() + i * in_floats, 1, output.data() + i * out_floats);
        if (!one.ok()) failures[i] = one.message();
      }
    }
    auto t2 = Clock::now();
    for (size_t i = 0; i < count; ++i) {
      Pending& p = *batch.windows[i].pending;
      const int64_t w = batch.windows[i].index;
      if (failures[i].empty()) {
        p.stitcher->Add(p.block.first_window + w,
                        WindowOutput(spec_, p.block, w, p.starts[static_cast<size_t>(w)]) - p.out_offset,
                        output.data() + i * static_cast<size_t>(labels * out_samples));
      } else {
        mine.failed_windows += 1;
        p.stitcher->Skip(p.block.first_window + w);
        std::lock_guard<std::mutex> lock(mu_);
        if (p.failure.empty()) p.failure = failures[i];
      }
      if (--p.remaining == 0) WindowsDone(batch.windows[i].pending);
    }
    auto t3 = Clock::now();
    normalise_s += Seconds(t0, t1);
    forward_s += Seconds(t1, t2);
    stitch_s += Seconds(t2, t3);
    mine.windows += static_cast<int64_t>(count);
    mine.batches += 1;
    if (opts_.on_batch) opts_.on_batch(static_cast<int64_t>(count), Seconds(t1, t2));
    windows_done_.fetch_add(static_cast<int64_t>(count), std::memory_order_relaxed);
  }
  mine.busy_s = normalise_s + forward_s + stitch_s;
  std::lock_guard<std::mutex> lock(done_mu_);
  stats_.instances[index] = mine;
  stats_.normalise_s += normalise_s;
  stats_.forward_s += forward_s;
  stats_.stitch_s += stitch_s;
  stats_.windows += mine.windows;
  stats_.retried_batches += mine.retried_batches;
  stats_.failed_windows += mine.failed_windows;
  stats_.batches += mine.batches;
}

void Annotator::Finish() {
  if (finished_) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
  }
  work_cv_.notify_all();
  for (std::thread& t : threads_) t.join();
  finished_ = true;
  stats_.wall_s = Seconds(start_, Clock::now());
}

void AnnotateBlocks(const std::vector<Model*>& instances, std::vector<StationBlock> blocks,
                    const AnnotateOptions& opts, std::vector<Annotation>* out, AnnotateStats* stats) {
  out->assign(blocks.size(), Annotation());
  Annotator annotator(instances, opts, [&](size_t n, Annotation&& a) { (*out)[n] = std::move(a); });
  for (StationBlock& b : blocks) {
    if (!annotator.Submit(std::move(b))) break;
  }
  annotator.Finish();
  *stats = annotator.stats();
}

}  // namespace rapid
