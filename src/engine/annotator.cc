#include "engine/annotator.h"

#include <algorithm>
#include <atomic>
#include <cassert>
#include <chrono>
#include <memory>
#include <mutex>
#include <thread>

#include "dispatch/resource_probe.h"
#include "engine/stitcher.h"
#include "engine/windower.h"
#include "models/threads.h"

namespace rapid {

namespace {

using Clock = std::chrono::steady_clock;
double Seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

struct WindowRef {
  size_t block;
  int64_t index;  // position in the block's window grid
  int64_t start;  // first sample
};

// Work shared by the instance threads. The window list and blocks are read-only; `next` hands out
// batches; stitchers receive disjoint writes (see Stitcher).
struct SharedWork {
  SharedWork(const std::vector<StationBlock>& b, const std::vector<WindowRef>& w,
             std::vector<std::unique_ptr<Stitcher>>& s)
      : blocks(b), windows(w), stitchers(s) {}
  const std::vector<StationBlock>& blocks;
  const std::vector<WindowRef>& windows;
  std::vector<std::unique_ptr<Stitcher>>& stitchers;
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex error_mu;
  Status error;  // guarded by error_mu
};

void RunInstance(size_t instance_index, Model* model, const AnnotateOptions& opts, SharedWork* work,
                 InstanceStats* mine, AnnotateStats* totals, std::mutex* totals_mu) {
  const int64_t threads = std::max<int64_t>(1, opts.intra_threads);
  if (!opts.cpus.empty()) {
    std::vector<int> mine_cpus;
    for (int64_t t = 0; t < threads; ++t) {
      mine_cpus.push_back(opts.cpus[static_cast<size_t>(instance_index * threads + t) % opts.cpus.size()]);
    }
    (void)PinCurrentThread(mine_cpus);  // best effort: an unpinned instance still computes correctly
  }
  SetIntraOpThreads(static_cast<int>(threads));
  const ModelSpec& spec = model->Spec();
  const int64_t in = spec.in_samples, channels = spec.Channels(), labels = spec.Labels();
  const size_t batch = static_cast<size_t>(std::max<int64_t>(1, opts.batch_size));
  std::vector<float> input(batch * static_cast<size_t>(channels * in));
  std::vector<float> output(batch * static_cast<size_t>(labels * in));
  double normalise_s = 0, forward_s = 0, stitch_s = 0;
  while (!work->failed.load()) {
    const size_t first = work->next.fetch_add(batch);
    if (first >= work->windows.size()) break;
    const size_t count = std::min(batch, work->windows.size() - first);
    auto t0 = Clock::now();
    for (size_t i = 0; i < count; ++i) {
      const WindowRef& w = work->windows[first + i];
      const StationBlock& block = work->blocks[w.block];
      NormaliseWindow(block.samples.data(), block.samples_per_channel, channels, w.start, in, spec.norm,
                      input.data() + i * static_cast<size_t>(channels * in));
    }
    auto t1 = Clock::now();
    Status s = model->Forward(input.data(), static_cast<int64_t>(count), output.data());
    auto t2 = Clock::now();
    if (!s.ok()) {
      std::lock_guard<std::mutex> lock(work->error_mu);
      if (!work->failed.exchange(true)) work->error = s;
      break;
    }
    for (size_t i = 0; i < count; ++i) {
      const WindowRef& w = work->windows[first + i];
      work->stitchers[w.block]->Add(w.index, w.start, output.data() + i * static_cast<size_t>(labels * in));
    }
    auto t3 = Clock::now();
    normalise_s += Seconds(t0, t1);
    forward_s += Seconds(t1, t2);
    stitch_s += Seconds(t2, t3);
    mine->windows += static_cast<int64_t>(count);
    mine->batches += 1;
  }
  mine->busy_s = normalise_s + forward_s + stitch_s;
  std::lock_guard<std::mutex> lock(*totals_mu);
  totals->normalise_s += normalise_s;
  totals->forward_s += forward_s;
  totals->stitch_s += stitch_s;
}

}  // namespace

Status AnnotateBlocks(const std::vector<Model*>& instances, const std::vector<StationBlock>& blocks,
                      const AnnotateOptions& opts, std::vector<Annotation>* out, AnnotateStats* stats) {
  assert(!instances.empty());
  const auto start = Clock::now();
  const ModelSpec& spec = instances.front()->Spec();
  *stats = AnnotateStats();
  std::vector<WindowRef> windows;
  std::vector<std::unique_ptr<Stitcher>> stitchers;
  for (size_t b = 0; b < blocks.size(); ++b) {
    stitchers.push_back(std::make_unique<Stitcher>(spec, blocks[b].samples_per_channel));
    const std::vector<int64_t> starts = WindowStarts(blocks[b].samples_per_channel, spec.in_samples, spec.StrideSamples());
    for (size_t i = 0; i < starts.size(); ++i) windows.push_back({b, static_cast<int64_t>(i), starts[i]});
  }

  // A small job is split evenly: no instance idles while another runs one oversized batch.
  AnnotateOptions effective = opts;
  const int64_t per_instance = static_cast<int64_t>((windows.size() + instances.size() - 1) / instances.size());
  effective.batch_size = std::max<int64_t>(1, std::min(opts.batch_size, per_instance));
  SharedWork work(blocks, windows, stitchers);
  stats->instances.resize(instances.size());
  std::mutex totals_mu;
  std::vector<std::thread> threads;
  for (size_t k = 0; k < instances.size(); ++k) {
    threads.emplace_back(RunInstance, k, instances[k], std::cref(effective), &work, &stats->instances[k], stats, &totals_mu);
  }
  for (std::thread& t : threads) t.join();
  if (work.failed.load()) return work.error;
  for (const InstanceStats& s : stats->instances) {
    stats->windows += s.windows;
    stats->batches += s.batches;
  }

  out->clear();
  for (size_t b = 0; b < blocks.size(); ++b) {
    Annotation a;
    a.trace_id = blocks[b].trace_id;
    a.rate_hz = blocks[b].rate_hz;
    a.traces = stitchers[b]->Finish();
    int64_t lead = 0, trail = 0;
    if (!a.traces.empty()) NanMargins(a.traces.front(), &lead, &trail);
    for (auto& t : a.traces) {
      t.erase(t.end() - trail, t.end());
      t.erase(t.begin(), t.begin() + lead);
    }
    a.start = SampleTime(blocks[b].start, lead, a.rate_hz);
    out->push_back(std::move(a));
  }
  stats->wall_s = Seconds(start, Clock::now());
  return Status::OK();
}

}  // namespace rapid
