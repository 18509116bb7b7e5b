#include <gtest/gtest.h>

#include "core/nano_time.h"

namespace rapid {
namespace {

TEST(NanoTimeTest, FormatsMicrosecondsRounded) {
  const NanoTime t = 1734263943LL * kNanosPerSecond + 120'000'400;  // 2024-12-15T11:59:03.1200004
  EXPECT_EQ(FormatIsoMicros(t), "2024-12-15T11:59:03.120000Z");
  EXPECT_EQ(FormatIsoMicros(t + 100), "2024-12-15T11:59:03.120001Z");
  EXPECT_EQ(FormatIsoMicros(0), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(FormatIsoMicros(-1'000), "1969-12-31T23:59:59.999999Z");
  EXPECT_EQ(FormatIsoMicros(951782400LL * kNanosPerSecond), "2000-02-29T00:00:00.000000Z");
}

TEST(NanoTimeTest, ParsesIsoForms) {
  const NanoTime noon = 1734264000LL * kNanosPerSecond;
  EXPECT_EQ(ParseIsoTime("2024-12-15T12:00:00Z"), noon);
  EXPECT_EQ(ParseIsoTime("2024-12-15T12:00:00"), noon);
  EXPECT_EQ(ParseIsoTime("2024-12-15 12:00:00.5"), noon + 500'000'000);
  EXPECT_EQ(ParseIsoTime("2024-12-15T12:00"), noon);
  EXPECT_EQ(ParseIsoTime("2024-12-15"), noon - 12 * 3600 * kNanosPerSecond);
  EXPECT_EQ(ParseIsoTime("2024-12-15T12:00:00.123456789Z"), noon + 123'456'789);
  EXPECT_FALSE(ParseIsoTime("2024-13-01"));
  EXPECT_FALSE(ParseIsoTime("2024-12-15T12:00:00+02:00"));
  EXPECT_FALSE(ParseIsoTime("yesterday"));
  EXPECT_FALSE(ParseIsoTime("2599-12-31T23:59:59"));  // beyond int64 nanoseconds: refused, not wrapped
  EXPECT_FALSE(ParseIsoTime("1600-01-01"));
  EXPECT_TRUE(ParseIsoTime("2261-12-31T23:59:59"));
  EXPECT_EQ(ParseCompactTime("20241215T115800Z"), noon - 120 * kNanosPerSecond);
  EXPECT_FALSE(ParseCompactTime("20241215-115800"));
}

TEST(NanoTimeTest, SampleTimeRoundsToNanoseconds) {
  EXPECT_EQ(SampleTime(0, 1, 3.0), 333'333'333);
  EXPECT_EQ(SampleTime(0, 2, 3.0), 666'666'667);
  EXPECT_EQ(SampleTime(10, 100, 100.0), 10 + kNanosPerSecond);
}

}  // namespace
}  // namespace rapid
