#include "engine/time_chunks.h"

#include <gtest/gtest.h>

#include <limits>
#include <vector>

namespace rapid {
namespace {

constexpr int64_t kMinuteNs = 60 * kNanosPerSecond;

const NanoTime kStart = *ParseIsoTime("2024-12-15T00:00:00Z");

// Chunks from (start, end) pairs in minutes after kStart.
std::vector<TimeChunk> Minutes(const std::vector<std::pair<int64_t, int64_t>>& spans) {
  std::vector<TimeChunk> chunks;
  for (const auto& [from, to] : spans) {
    chunks.push_back({static_cast<int64_t>(chunks.size()), kStart + from * kMinuteNs, kStart + to * kMinuteNs});
  }
  return chunks;
}

TEST(TimeChunkTest, TwoHoursInTenMinuteChunksWithTwoMinuteOverlap) {
  std::vector<TimeChunk> chunks;
  ASSERT_TRUE(PlanTimeChunks(kStart, kStart + 120 * kMinuteNs, 10 * kMinuteNs, 2 * kMinuteNs, &chunks).ok());
  EXPECT_EQ(chunks, Minutes({{0, 10}, {8, 20}, {18, 30}, {28, 40}, {38, 50}, {48, 60}, {58, 70}, {68, 80},
                             {78, 90}, {88, 100}, {98, 110}, {108, 120}}));
  EXPECT_EQ(FormatIsoMicros(chunks[1].start), "2024-12-15T00:08:00.000000Z");
}

TEST(TimeChunkTest, TwoHoursInSixtyMinuteChunks) {
  EXPECT_EQ(PlanTimeChunks(kStart, kStart + 120 * kMinuteNs, 60 * kMinuteNs, 2 * kMinuteNs),
            Minutes({{0, 60}, {58, 120}}));
  EXPECT_EQ(PlanTimeChunks(kStart, kStart + 120 * kMinuteNs, 60 * kMinuteNs, 0), Minutes({{0, 60}, {60, 120}}));
}

TEST(TimeChunkTest, UnevenLastChunkIsClippedToEnd) {
  EXPECT_EQ(PlanTimeChunks(kStart, kStart + 120 * kMinuteNs, 25 * kMinuteNs, 2 * kMinuteNs),
            Minutes({{0, 25}, {23, 50}, {48, 75}, {73, 100}, {98, 120}}));
  // One nanosecond past a whole number of chunks still gets its own (tiny) chunk.
  const std::vector<TimeChunk> chunks =
      PlanTimeChunks(kStart, kStart + 20 * kMinuteNs + 1, 10 * kMinuteNs, 2 * kMinuteNs);
  ASSERT_EQ(chunks.size(), 3u);
  EXPECT_EQ(chunks[2], (TimeChunk{2, kStart + 18 * kMinuteNs, kStart + 20 * kMinuteNs + 1}));
}

TEST(TimeChunkTest, SingleChunk) {
  // Span shorter than a chunk, and span exactly one chunk: one chunk, never extended before start.
  EXPECT_EQ(PlanTimeChunks(kStart, kStart + 30 * kMinuteNs, 60 * kMinuteNs, 2 * kMinuteNs), Minutes({{0, 30}}));
  EXPECT_EQ(PlanTimeChunks(kStart, kStart + 60 * kMinuteNs, 60 * kMinuteNs, 2 * kMinuteNs), Minutes({{0, 60}}));
  EXPECT_EQ(PlanTimeChunks(kStart, kStart + 1, 60 * kMinuteNs, 0), (std::vector<TimeChunk>{{0, kStart, kStart + 1}}));
}

TEST(TimeChunkTest, ChunksCoverTheSpanAndOverlapByExactlyOverlap) {
  const NanoTime end = kStart + 7 * 3600 * kNanosPerSecond + 12'345;
  for (int64_t chunk_s : {1, 7, 60, 600, 3600, 86400}) {
    for (int64_t overlap_s : {0, 1, 5}) {
      if (overlap_s >= chunk_s) continue;
      const int64_t chunk_ns = chunk_s * kNanosPerSecond, overlap_ns = overlap_s * kNanosPerSecond;
      const std::vector<TimeChunk> chunks = PlanTimeChunks(kStart, end, chunk_ns, overlap_ns);
      const int64_t expected_count = (end - kStart + chunk_ns - 1) / chunk_ns;
      ASSERT_EQ(static_cast<int64_t>(chunks.size()), expected_count) << chunk_s << " " << overlap_s;
      EXPECT_EQ(chunks.front().start, kStart);
      EXPECT_EQ(chunks.back().end, end);
      for (size_t i = 0; i < chunks.size(); ++i) {
        EXPECT_EQ(chunks[i].index, static_cast<int64_t>(i));
        EXPECT_LT(chunks[i].start, chunks[i].end);
        if (i + 1 < chunks.size()) {
          EXPECT_EQ(chunks[i].end - chunks[i + 1].start, overlap_ns) << "chunk " << i;
          EXPECT_EQ(chunks[i].end, kStart + static_cast<int64_t>(i + 1) * chunk_ns);
        }
      }
    }
  }
}

TEST(TimeChunkTest, InvalidArgumentsAreRejected) {
  std::vector<TimeChunk> chunks = {{7, 1, 2}};
  const NanoTime end = kStart + 120 * kMinuteNs;
  auto code = [&](NanoTime s, NanoTime e, int64_t c, int64_t o) {
    const Status status = PlanTimeChunks(s, e, c, o, &chunks);
    EXPECT_EQ(chunks.empty(), !status.ok()) << status.ToString() << " n=" << chunks.size();
    return status.code();
  };
  EXPECT_EQ(code(kStart, end, 0, 0), Status::Code::kInvalidArgument);
  EXPECT_EQ(code(kStart, end, -kMinuteNs, 0), Status::Code::kInvalidArgument);
  EXPECT_EQ(code(kStart, end, 10 * kMinuteNs, -1), Status::Code::kInvalidArgument);
  EXPECT_EQ(code(kStart, end, 10 * kMinuteNs, 10 * kMinuteNs), Status::Code::kInvalidArgument);
  EXPECT_EQ(code(kStart, end, 10 * kMinuteNs, 11 * kMinuteNs), Status::Code::kInvalidArgument);
  EXPECT_EQ(code(kStart, kStart, 10 * kMinuteNs, 0), Status::Code::kInvalidArgument);
  EXPECT_EQ(code(end, kStart, 10 * kMinuteNs, 0), Status::Code::kInvalidArgument);
  EXPECT_EQ(code(kUnsetTime, end, 10 * kMinuteNs, 0), Status::Code::kInvalidArgument);
  EXPECT_EQ(code(kStart, kUnsetTime, 10 * kMinuteNs, 0), Status::Code::kInvalidArgument);
  EXPECT_EQ(code(kStart, kStart + 365LL * 86400 * kNanosPerSecond, 1000, 0), Status::Code::kInvalidArgument);
  EXPECT_EQ(code(kStart, end, 10 * kMinuteNs, 9 * kMinuteNs), Status::Code::kOk);

  const Status status = PlanTimeChunks(kStart, end, 10 * kMinuteNs, 10 * kMinuteNs, &chunks);
  EXPECT_EQ(status.message(), "time chunks: overlap 10m must be shorter than the chunk length 10m");
  EXPECT_TRUE(PlanTimeChunks(kStart, end, 10 * kMinuteNs, 10 * kMinuteNs).empty());
}

TEST(TimeChunkTest, ExtremeTimesDoNotOverflow) {
  const NanoTime near_max = std::numeric_limits<int64_t>::max() - 5;
  const std::vector<TimeChunk> chunks = PlanTimeChunks(near_max - 25, near_max, 10, 3);
  EXPECT_EQ(chunks, (std::vector<TimeChunk>{{0, near_max - 25, near_max - 15},
                                            {1, near_max - 18, near_max - 5},
                                            {2, near_max - 8, near_max}}));
}

TEST(TimeChunkTest, ParseDurations) {
  EXPECT_EQ(ParseDurationNs("90s"), 90 * kNanosPerSecond);
  EXPECT_EQ(ParseDurationNs("10m"), 10 * kMinuteNs);
  EXPECT_EQ(ParseDurationNs("10min"), 10 * kMinuteNs);
  EXPECT_EQ(ParseDurationNs("2h"), 120 * kMinuteNs);
  EXPECT_EQ(ParseDurationNs("1d"), 86400 * kNanosPerSecond);
  EXPECT_EQ(ParseDurationNs("500ms"), 500'000'000);
  EXPECT_EQ(ParseDurationNs("250us"), 250'000);
  EXPECT_EQ(ParseDurationNs("7ns"), 7);
  EXPECT_EQ(ParseDurationNs("30"), 30 * kNanosPerSecond);
  EXPECT_EQ(ParseDurationNs("1.5h"), 90 * kMinuteNs);
  EXPECT_EQ(ParseDurationNs("0.25"), 250'000'000);
  EXPECT_EQ(ParseDurationNs(".5m"), 30 * kNanosPerSecond);
  EXPECT_EQ(ParseDurationNs("0.1s"), 100'000'000);  // exact, no binary floating-point error
  EXPECT_EQ(ParseDurationNs("0.0000000015s"), 2);   // rounded to the nearest nanosecond
  EXPECT_EQ(ParseDurationNs("0"), 0);
  EXPECT_EQ(ParseDurationNs("0m"), 0);
  EXPECT_EQ(ParseDurationNs("9223372036s"), 9'223'372'036 * kNanosPerSecond);
}

TEST(TimeChunkTest, ParseDurationRejects) {
  for (const char* bad : {"", "10x", "-5m", "+5m", "m", "5.", ".", "5.m", " 5m", "5m ", "5 m", "1e3", "5mm",
                          "5M", "1.5.2h", "9223372037s", "99999999999999999999", "1000000d"}) {
    EXPECT_FALSE(ParseDurationNs(bad).has_value()) << '"' << bad << '"';
  }
}

TEST(TimeChunkTest, FormatDurations) {
  EXPECT_EQ(FormatDuration(10 * kMinuteNs), "10m");
  EXPECT_EQ(FormatDuration(90 * kMinuteNs), "90m");
  EXPECT_EQ(FormatDuration(120 * kMinuteNs), "2h");
  EXPECT_EQ(FormatDuration(90 * kNanosPerSecond), "90s");
  EXPECT_EQ(FormatDuration(2 * 86400 * kNanosPerSecond), "2d");
  EXPECT_EQ(FormatDuration(1'500'000), "1500us");
  EXPECT_EQ(FormatDuration(500'000'000), "500ms");
  EXPECT_EQ(FormatDuration(7), "7ns");
  EXPECT_EQ(FormatDuration(0), "0s");
  EXPECT_EQ(FormatDuration(-2 * kMinuteNs), "-2m");
  for (int64_t ns : {int64_t{1}, int64_t{999}, 61 * kNanosPerSecond, 86401 * kNanosPerSecond + 3,
                     std::numeric_limits<int64_t>::max()}) {
    EXPECT_EQ(ParseDurationNs(FormatDuration(ns)), ns) << FormatDuration(ns);
  }
}

}  // namespace
}  // namespace rapid
