// The streaming executor with a fake model: bounded memory, identical results for any capacity,
// instance count and batch size, and a model failure that stops the run without hanging.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <random>
#include <thread>

#include "engine/annotator.h"
#include "engine/stitcher.h"
#include "engine/windower.h"
#include "fake_model.h"

namespace rapid {
namespace {

using testing::FakeModel;
using testing::GatedModel;

std::vector<StationBlock> MakeBlocks(int count, int64_t samples) {
  std::mt19937 rng(3);
  std::normal_distribution<double> noise(0, 100);
  std::vector<StationBlock> blocks;
  for (int k = 0; k < count; ++k) {
    StationBlock b;
    b.trace_id = "XX.S" + std::to_string(k) + ".";
    b.start = 1'000'000'000LL * k;
    b.rate_hz = 100;
    b.channels = 3;
    b.samples_per_channel = samples + k;  // different grids, final windows
    b.samples.resize(static_cast<size_t>(3 * b.samples_per_channel));
    for (float& v : b.samples) v = static_cast<float>(noise(rng));
    blocks.push_back(std::move(b));
  }
  return blocks;
}

int64_t BlockBytes(const ModelSpec& spec, const StationBlock& b) {
  return static_cast<int64_t>(b.samples.size() * 4) + Stitcher::HeldBytes(spec, b.samples_per_channel);
}

TEST(AnnotatorTest, BoundedQueueGivesSameTracesAsUnbounded) {
  FakeModel m1, m2, m3;
  const auto blocks = MakeBlocks(40, 1000);
  AnnotateOptions wide;
  wide.batch_size = 16;
  std::vector<Annotation> ref, small;
  AnnotateStats ref_stats, small_stats;
  AnnotateBlocks({&m1}, blocks, wide, &ref, &ref_stats);
  AnnotateOptions tight;
  tight.batch_size = 7;
  tight.queue_capacity_bytes = 2 * BlockBytes(m1.Spec(), blocks.back());
  AnnotateBlocks({&m1, &m2, &m3}, blocks, tight, &small, &small_stats);
  EXPECT_EQ(ref_stats.windows, small_stats.windows);
  EXPECT_EQ(ref_stats.blocks, 40);
  EXPECT_LE(small_stats.queue_high_water_bytes, tight.queue_capacity_bytes);
  // The bound mattered: all blocks together are far larger than the capacity. (How many the
  // unbounded run held at once depends on timing, so it is not asserted.)
  int64_t total_bytes = 0;
  for (const StationBlock& b : blocks) total_bytes += BlockBytes(m1.Spec(), b);
  EXPECT_GT(total_bytes, 10 * tight.queue_capacity_bytes);
  ASSERT_EQ(ref.size(), small.size());
  for (size_t b = 0; b < ref.size(); ++b) {
    EXPECT_EQ(ref[b].trace_id, small[b].trace_id);
    EXPECT_EQ(ref[b].start, small[b].start);
    EXPECT_EQ(ref[b].traces, small[b].traces) << b;
  }
}

TEST(AnnotatorTest, BlockLargerThanCapacityRunsAlone) {
  FakeModel m;
  const auto blocks = MakeBlocks(3, 5000);
  AnnotateOptions opts;
  opts.batch_size = 8;
  opts.queue_capacity_bytes = 1000;  // smaller than any block
  std::vector<Annotation> out;
  AnnotateStats stats;
  AnnotateBlocks({&m}, blocks, opts, &out, &stats);
  EXPECT_EQ(out.size(), 3u);
  EXPECT_LE(stats.queue_high_water_bytes, BlockBytes(m.Spec(), blocks.back()));
}

// A failed model call is retried window by window: a one-off failure changes nothing.
TEST(AnnotatorTest, FailedCallIsRetriedWindowByWindow) {
  FakeModel ok, once(/*fail_on_call=*/3);
  const auto blocks = MakeBlocks(10, 2000);
  AnnotateOptions opts;
  opts.batch_size = 4;
  std::vector<Annotation> ref, retried;
  AnnotateStats ref_stats, stats;
  AnnotateBlocks({&ok}, blocks, opts, &ref, &ref_stats);
  AnnotateBlocks({&once}, blocks, opts, &retried, &stats);
  EXPECT_EQ(stats.retried_batches, 1);
  EXPECT_EQ(stats.failed_windows, 0);
  for (size_t i = 0; i < ref.size(); ++i) {
    EXPECT_TRUE(retried[i].failure.empty()) << i;
    EXPECT_EQ(retried[i].traces, ref[i].traces) << i;
  }
}

// A model that keeps failing fails the windows, never the run: their blocks carry the reason and
// every other block is annotated as before.
TEST(AnnotatorTest, WindowsThatFailAloneMarkTheirBlocksAndTheRunContinues) {
  FakeModel ok, broken(/*fail_on_call=*/9, /*out_samples=*/0, /*keep_failing=*/true);
  const auto blocks = MakeBlocks(10, 2000);  // 33 windows each: 9 calls of up to 4 per block
  AnnotateOptions opts;
  opts.batch_size = 4;
  opts.queue_capacity_bytes = BlockBytes(ok.Spec(), blocks.back());  // one block at a time
  std::vector<Annotation> ref, out;
  AnnotateStats ref_stats, stats;
  AnnotateBlocks({&ok}, blocks, opts, &ref, &ref_stats);
  AnnotateBlocks({&broken}, blocks, opts, &out, &stats);
  ASSERT_EQ(out.size(), blocks.size());
  EXPECT_TRUE(out[0].failure.empty());  // calls 0–8 succeed: the first block is whole
  EXPECT_EQ(out[0].traces, ref[0].traces);
  for (size_t i = 1; i < out.size(); ++i) {
    EXPECT_NE(out[i].failure.find("fake out of memory"), std::string::npos) << i;
  }
  EXPECT_GT(stats.failed_windows, 0);
  EXPECT_EQ(stats.windows, ref_stats.windows);  // every window was handled
}

// With a maximum wait, windows that cannot fill a batch run after that wait instead of waiting for
// more input, with the same result as in a full batch.
TEST(AnnotatorTest, MaxBatchWaitRunsAShortBatchWithTheSameResult) {
  FakeModel m;
  const auto blocks = MakeBlocks(1, 250);  // 4 windows, batch 64
  AnnotateOptions opts;
  opts.batch_size = 64;
  opts.max_batch_wait_ms = 20;
  std::vector<Annotation> early;
  Annotator annotator({&m}, opts, [&](size_t, Annotation&& a) { early.push_back(std::move(a)); });
  ASSERT_TRUE(annotator.Submit(blocks[0]));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (annotator.windows_done() < 4 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(annotator.windows_done(), 4);  // before Finish: the wait ran them
  annotator.Finish();
  std::vector<Annotation> ref;
  AnnotateStats stats;
  AnnotateBlocks({&m}, blocks, AnnotateOptions(), &ref, &stats);
  ASSERT_EQ(early.size(), 1u);
  EXPECT_EQ(early[0].traces, ref[0].traces);
}

// Instances of different devices run different batch sizes (engine/run_plan.h): every window is
// still annotated once, into the same traces.
TEST(AnnotatorTest, PerInstanceBatchSizesGiveTheSameTraces) {
  FakeModel m1, m2, m3;
  const auto blocks = MakeBlocks(12, 1000);
  std::vector<Annotation> ref, mixed;
  AnnotateStats ref_stats, stats;
  AnnotateOptions one;
  one.batch_size = 5;
  AnnotateBlocks({&m1}, blocks, one, &ref, &ref_stats);
  AnnotateOptions opts;
  opts.instance_batch_sizes = {3, 8, 1};
  opts.instance_threads = {1, 1, 1};
  AnnotateBlocks({&m1, &m2, &m3}, blocks, opts, &mixed, &stats);
  EXPECT_EQ(stats.windows, ref_stats.windows);
  ASSERT_EQ(mixed.size(), ref.size());
  for (size_t i = 0; i < ref.size(); ++i) EXPECT_EQ(mixed[i].traces, ref[i].traces) << i;
  int64_t windows = 0;
  for (const InstanceStats& s : stats.instances) windows += s.windows;
  EXPECT_EQ(windows, ref_stats.windows);
}

// Cancel drops exactly the queued windows of the chosen blocks: a batch already running finishes,
// every block is still delivered (the cancelled ones with the reason), the others are untouched.
TEST(AnnotatorTest, CancelDropsTheQueuedWindowsOfTheChosenBlocks) {
  auto blocks = MakeBlocks(6, 1000);
  for (size_t k = 0; k < blocks.size(); ++k) blocks[k].block_id = k;
  FakeModel plain;
  AnnotateOptions opts;
  opts.batch_size = 4;
  std::vector<Annotation> ref;
  AnnotateStats ref_stats;
  AnnotateBlocks({&plain}, blocks, opts, &ref, &ref_stats);
  std::vector<int64_t> windows;
  for (const StationBlock& b : blocks) windows.push_back(static_cast<int64_t>(WindowStarts(b.samples_per_channel, plain.Spec()).size()));

  GatedModel gated;
  std::vector<Annotation> out(blocks.size());
  int delivered = 0;
  Annotator annotator({&gated}, opts, [&](size_t n, Annotation&& a) {
    out[n] = std::move(a);
    delivered += 1;
  });
  for (const StationBlock& b : blocks) ASSERT_TRUE(annotator.Submit(b));
  while (!gated.entered_) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  // Block 0's first 4 windows are in the running batch; its others and blocks 2 and 4 are queued.
  const int64_t dropped = annotator.Cancel([](uint64_t id) { return id % 2 == 0; }, "deadline passed");
  EXPECT_EQ(dropped, windows[0] - 4 + windows[2] + windows[4]);
  gated.open_ = true;
  annotator.Finish();
  EXPECT_EQ(delivered, 6);
  EXPECT_EQ(annotator.stats().windows, ref_stats.windows - dropped);
  for (size_t k = 0; k < blocks.size(); ++k) {
    if (k % 2 == 0) {
      EXPECT_EQ(out[k].failure, "deadline passed") << k;
    } else {
      EXPECT_TRUE(out[k].failure.empty()) << k;
      EXPECT_EQ(out[k].traces, ref[k].traces) << k;
    }
  }
}

}  // namespace
}  // namespace rapid
