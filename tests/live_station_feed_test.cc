// One station's records arriving a record at a time, channels out of step, become parts that give
// the station stream exactly the pieces of the whole data; repeats are dropped, a silent channel
// stops holding the others back, and memory stays bounded.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "engine/station_stream.h"
#include "fake_model.h"
#include "io/mseed_reader.h"
#include "io/segment_merge.h"
#include "live/station_feed.h"
#include "seedlink_test_server.h"
#include "test_util.h"

namespace rapid {
namespace {

const std::string kStation = std::string(RAPID_SOURCE_DIR) + "/data/texnet-sample/20241215T115800Z_20241215T120100Z/PB35";
constexpr NanoTime kLag = 20 * kNanosPerSecond;

// The station's records by channel (HH1, HH2, HHZ), each decoded to its segment, in time order.
std::vector<std::vector<TraceSegment>> RecordsByChannel() {
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(kStation)) files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  std::vector<std::vector<TraceSegment>> out;
  for (const std::string& f : files) {
    out.emplace_back();
    for (const std::string& record : testing::SplitRecords(testing::ReadFileText(f))) {
      MseedFileContents c;
      EXPECT_TRUE(DecodeMseedBytes(record, f, ReaderOptions(), &c).ok());
      EXPECT_EQ(c.segments.size(), 1u);
      out.back().push_back(c.segments.front());
    }
  }
  return out;
}

std::vector<StationBlock> Pieces(const std::vector<std::vector<TraceSegment>>& parts) {
  const ModelSpec spec = testing::FakeModel().Spec();
  StationStream stream(spec, 1, 0);
  std::vector<StationBlock> pieces;
  std::vector<std::string> notes;
  for (const auto& part : parts) EXPECT_TRUE(stream.Push(part, &pieces, &notes).ok());
  EXPECT_TRUE(stream.Close(&pieces, &notes).ok());
  return pieces;
}

// Feeds records in `order` (channel index per step), taking what is ready after each.
std::vector<std::vector<TraceSegment>> Fed(const std::vector<std::vector<TraceSegment>>& records,
                                           const std::vector<size_t>& order, LiveStationFeed* feed,
                                           int64_t* max_buffered) {
  std::vector<size_t> next(records.size(), 0);
  std::vector<std::vector<TraceSegment>> parts;
  for (size_t c : order) {
    feed->Add(records[c][next[c]++]);
    *max_buffered = std::max(*max_buffered, feed->buffered_samples());
    std::vector<TraceSegment> part = feed->TakeReady();
    if (!part.empty()) parts.push_back(std::move(part));
  }
  parts.push_back(feed->TakeAll());
  return parts;
}

TEST(LiveStationFeedTest, ChannelsOutOfStepGiveTheWholeDatasPieces) {
  const auto records = RecordsByChannel();
  ASSERT_EQ(records.size(), 3u);
  std::vector<TraceSegment> whole;
  for (const auto& channel : records) whole.insert(whole.end(), channel.begin(), channel.end());
  const auto want = Pieces({MergeSegments(whole, ReaderOptions(), nullptr)});
  ASSERT_GT(want.size(), 100u);
  // Round robin, and HHZ running 3 records (~12 s of its data, within the lag) ahead of the others.
  std::vector<size_t> round_robin, skewed;
  size_t total = 0;
  for (const auto& channel : records) total += channel.size();
  for (size_t r = 0; r < std::max({records[0].size(), records[1].size(), records[2].size()}); ++r) {
    for (size_t c = 0; c < 3; ++c) {
      if (r < records[c].size()) round_robin.push_back(c);
    }
  }
  std::vector<size_t> sent(3, 0);
  while (skewed.size() < total) {
    const size_t c = (sent[2] < records[2].size() && sent[2] < std::min(sent[0], sent[1]) + 3) ? 2
                     : sent[0] <= sent[1] && sent[0] < records[0].size()                    ? 0
                     : sent[1] < records[1].size()                                           ? 1
                                                                                              : 2;
    skewed.push_back(c);
    sent[c] += 1;
  }
  for (const auto& order : {round_robin, skewed}) {
    LiveStationFeed feed(kLag);
    int64_t max_buffered = 0;
    const auto parts = Fed(records, order, &feed, &max_buffered);
    EXPECT_GT(parts.size(), 10u);
    const auto got = Pieces(parts);
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_EQ(got[i].start, want[i].start) << i;
      EXPECT_TRUE(got[i].samples == want[i].samples) << "piece " << i;
    }
    EXPECT_EQ(feed.dropped_records(), 0);
    EXPECT_LT(max_buffered, 3 * (kLag / kNanosPerSecond + 10) * 100);  // the lag and a record or two per channel
  }
}

TEST(LiveStationFeedTest, RepeatsAreDroppedAndASilentChannelStopsHoldingTheOthers) {
  const auto records = RecordsByChannel();
  LiveStationFeed feed(kLag);
  EXPECT_TRUE(feed.Add(records[2][0]));
  EXPECT_FALSE(feed.Add(records[2][0]));  // the same record again
  EXPECT_EQ(feed.dropped_records(), 1);
  EXPECT_TRUE(feed.TakeReady().empty());  // the start: other channels may still come
  // Only HHZ and HH1 from here on: HH2 is silent.
  int64_t released = 0;
  for (size_t r = 1; r < records[2].size(); ++r) {
    feed.Add(records[2][r]);
    if (r - 1 < records[0].size()) feed.Add(records[0][r - 1]);
    for (const TraceSegment& s : feed.TakeReady()) released += static_cast<int64_t>(s.samples.size());
    EXPECT_LT(feed.buffered_samples(), 2 * (kLag / kNanosPerSecond + 10) * 100) << r;
  }
  EXPECT_GT(released, 2 * 100 * 100);  // well over 100 s of both channels went out
  // A repeat of what was released is dropped too.
  EXPECT_FALSE(feed.Add(records[2][1]));
}

}  // namespace
}  // namespace rapid
