#include "io/segment_merge.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <numeric>
#include <random>
#include <regex>
#include <string>
#include <vector>

namespace rapid {
namespace {

const NanoTime kT0 = *ParseIsoTime("2024-12-15T11:58:00Z");
constexpr int64_t kMs = 1'000'000;

ChannelId Hhz() { return ChannelId{"4O", "AT01", "00", "HHZ"}; }

// `count` samples first_value, first_value + 1, ...
TraceSegment Piece(NanoTime start, double rate_hz, int count, double first_value, ChannelId id = Hhz()) {
  TraceSegment p;
  p.id = std::move(id);
  p.start = start;
  p.rate_hz = rate_hz;
  p.samples.resize(count);
  std::iota(p.samples.begin(), p.samples.end(), first_value);
  return p;
}

std::vector<double> Range(double first, int count) {
  std::vector<double> v(count);
  std::iota(v.begin(), v.end(), first);
  return v;
}

TEST(SegmentMergeTest, ExactJoinInAnyOrder) {
  std::vector<std::string> problems;
  const auto merged = MergeSegments({Piece(kT0 + 1000 * kMs, 100, 100, 100), Piece(kT0, 100, 100, 0)},
                                    ReaderOptions(), &problems);
  ASSERT_EQ(merged.size(), 1u);
  EXPECT_EQ(merged[0].start, kT0);
  EXPECT_EQ(merged[0].rate_hz, 100.0);
  EXPECT_EQ(merged[0].samples, Range(0, 200));
  EXPECT_EQ(merged[0].LastSampleTime(), kT0 + 1990 * kMs);
  EXPECT_TRUE(problems.empty());
}

TEST(SegmentMergeTest, IdenticalOverlapIsDeduplicated) {
  std::vector<std::string> problems;
  // Second piece repeats samples 50..99 and adds 100..149.
  const auto merged =
      MergeSegments({Piece(kT0, 100, 100, 0), Piece(kT0 + 500 * kMs, 100, 100, 50)}, ReaderOptions(), &problems);
  ASSERT_EQ(merged.size(), 1u);
  EXPECT_EQ(merged[0].samples, Range(0, 150));
  EXPECT_TRUE(problems.empty());
}

TEST(SegmentMergeTest, ContainedPieceAddsNothing) {
  std::vector<std::string> problems;
  const auto merged =
      MergeSegments({Piece(kT0, 100, 100, 0), Piece(kT0 + 200 * kMs, 100, 10, 20)}, ReaderOptions(), &problems);
  ASSERT_EQ(merged.size(), 1u);
  EXPECT_EQ(merged[0].samples, Range(0, 100));
  EXPECT_TRUE(problems.empty());
}

TEST(SegmentMergeTest, DifferingOverlapKeepsExistingAndReports) {
  std::vector<std::string> problems;
  // Overlaps samples 90..99 with values 1090..1099, then continues with 1100..1109.
  const auto merged =
      MergeSegments({Piece(kT0, 100, 100, 0), Piece(kT0 + 900 * kMs, 100, 20, 1090)}, ReaderOptions(), &problems);
  ASSERT_EQ(merged.size(), 1u);
  std::vector<double> expected = Range(0, 100);
  for (int i = 0; i < 10; ++i) expected.push_back(1100 + i);
  EXPECT_EQ(merged[0].samples, expected);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0],
            "4O.AT01.00.HHZ: 10 of 10 overlapping samples from 2024-12-15T11:58:00.900000Z differ from the data "
            "already merged; kept the earlier samples");
}

TEST(SegmentMergeTest, GapStartsNewSegment) {
  std::vector<std::string> problems;
  // Two samples missing between the pieces: never filled.
  const auto merged =
      MergeSegments({Piece(kT0, 100, 100, 0), Piece(kT0 + 1020 * kMs, 100, 50, 102)}, ReaderOptions(), &problems);
  ASSERT_EQ(merged.size(), 2u);
  EXPECT_EQ(merged[0].samples, Range(0, 100));
  EXPECT_EQ(merged[1].start, kT0 + 1020 * kMs);
  EXPECT_EQ(merged[1].samples, Range(102, 50));
  EXPECT_TRUE(problems.empty());
}

TEST(SegmentMergeTest, ToleranceEdgeIsInclusive) {
  ReaderOptions opts;  // 0.5 samples = 5 ms at 100 Hz
  const NanoTime expected_next = kT0 + 1000 * kMs;
  auto late_by = [&](int64_t ns) {
    return MergeSegments({Piece(kT0, 100, 100, 0), Piece(expected_next + ns, 100, 10, 100)}, opts, nullptr);
  };
  EXPECT_EQ(late_by(5 * kMs).size(), 1u);
  EXPECT_EQ(late_by(5 * kMs + 1).size(), 2u);
  EXPECT_EQ(late_by(-5 * kMs).size(), 1u);
  EXPECT_EQ(late_by(-5 * kMs)[0].samples.size(), 110u);  // jitter: nothing dropped
  opts.time_tolerance_samples = 0;
  EXPECT_EQ(MergeSegments({Piece(kT0, 100, 100, 0), Piece(expected_next + 1, 100, 10, 100)}, opts, nullptr).size(),
            2u);
}

TEST(SegmentMergeTest, JoinedTimesComeFromFirstStartNotAccumulated) {
  // 3 Hz: sample times are not whole nanoseconds, so chunk starts are rounded. Ten chunks of 7
  // samples each join, and every sample time equals start + i / rate exactly.
  std::vector<TraceSegment> pieces;
  for (int k = 0; k < 10; ++k) pieces.push_back(Piece(SampleTime(kT0, 7 * k, 3.0), 3.0, 7, 7 * k));
  std::vector<std::string> problems;
  const auto merged = MergeSegments(std::move(pieces), ReaderOptions(), &problems);
  ASSERT_EQ(merged.size(), 1u);
  EXPECT_EQ(merged[0].samples, Range(0, 70));
  for (int64_t i = 0; i < 70; ++i) EXPECT_EQ(merged[0].SampleTimeAt(i), SampleTime(kT0, i, 3.0)) << i;
  EXPECT_TRUE(problems.empty());
}

TEST(SegmentMergeTest, OverlappingChunksOfOneStationJoinExactly) {
  // One-minute chunks at 40 Hz with a 2 s overlap, as the chunked layout delivers them.
  std::vector<TraceSegment> pieces;
  for (int k = 0; k < 3; ++k) pieces.push_back(Piece(kT0 + k * 60'000 * kMs, 40, 2400 + 80, 2400 * k));
  const auto merged = MergeSegments(std::move(pieces), ReaderOptions(), nullptr);
  ASSERT_EQ(merged.size(), 1u);
  EXPECT_EQ(merged[0].samples, Range(0, 3 * 2400 + 80));
  EXPECT_EQ(merged[0].LastSampleTime(), kT0 + (3 * 2400 + 79) * 25 * kMs);
}

TEST(SegmentMergeTest, RateToleranceGroupsRates) {
  std::vector<std::string> problems;
  // 100.005 Hz is within 1e-4 of 100 Hz: joins and keeps the first piece's rate.
  auto merged = MergeSegments({Piece(kT0, 100, 100, 0), Piece(kT0 + 1000 * kMs, 100.005, 10, 100)}, ReaderOptions(),
                              &problems);
  ASSERT_EQ(merged.size(), 1u);
  EXPECT_EQ(merged[0].rate_hz, 100.0);
  EXPECT_EQ(merged[0].samples.size(), 110u);
  // 100.02 Hz is not: two segments, one per rate, sorted by start then rate.
  merged = MergeSegments({Piece(kT0, 100, 100, 0), Piece(kT0 + 1000 * kMs, 100.02, 10, 100)}, ReaderOptions(),
                         &problems);
  ASSERT_EQ(merged.size(), 2u);
  EXPECT_EQ(merged[0].rate_hz, 100.0);
  EXPECT_EQ(merged[1].rate_hz, 100.02);
  EXPECT_TRUE(problems.empty());
}

TEST(SegmentMergeTest, ChannelsKeptApartAndSorted) {
  const ChannelId hhe{"4O", "AT01", "00", "HHE"};
  const ChannelId other{"4O", "AA01", "", "HHZ"};
  const auto merged = MergeSegments(
      {Piece(kT0, 100, 10, 0), Piece(kT0 + 100 * kMs, 100, 10, 10, hhe), Piece(kT0, 100, 10, 0, hhe),
       Piece(kT0, 100, 10, 5, other)},
      ReaderOptions(), nullptr);
  ASSERT_EQ(merged.size(), 3u);
  EXPECT_EQ(merged[0].id.ToString(), "4O.AA01..HHZ");
  EXPECT_EQ(merged[1].id.ToString(), "4O.AT01.00.HHE");
  EXPECT_EQ(merged[1].samples, Range(0, 20));
  EXPECT_EQ(merged[2].id.ToString(), "4O.AT01.00.HHZ");
}

TEST(SegmentMergeTest, OffGridOverlapIsKeptSeparateAndReported) {
  std::vector<std::string> problems;
  // Starts 0.34 s into a 10 Hz segment: 0.4 samples off its grid, beyond a 0.2-sample tolerance.
  ReaderOptions opts;
  opts.time_tolerance_samples = 0.2;
  const auto merged = MergeSegments({Piece(kT0, 10, 10, 0), Piece(kT0 + 340 * kMs, 10, 10, 100)}, opts, &problems);
  ASSERT_EQ(merged.size(), 2u);
  EXPECT_EQ(merged[1].start, kT0 + 340 * kMs);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("off its sample grid"), std::string::npos) << problems[0];
}

TEST(SegmentMergeTest, InvalidAndEmptyPiecesDropped) {
  std::vector<std::string> problems;
  TraceSegment empty = Piece(kT0, 100, 0, 0);
  TraceSegment bad_rate = Piece(kT0, 0, 5, 0);
  TraceSegment unset = Piece(kUnsetTime, 100, 5, 0);
  const auto merged = MergeSegments({empty, bad_rate, unset, Piece(kT0, 100, 3, 7)}, ReaderOptions(), &problems);
  ASSERT_EQ(merged.size(), 1u);
  EXPECT_EQ(merged[0].samples, Range(7, 3));
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_EQ(problems[0], "4O.AT01.00.HHZ: dropped 5 samples with an invalid sample rate or start time");
}

// Fed one piece at a time, a piece out of time order is taken only when it repeats samples the
// newest segment of its rate group holds, on its grid and equal (MergeSegments drops it too);
// anything else is refused, and the caller falls back to MergeSegments.
TEST(SegmentMergeTest, AMergerTakesOnlyExactRepeatsOutOfOrder) {
  const auto add = [](SegmentMerger* merger, const TraceSegment& piece) {
    return merger->Add(piece.id, piece.start, piece.rate_hz, SampleSpan{piece.samples.data(),
                       SampleSpan::Type::kFloat64, static_cast<int64_t>(piece.samples.size())});
  };
  TraceSegment differing = Piece(kT0 + 500 * kMs, 100, 100, 50);
  differing.samples[99] += 1;
  struct Case {
    const char* what;
    TraceSegment piece;
    bool taken;
  };
  const Case cases[] = {
      {"repeat", Piece(kT0 + 500 * kMs, 100, 100, 50), true},
      {"repeat within the jitter tolerance", Piece(kT0 + 501 * kMs, 100, 100, 50), true},
      {"a sample differs", differing, false},
      {"off the grid", Piece(kT0 + 504 * kMs, 100, 100, 50), false},
      {"past the segment's end", Piece(kT0 + 1500 * kMs, 100, 200, 150), false},
      {"before the newest segment (after a gap)", Piece(kT0 - 5000 * kMs, 100, 10, 0), false},
      {"another rate", Piece(kT0 + 500 * kMs, 50, 10, 50), false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    std::vector<std::string> problems;
    ReaderOptions opts;  // borrowed by the merger
    opts.time_tolerance_samples = 0.2;
    SegmentMerger merger(opts, &problems);
    ASSERT_TRUE(add(&merger, Piece(kT0 - 10000 * kMs, 100, 10, -1000)));
    ASSERT_TRUE(add(&merger, Piece(kT0, 100, 200, 0)));
    ASSERT_TRUE(add(&merger, Piece(kT0 + 2000 * kMs, 100, 100, 200)));
    EXPECT_EQ(add(&merger, c.piece), c.taken);
    ASSERT_TRUE(add(&merger, Piece(kT0 + 3000 * kMs, 100, 100, 300)));
    const std::vector<TraceSegment> merged = merger.Take();
    ASSERT_EQ(merged.size(), 2u);
    EXPECT_EQ(merged[1].start, kT0);
    EXPECT_EQ(merged[1].samples, Range(0, 400));
    EXPECT_TRUE(problems.empty());
  }
}

// Pieces fed one at a time, falling back to MergeSegments at the first refusal (as the reader
// does), give what MergeSegments gives: random tilings of two channels with gaps, jitter, pieces
// repeated whole or in part (some with a differing sample) and pieces moved later.
TEST(SegmentMergeTest, FeedingPiecesWithFallbackEqualsMergeSegments) {
  std::mt19937 rng(20261207);
  const auto uniform = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  int refused = 0, taken_out_of_order = 0;
  for (int scenario = 0; scenario < 3000; ++scenario) {
    std::vector<TraceSegment> pieces;
    for (const ChannelId& id : {Hhz(), ChannelId{"4O", "AT01", "00", "HHN"}}) {
      int64_t index = 0;  // on the 100 Hz grid from kT0
      while (pieces.size() < 40 && index < 400) {
        if (uniform(0, 9) == 0) index += uniform(1, 30);  // a gap
        const int count = uniform(1, 20);
        TraceSegment p = Piece(kT0 + index * 10 * kMs + uniform(-2, 2) * kMs / 2, 100, count, index, id);
        pieces.push_back(p);
        if (uniform(0, 4) == 0) {  // repeated, whole or in part, maybe with one sample changed
          const int from = uniform(0, count - 1), n = uniform(1, count - from + 10);
          TraceSegment r = Piece(p.start + from * 10 * kMs, 100, n, index + from, id);
          if (uniform(0, 3) == 0) r.samples[uniform(0, n - 1)] += 0.5;
          pieces.push_back(r);
        }
        index += count;
      }
    }
    std::vector<TraceSegment> feed = pieces;
    for (int moves = uniform(0, 3); moves > 0; --moves) {
      const size_t from = uniform(0, static_cast<int>(feed.size()) - 1);
      const size_t to = uniform(static_cast<int>(from), static_cast<int>(feed.size()) - 1);
      std::rotate(feed.begin() + from, feed.begin() + from + 1, feed.begin() + to + 1);
    }
    const ReaderOptions opts;
    std::vector<std::string> fed_problems, sorted_problems;
    SegmentMerger merger(opts, &fed_problems);
    bool all_taken = true;
    std::map<ChannelId, NanoTime> latest;  // start of each channel's latest piece
    for (const TraceSegment& p : feed) {
      const SampleSpan span{p.samples.data(), SampleSpan::Type::kFloat64, static_cast<int64_t>(p.samples.size())};
      if (!merger.Add(p.id, p.start, p.rate_hz, span)) {
        all_taken = false;
        break;
      }
      NanoTime& channel_latest = latest.try_emplace(p.id, kUnsetTime).first->second;
      taken_out_of_order += p.start < channel_latest;
      channel_latest = std::max(channel_latest, p.start);
    }
    refused += !all_taken;
    std::vector<TraceSegment> fed = merger.Take();
    if (!all_taken) {
      fed_problems.clear();
      fed = MergeSegments(feed, opts, &fed_problems);
    }
    const std::vector<TraceSegment> sorted = MergeSegments(feed, opts, &sorted_problems);
    ASSERT_EQ(fed.size(), sorted.size()) << "scenario " << scenario;
    for (size_t i = 0; i < fed.size(); ++i) {
      ASSERT_EQ(fed[i].id, sorted[i].id) << "scenario " << scenario;
      ASSERT_EQ(fed[i].start, sorted[i].start) << "scenario " << scenario;
      ASSERT_EQ(fed[i].samples, sorted[i].samples) << "scenario " << scenario;
    }
    // The same problems; fed, they come in the feed's order of channels rather than sorted, and a
    // differing overlap may count fewer overlapping samples (a repeat taken later had extended
    // the segment before it when sorted).
    for (std::vector<std::string>* problems : {&fed_problems, &sorted_problems}) {
      const std::regex overlap_count(" of [0-9]+ overlapping");
      for (std::string& p : *problems) p = std::regex_replace(p, overlap_count, " of N overlapping");
      std::sort(problems->begin(), problems->end());
    }
    ASSERT_EQ(fed_problems, sorted_problems) << "scenario " << scenario;
  }
  std::printf("%d of 3000 feeds refused a piece; %d pieces taken out of order\n", refused, taken_out_of_order);
  EXPECT_GT(refused, 100);
  EXPECT_GT(taken_out_of_order, 50);
}

TEST(SegmentTraceTest, ChannelIdFormatting) {
  const ChannelId id{"4O", "BP01", "", "HHZ"};
  EXPECT_EQ(id.StationKey(), "4O.BP01.");
  EXPECT_EQ(id.ToString(), "4O.BP01..HHZ");
  EXPECT_TRUE((ChannelId{"4O", "BP01", "", "HHE"} < id));
  EXPECT_TRUE((ChannelId{"4O", "BP01", "", "HHZ"} == id));
}

}  // namespace
}  // namespace rapid
