// Preprocess: component mapping, strict intersection across components, zero-filling.
#include <gtest/gtest.h>

#include "engine/station_block.h"
#include "engine/station_stream.h"

namespace rapid {
namespace {

constexpr NanoTime kT0 = 1734263880LL * kNanosPerSecond;  // 2024-12-15T11:58:00Z

TraceSegment Seg(const std::string& cha, NanoTime start, size_t n, double value, double rate = 100.0) {
  TraceSegment s;
  s.id = {"XX", "STA", "00", cha};
  s.start = start;
  s.rate_hz = rate;
  s.samples.assign(n, value);
  return s;
}

ModelSpec Spec() {
  ModelSpec s;
  s.component_order = "ENZ";
  s.labels = {"N", "P", "S"};
  s.in_samples = 100;
  s.overlap_samples = 50;
  return s;
}

TEST(StationBlockTest, ComponentMappingIsFlexibleForHorizontals) {
  EXPECT_EQ(ComponentIndex("HHZ", "ENZ"), 2);
  EXPECT_EQ(ComponentIndex("HHE", "ENZ"), 0);
  EXPECT_EQ(ComponentIndex("HH1", "ENZ"), 1);
  EXPECT_EQ(ComponentIndex("HH2", "ENZ"), 0);
  EXPECT_EQ(ComponentIndex("HHH", "ENZ"), -1);  // hydrophone
  EXPECT_EQ(ComponentIndex("HHN", "Z12"), 1);
}

TEST(StationBlockTest, ComponentsJoinOnTheGridAndReportTheMeanShift) {
  // Z starts 1 ms late (0.1 sample: its grid index is that of kT0) and E ends 200 samples early.
  std::vector<TraceSegment> segs = {Seg("HHE", kT0, 800, 1.0), Seg("HHN", kT0, 1000, 2.0),
                                    Seg("HHZ", kT0 + 1'000'000, 1000, 3.0)};
  std::vector<StationBlock> blocks;
  std::vector<std::string> notes;
  ASSERT_TRUE(BuildStationBlocks(segs, Spec(), &blocks, &notes).ok());
  ASSERT_EQ(blocks.size(), 1u);
  const StationBlock& b = blocks[0];
  EXPECT_EQ(b.trace_id, "XX.STA.00");
  EXPECT_EQ(b.start, kT0);                  // the grid start
  EXPECT_EQ(b.time_shift_ns, 333'333);      // mean of the shifts 0, 0 and +1 ms
  EXPECT_EQ(b.samples_per_channel, 1000);   // the span some component covers
  EXPECT_EQ(b.Row(0)[799], 1.0);
  EXPECT_EQ(b.Row(0)[800], 0.0);            // E has ended: zeros
  EXPECT_EQ(b.Row(1)[999], 2.0);
  EXPECT_EQ(b.Row(2)[0], 3.0);
  EXPECT_TRUE(notes.empty());
}

TEST(StationBlockTest, HalfSampleOffsetsRoundToEvenGridIndices) {
  // +5 ms and +15 ms at 100 Hz are ties: NumPy's rounding sends them to grid indices 0 and 2.
  EXPECT_EQ(AlignedGridIndex(kT0 + 5'000'000, 100.0) - AlignedGridIndex(kT0, 100.0), 0);
  EXPECT_EQ(AlignedGridIndex(kT0 + 15'000'000, 100.0) - AlignedGridIndex(kT0, 100.0), 2);
  std::vector<TraceSegment> segs = {Seg("HHE", kT0 + 5'000'000, 500, 1.0), Seg("HHN", kT0 + 5'000'000, 500, 2.0),
                                    Seg("HHZ", kT0 + 15'000'000, 500, 3.0)};
  std::vector<StationBlock> blocks;
  std::vector<std::string> notes;
  ASSERT_TRUE(BuildStationBlocks(segs, Spec(), &blocks, &notes).ok());
  ASSERT_EQ(blocks.size(), 1u);
  EXPECT_EQ(blocks[0].start, kT0);
  EXPECT_EQ(blocks[0].samples_per_channel, 502);
  EXPECT_EQ(blocks[0].Row(2)[1], 0.0);
  EXPECT_EQ(blocks[0].Row(2)[2], 3.0);
  // Shifts +5, +5 and −5 ms: SeisBench's BB06 starts at 12:00:00.001667 the same way.
  EXPECT_EQ(blocks[0].time_shift_ns, 1'666'667);
}

TEST(StationBlockTest, GapInOneComponentIsZeroFilled) {
  std::vector<TraceSegment> segs = {Seg("HHE", kT0, 1000, 1.0), Seg("HHN", kT0, 1000, 1.0),
                                    Seg("HHZ", kT0, 500, 1.0), Seg("HHZ", kT0 + 8 * kNanosPerSecond, 200, 1.0)};
  std::vector<StationBlock> blocks;
  std::vector<std::string> notes;
  ASSERT_TRUE(BuildStationBlocks(segs, Spec(), &blocks, &notes).ok());
  ASSERT_EQ(blocks.size(), 1u);
  EXPECT_EQ(blocks[0].samples_per_channel, 1000);
  EXPECT_EQ(blocks[0].Row(2)[499], 1.0);
  EXPECT_EQ(blocks[0].Row(2)[500], 0.0);
  EXPECT_EQ(blocks[0].Row(2)[799], 0.0);
  EXPECT_EQ(blocks[0].Row(2)[800], 1.0);
  EXPECT_TRUE(notes.empty());
}

TEST(StationBlockTest, GapInEveryComponentSplitsBlocksAndShortSpansAreReported) {
  std::vector<TraceSegment> segs;
  for (const char* cha : {"HHE", "HHN", "HHZ"}) {
    segs.push_back(Seg(cha, kT0, 500, 1.0));
    segs.push_back(Seg(cha, kT0 + 6 * kNanosPerSecond, 60, 1.0));    // too short
    segs.push_back(Seg(cha, kT0 + 8 * kNanosPerSecond, 200, 1.0));
  }
  std::vector<StationBlock> blocks;
  std::vector<std::string> notes;
  ASSERT_TRUE(BuildStationBlocks(segs, Spec(), &blocks, &notes).ok());
  ASSERT_EQ(blocks.size(), 2u);  // the 60-sample span is shorter than one window (100 samples)
  EXPECT_EQ(blocks[0].samples_per_channel, 500);
  EXPECT_EQ(blocks[1].start, kT0 + 8 * kNanosPerSecond);
  EXPECT_EQ(blocks[1].samples_per_channel, 200);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find("shorter than one window"), std::string::npos);
}

TEST(StationBlockTest, MissingComponentIsZeroFilledAndOtherChannelsIgnored) {
  std::vector<TraceSegment> segs = {Seg("HHZ", kT0, 300, 5.0), Seg("HHH", kT0, 300, 9.0)};
  std::vector<StationBlock> blocks;
  std::vector<std::string> notes;
  ASSERT_TRUE(BuildStationBlocks(segs, Spec(), &blocks, &notes).ok());
  ASSERT_EQ(blocks.size(), 1u);
  EXPECT_EQ(blocks[0].Row(0)[10], 0.0);
  EXPECT_EQ(blocks[0].Row(1)[10], 0.0);
  EXPECT_EQ(blocks[0].Row(2)[10], 5.0);
  ASSERT_EQ(notes.size(), 3u);
  EXPECT_NE(notes[0].find("HHH"), std::string::npos);
  EXPECT_NE(notes[1].find("component E missing"), std::string::npos);
}

TEST(StationBlockTest, ResamplesToModelRate) {
  std::vector<TraceSegment> segs = {Seg("HHE", kT0, 2000, 1.0, 200.0), Seg("HHN", kT0, 2000, 1.0, 200.0),
                                    Seg("HHZ", kT0, 2000, 1.0, 200.0)};
  std::vector<StationBlock> blocks;
  std::vector<std::string> notes;
  ASSERT_TRUE(BuildStationBlocks(segs, Spec(), &blocks, &notes).ok());
  ASSERT_EQ(blocks.size(), 1u);
  EXPECT_EQ(blocks[0].rate_hz, 100.0);
  EXPECT_EQ(blocks[0].samples_per_channel, 1000);
}

TEST(StationBlockTest, GroupsByInstrument) {
  std::vector<TraceSegment> segs = {Seg("HHZ", kT0, 10, 1.0), Seg("EHZ", kT0, 10, 1.0), Seg("HHN", kT0, 10, 1.0)};
  auto groups = GroupByInstrument(segs);
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].front().id.channel, "EHZ");
  EXPECT_EQ(groups[1].size(), 2u);
}

}  // namespace
}  // namespace rapid
