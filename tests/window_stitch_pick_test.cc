// Windower grid, stitching (avg/max with blinding) and trigger picking, on hand-computed cases.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "engine/stitcher.h"
#include "engine/windower.h"
#include "picking/picker.h"

namespace rapid {
namespace {

ModelSpec GridSpec(int64_t in, int64_t stride, int64_t out_samples) {
  ModelSpec spec;
  spec.in_samples = in;
  spec.overlap_samples = in - stride;
  spec.out_samples = out_samples;
  return spec;
}

TEST(WindowerTest, SeisBenchGrid) {
  const ModelSpec spec = GridSpec(3001, 1501, 0);
  EXPECT_TRUE(WindowStarts(3000, spec).empty());
  EXPECT_EQ(WindowStarts(3001, spec), (std::vector<int64_t>{0}));
  EXPECT_EQ(WindowStarts(4502, spec), (std::vector<int64_t>{0, 1501}));
  // 18002 samples: 0…12008 by 1501, then one more ending at the last sample.
  std::vector<int64_t> s = WindowStarts(18002, spec);
  ASSERT_EQ(s.size(), 11u);
  EXPECT_EQ(s[9], 13509);
  EXPECT_EQ(s.back(), 18002 - 3001);
}

TEST(WindowerTest, PointModelGridHasNoEndAlignedWindow) {
  // SeisBench's point annotation: np.arange(0, n - in + 1, stride), nothing after it.
  const ModelSpec spec = GridSpec(400, 10, 1);
  EXPECT_TRUE(WindowStarts(399, spec).empty());
  EXPECT_EQ(WindowStarts(415, spec), (std::vector<int64_t>{0, 10}));
  std::vector<int64_t> s = WindowStarts(18002, spec);
  ASSERT_EQ(s.size(), 1761u);  // (18002 − 400) / 10 + 1
  EXPECT_EQ(s.back(), 17600);
}

TEST(WindowerTest, NormalisesPerChannelAndGuardsConstantAndNan) {
  const int64_t n = 5;
  std::vector<float> rows = {1, 2, 3, 4, 5,             // mean 3, unbiased std sqrt(2.5)
                              7, 7, 7, 7, 7,            // constant: all zeros, not NaN
                              NAN, 1, -1, 1, -1};       // NaN treated as 0
  std::vector<float> out(15);
  NormaliseWindow(rows.data(), n, 3, 0, n, WindowNorm::kStdPerChannel, out.data());
  EXPECT_NEAR(out[0], -2 / std::sqrt(2.5), 1e-6);
  EXPECT_NEAR(out[4], 2 / std::sqrt(2.5), 1e-6);
  for (int i = 5; i < 10; ++i) EXPECT_EQ(out[i], 0.0f);
  for (int i = 10; i < 15; ++i) EXPECT_TRUE(std::isfinite(out[i]));
  NormaliseWindow(rows.data(), n, 1, 0, n, WindowNorm::kPeakPerChannel, out.data());
  EXPECT_NEAR(out[0], -1.0, 1e-6);
  EXPECT_NEAR(out[4], 1.0, 1e-6);
}

ModelSpec TinySpec(Stacking stacking, int64_t pre, int64_t post) {
  ModelSpec s;
  s.labels = {"P"};
  s.in_samples = 4;
  s.overlap_samples = 2;
  s.stacking = stacking;
  s.blinding_pre_samples = pre;
  s.blinding_post_samples = post;
  return s;
}

TEST(StitcherTest, AveragesOverlaps) {
  ModelSpec spec = TinySpec(Stacking::kAvg, 0, 0);
  Stitcher st(spec, 6);
  const float a[4] = {1, 1, 1, 1}, b[4] = {3, 3, 3, 3};
  st.Add(1, 2, b);  // order does not matter
  st.Add(0, 0, a);
  auto t = st.Finish(6);
  EXPECT_EQ(t[0], (std::vector<float>{1, 1, 2, 2, 3, 3}));
}

TEST(StitcherTest, MaxWithBlindingLeavesUncoveredNan) {
  ModelSpec spec = TinySpec(Stacking::kMax, 1, 1);
  Stitcher st(spec, 6);
  const float a[4] = {9, 1, 5, 9}, b[4] = {9, 2, 4, 9};
  st.Add(0, 0, a);
  st.Add(1, 2, b);
  auto t = st.Finish(6);
  EXPECT_TRUE(std::isnan(t[0][0]));
  EXPECT_EQ(t[0][1], 1.0f);
  EXPECT_EQ(t[0][2], 5.0f);  // window a's sample 2 (blinded ends of b ignored)
  EXPECT_EQ(t[0][3], 2.0f);
  EXPECT_EQ(t[0][4], 4.0f);
  EXPECT_TRUE(std::isnan(t[0][5]));
  int64_t lead, trail;
  NanMargins(t[0], &lead, &trail);
  EXPECT_EQ(lead, 1);
  EXPECT_EQ(trail, 1);
}

// Each sample is the mean (or maximum) of the windows covering it, summed in slot order (window
// index mod Stitcher::Coverage, as SeisBench's per-slot arrays), NaN values skipped: checked
// against that rule computed here, with 2, 3 and 5 windows over a sample, arriving out of order.
TEST(StitcherTest, StacksEachSampleInSlotOrder) {
  for (int64_t in_samples : {4, 6, 10}) {
    for (Stacking stacking : {Stacking::kAvg, Stacking::kMax}) {
      ModelSpec spec = TinySpec(stacking, 0, 0);
      spec.in_samples = in_samples;
      spec.overlap_samples = in_samples - 2;  // stride 2: in_samples / 2 windows over a sample
      const int64_t windows = 12, out = 2 * (windows - 1) + in_samples, coverage = Stitcher::Coverage(spec);
      std::vector<std::vector<float>> pred(windows, std::vector<float>(static_cast<size_t>(in_samples)));
      for (int64_t w = 0; w < windows; ++w) {
        for (int64_t i = 0; i < in_samples; ++i) pred[w][i] = std::sin(1.3f * static_cast<float>(w * 17 + i)) * 1e3f;
      }
      pred[3][2] = pred[6][1] = std::nanf("");
      Stitcher st(spec, out);
      for (int64_t w : {1, 0, 2, 4, 3, 5, 7, 6, 8, 10, 9, 11}) st.Add(w, 2 * w, pred[w].data());
      const std::vector<float> got = st.Finish(out)[0];
      ASSERT_EQ(static_cast<int64_t>(got.size()), out);
      for (int64_t t = 0; t < out; ++t) {
        std::vector<int64_t> cover;
        for (int64_t w = 0; w < windows; ++w) {
          if (t >= 2 * w && t < 2 * w + in_samples) cover.push_back(w);
        }
        std::sort(cover.begin(), cover.end(), [&](int64_t a, int64_t b) { return a % coverage < b % coverage; });
        float acc = 0.0f;
        int count = 0;
        for (int64_t w : cover) {
          const float x = pred[w][t - 2 * w];
          if (std::isnan(x)) continue;
          acc = stacking == Stacking::kAvg ? acc + x : count == 0 ? x : std::max(acc, x);
          ++count;
        }
        const float expected = stacking == Stacking::kAvg ? acc / static_cast<float>(count) : acc;
        EXPECT_EQ(got[t], expected) << "in_samples " << in_samples << " sample " << t;
      }
    }
  }
}

// A block stitched in two pieces equals the block stitched whole, whatever the arrival order:
// the second piece's windows (one skipped, as a failed window is) arrive shuffled and before the
// first piece hands over the windows reaching into it.
TEST(StitcherTest, PiecesInAnyOrderEqualTheWholeBlock) {
  for (Stacking stacking : {Stacking::kAvg, Stacking::kMax}) {
    ModelSpec spec = TinySpec(stacking, 0, 0);  // 4-sample windows, stride 2: 3 slots
    spec.labels = {"P", "S"};
    const int64_t windows = 9, out = 20, skipped = 5;
    std::vector<std::vector<float>> pred(windows, std::vector<float>(8));
    for (int64_t w = 0; w < windows; ++w) {
      for (int64_t i = 0; i < 8; ++i) pred[w][i] = std::sin(0.7f * static_cast<float>(w * 8 + i)) + 0.01f * static_cast<float>(i);
    }
    pred[2][1] = std::nanf("");  // a NaN prediction is ignored like a missing one
    Stitcher whole(spec, out);
    for (int64_t w = windows - 1; w >= 0; --w) {
      if (w == skipped) {
        whole.Skip(w);
      } else {
        whole.Add(w, 2 * w, pred[w].data());
      }
    }
    const auto expected = whole.Finish(out);

    // The first piece's trace reaches to the end of its last window (sample 10); it owns [0, 8).
    Stitcher first(spec, 10, 0, false), second(spec, out - 8, 4, true);
    for (int64_t w : {7, 4, 8, 5, 6}) {
      if (w == skipped) {
        second.Skip(w);
      } else {
        second.Add(w, 2 * w - 8, pred[w].data());
      }
    }
    for (int64_t w : {1, 3, 0, 2}) first.Add(w, 2 * w, pred[w].data());
    auto head = first.Finish(8);
    second.MergeHead(first.TakeCarry(8));
    const auto tail = second.Finish(out - 8);
    for (size_t l = 0; l < 2; ++l) {
      std::vector<float> joined = head[l];
      joined.insert(joined.end(), tail[l].begin(), tail[l].end());
      ASSERT_EQ(joined.size(), expected[l].size());
      for (size_t i = 0; i < joined.size(); ++i) {
        if (std::isnan(expected[l][i])) {
          EXPECT_TRUE(std::isnan(joined[i])) << l << " " << i;
        } else {
          EXPECT_EQ(joined[i], expected[l][i]) << l << " " << i;
        }
      }
    }
    // Sample 0 has window 0 alone; samples 12..13 window 6 alone (window 5 was skipped).
    EXPECT_EQ(expected[0][0], pred[0][0]);
    EXPECT_EQ(expected[0][12], pred[6][0]);
  }
}

TEST(PickerTest, TriggersLikeObspyTriggerOnset) {
  // on > 0.5, off > 0.25; the second excursion above 0.5 lies inside the first trigger. At 1 Hz
  // from time 0, a pick's times are its sample indices in seconds.
  const float x[] = {0.0f, 0.6f, 0.3f, 0.7f, 0.26f, 0.25f, 0.5f, 0.51f, 0.9f, 0.1f, 0.8f};
  auto p = PickTrace("XX.STA.", "P", x, 11, 0, 1.0, 0.5);
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p[0].start_time, 1 * kNanosPerSecond);
  EXPECT_EQ(p[0].end_time, 4 * kNanosPerSecond);    // 0.25 is not > 0.25
  EXPECT_EQ(p[0].peak_time, 3 * kNanosPerSecond);
  EXPECT_EQ(p[1].start_time, 7 * kNanosPerSecond);  // 0.5 is not > 0.5
  EXPECT_EQ(p[1].end_time, 8 * kNanosPerSecond);
  EXPECT_EQ(p[2].start_time, 10 * kNanosPerSecond);  // still on at the end: off = last sample
  EXPECT_EQ(p[2].end_time, 10 * kNanosPerSecond);
}

// A trace fed in parts (the pieces of a long block) gives the picks of the whole trace, wherever
// it is split — also inside a trigger.
TEST(PickerTest, StreamInPartsEqualsWholeTrace) {
  std::vector<float> x(400);
  for (size_t i = 0; i < x.size(); ++i) x[i] = 0.5f + 0.5f * std::sin(0.07f * static_cast<float>(i) * (1.0f + 0.002f * i));
  const auto whole = PickTrace("XX.STA.", "S", x.data(), 400, 5 * kNanosPerSecond, 100.0, 0.7);
  ASSERT_GT(whole.size(), 5u);
  for (int64_t a = 1; a < 400; a += 13) {
    for (int64_t b = a; b < 400; b += 57) {
      PickStream s("XX.STA.", "S", 5 * kNanosPerSecond, 100.0, 0.7);
      std::vector<Pick> parts;
      s.Feed(x.data(), a, 0, &parts);
      s.Feed(x.data() + a, b - a, a, &parts);
      s.Feed(x.data() + b, 400 - b, b, &parts);
      s.Close(&parts);
      ASSERT_EQ(parts.size(), whole.size());
      for (size_t k = 0; k < whole.size(); ++k) {
        EXPECT_EQ(parts[k].start_time, whole[k].start_time);
        EXPECT_EQ(parts[k].peak_time, whole[k].peak_time);
        EXPECT_EQ(parts[k].end_time, whole[k].end_time);
        EXPECT_EQ(parts[k].peak_value, whole[k].peak_value);
      }
    }
  }
}

TEST(PickerTest, PickTimesAndPeak) {
  const float x[] = {0.0f, 0.4f, 0.8f, 0.8f, 0.2f, NAN};
  const NanoTime start = 1'000'000'000'000'000'000LL;
  auto picks = PickTrace("XX.STA.", "P", x, 6, start, 100.0, 0.3);
  ASSERT_EQ(picks.size(), 1u);
  EXPECT_EQ(picks[0].start_time, start + 10'000'000);
  EXPECT_EQ(picks[0].peak_time, start + 20'000'000);  // first of equal maxima
  EXPECT_EQ(picks[0].end_time, start + 40'000'000);   // 0.2 > 0.15
  EXPECT_FLOAT_EQ(picks[0].peak_value, 0.8f);
}

}  // namespace
}  // namespace rapid
