// Preprocess: component mapping, strict intersection across components, zero-filling.
#include <gtest/gtest.h>

#include "engine/station_block.h"

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

TEST(StationBlockTest, StrictIntersectionStartsAtLatestComponent) {
  // Z starts 1 ms late and E ends 200 samples early; N and Z run to the end.
  std::vector<TraceSegment> segs = {Seg("HHE", kT0, 800, 1.0), Seg("HHN", kT0, 1000, 2.0),
                                    Seg("HHZ", kT0 + 1'000'000, 1000, 3.0)};
  std::vector<StationBlock> blocks;
  std::vector<std::string> notes;
  ASSERT_TRUE(BuildStationBlocks(segs, Spec(), &blocks, &notes).ok());
  ASSERT_EQ(blocks.size(), 1u);
  const StationBlock& b = blocks[0];
  EXPECT_EQ(b.trace_id, "XX.STA.00");
  EXPECT_EQ(b.start, kT0 + 1'000'000);
  // E (ends first) trimmed to [t0, t1]: its 800 samples, the first kept (0.1 sample rounds to 0).
  EXPECT_EQ(b.samples_per_channel, 800);
  EXPECT_EQ(b.Row(0)[0], 1.0);
  EXPECT_EQ(b.Row(1)[799], 2.0);
  EXPECT_EQ(b.Row(2)[0], 3.0);
  EXPECT_TRUE(notes.empty());
}

TEST(StationBlockTest, GapSplitsBlocksAndShortSpansAreReported) {
  std::vector<TraceSegment> segs = {Seg("HHE", kT0, 1000, 1.0), Seg("HHN", kT0, 1000, 1.0),
                                    Seg("HHZ", kT0, 500, 1.0),
                                    Seg("HHZ", kT0 + 6 * kNanosPerSecond, 60, 1.0),    // too short
                                    Seg("HHZ", kT0 + 8 * kNanosPerSecond, 200, 1.0)};  // to E/N's end
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
