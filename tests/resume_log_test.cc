// Where a restarted live stream takes up each instrument (live/resume_log.h): the restart's data
// start on the window grid early enough that every window covering the settled time is computed
// again from the same samples, and the SeedLink stations are asked again from the earliest record
// holding those data.
#include <gtest/gtest.h>

#include "live/resume_log.h"

namespace rapid {
namespace {

constexpr NanoTime kSecond = kNanosPerSecond;

TEST(ResumeLogTest, RestartDataFromIsTheNewestWindowStartWhoseWindowEndsByTheSettledTime) {
  // 100 Hz, 30.01 s windows every 15 s (PhaseNet), grid from t = 1000 s.
  const NanoTime w = 1000 * kSecond;
  auto from = [&](NanoTime settled) { return RestartDataFrom(w, settled, 100.0, 3001, 1500); };
  EXPECT_EQ(from(w), w);                    // nothing settled: from the block's start
  EXPECT_EQ(from(w + 30 * kSecond), w);     // no window ended yet
  EXPECT_EQ(from(w + 45 * kSecond), w);     // the window at 15 s ends at 45.01 s
  EXPECT_EQ(from(w + 45 * kSecond + 10'000'000), w + 15 * kSecond);  // now it has
  EXPECT_EQ(from(w + 100 * kSecond), w + 60 * kSecond);
  for (NanoTime settled = w; settled < w + 300 * kSecond; settled += 777'000'000) {
    const NanoTime g = from(settled);
    EXPECT_EQ((g - w) % (15 * kSecond), 0);  // on the grid
    if (g > w) {
      EXPECT_LE(g + NanoTime{3001} * 10'000'000, settled);    // its window ends by the settled time
      EXPECT_GT(g + NanoTime{4501} * 10'000'000, settled);  // the next one's does not
    }
  }
}

TEST(ResumeLogTest, SnapshotAsksForTheEarliestRecordStillNeededAndForgetsOlderOnes) {
  ResumeLog log(100.0, 3001, 1500);
  const NanoTime t0 = 1000 * kSecond;
  log.Opened(7, "TX.PB01.00.HH", "TX_PB01", {});
  log.Opened(8, "TX.PB02.00.HH", "TX_PB02", {});
  // Records of 10 s, numbered as a server sends them: Z and N of PB01 interleaved with PB02's Z.
  uint64_t seq = 100;
  for (int r = 0; r < 12; ++r) {
    const NanoTime start = t0 + r * 10 * kSecond;
    log.Received(7, "HHZ", start, start + 10 * kSecond, seq++);
    log.Received(8, "HHZ", start, start + 10 * kSecond, seq++);
    log.Received(7, "HHN", start, start + 10 * kSecond, seq++);
  }
  std::map<std::string, InstrumentResume> instruments;
  std::map<std::string, uint64_t> first;
  log.Snapshot(&instruments, &first);  // nothing settled: everything from the first record
  EXPECT_EQ(instruments.at("TX.PB01.00.HH").data_from, t0);
  EXPECT_EQ(instruments.at("TX.PB01.00.HH").picks_from, t0);
  EXPECT_EQ(first.at("TX_PB01"), 100u);
  EXPECT_EQ(first.at("TX_PB02"), 101u);

  log.Settled(7, t0, t0 + 75 * kSecond);  // data from 30 s: the records at 30–40 s (4th round)
  log.Snapshot(&instruments, &first);
  EXPECT_EQ(instruments.at("TX.PB01.00.HH").data_from, t0 + 30 * kSecond);
  EXPECT_EQ(instruments.at("TX.PB01.00.HH").picks_from, t0 + 75 * kSecond);
  EXPECT_EQ(first.at("TX_PB01"), 100u + 3 * 3);
  EXPECT_EQ(first.at("TX_PB02"), 101u);  // still nothing settled there

  // A restarted instrument keeps its resume point until it settles past it.
  log.Opened(9, "TX.PB03.00.HH", "TX_PB03", {t0 + 15 * kSecond, t0 + 50 * kSecond});
  log.Received(9, "HHZ", t0 + 10 * kSecond, t0 + 20 * kSecond, 5000);
  log.Settled(9, t0 + 15 * kSecond, t0 + 40 * kSecond);
  log.Snapshot(&instruments, &first);
  EXPECT_EQ(instruments.at("TX.PB03.00.HH").data_from, t0 + 15 * kSecond);
  EXPECT_EQ(instruments.at("TX.PB03.00.HH").picks_from, t0 + 50 * kSecond);
  EXPECT_EQ(first.at("TX_PB03"), 5000u);

  // Forgotten records are not asked for again, even when an instrument falls back.
  log.Settled(7, t0, t0 + 105 * kSecond);
  log.Snapshot(&instruments, &first);
  EXPECT_EQ(instruments.at("TX.PB01.00.HH").data_from, t0 + 60 * kSecond);
  EXPECT_EQ(first.at("TX_PB01"), 100u + 6 * 3);
}

}  // namespace
}  // namespace rapid
