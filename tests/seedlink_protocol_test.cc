// SeedLink pieces that need no server: --select patterns and the commands they become, and the
// packet framing of 3.1 and 4.0 on real miniSEED records, whole, cut short, and corrupt.
#include <gtest/gtest.h>

#include <string>

#include "seedlink/packet.h"
#include "seedlink/selector.h"
#include "test_util.h"

namespace rapid {
namespace {

const std::string kPb35Hhz = std::string(RAPID_SOURCE_DIR) +
                             "/data/texnet-sample/20241215T115800Z_20241215T120100Z/PB35/"
                             "TX.PB35.00.HHZ__20241215T115800Z__20241215T120100Z.mseed";

TEST(SeedLinkSelectorTest, PatternsBecomeTheCommandsOfBothProtocols) {
  StreamSelector s;
  ASSERT_TRUE(ParseStreamSelector("TX_*", &s).ok());
  EXPECT_EQ(s.StationPattern(), "TX_*");
  EXPECT_EQ(s.SelectV3(), "");
  EXPECT_EQ(s.SelectV4(), "");
  EXPECT_TRUE(s.Matches("TX", "PB35", "00", "HHZ"));
  EXPECT_FALSE(s.Matches("4O", "PB35", "00", "HHZ"));

  ASSERT_TRUE(ParseStreamSelector("4O_AT01:00HH?", &s).ok());
  EXPECT_EQ(s.network, "4O");
  EXPECT_EQ(s.station, "AT01");
  EXPECT_EQ(s.SelectV3(), "00HH?");
  EXPECT_EQ(s.SelectV4(), "00_H_H_?");
  EXPECT_TRUE(s.Matches("4O", "AT01", "00", "HHZ"));
  EXPECT_FALSE(s.Matches("4O", "AT01", "", "HHZ"));
  EXPECT_FALSE(s.Matches("4O", "AT01", "00", "BHZ"));

  ASSERT_TRUE(ParseStreamSelector("TX_PB*:HH?", &s).ok());
  EXPECT_EQ(s.SelectV3(), "HH?");
  EXPECT_EQ(s.SelectV4(), "*_H_H_?");
  EXPECT_TRUE(s.Matches("TX", "PB35", "", "HH1"));
  EXPECT_TRUE(s.Matches("TX", "PB35", "00", "HH1"));

  ASSERT_TRUE(ParseStreamSelector("TX_PB35:--HHZ", &s).ok());
  EXPECT_EQ(s.location, "");
  EXPECT_EQ(s.SelectV3(), "--HHZ");
  EXPECT_EQ(s.SelectV4(), "_H_H_Z");
  EXPECT_TRUE(s.Matches("TX", "PB35", "", "HHZ"));
  EXPECT_FALSE(s.Matches("TX", "PB35", "00", "HHZ"));

  for (const std::string bad : {"TXPB35", "TX_PB_35", "TX_", "_PB35", "TX_PB35:HHZZ", "TX_P-B", "TX_PB35:00HH*", "TX_PB35:"}) {
    Status st = ParseStreamSelector(bad, &s);
    EXPECT_FALSE(st.ok()) << bad;
    EXPECT_NE(st.message().find("'" + bad + "'"), std::string::npos) << st.message();
  }
}

TEST(SeedLinkSelectorTest, WildcardsMatchTheWholeText) {
  EXPECT_TRUE(WildcardMatch("*", ""));
  EXPECT_TRUE(WildcardMatch("A*B", "AxxB"));
  EXPECT_FALSE(WildcardMatch("A*B", "AxxBx"));
  EXPECT_FALSE(WildcardMatch("??", "0"));
  EXPECT_TRUE(WildcardMatch("??", "00"));
  EXPECT_TRUE(WildcardMatch("*Z", "HHZ"));
  EXPECT_TRUE(WildcardMatch("H*H*Z", "HHHZ"));
  EXPECT_FALSE(WildcardMatch("", "A"));
  EXPECT_FALSE(WildcardMatch("PB35", "PB3"));
}

std::string FirstRecord() { return testing::ReadFileText(kPb35Hhz).substr(0, 512); }

TEST(SeedLinkPacketTest, Version3DataInfoEndAndErrorPackets) {
  const std::string record = FirstRecord();
  const std::string two = "SL00001A" + record + "SL00001B" + record + "END";
  SeedLinkPacket p;
  size_t used = 0;
  std::string error;
  ASSERT_EQ(ParseSeedLinkPacket(two, 3, &p, &used, &error), SeedLinkParse::kPacket) << error;
  EXPECT_EQ(p.kind, SeedLinkPacketKind::kData);
  EXPECT_EQ(p.sequence, 0x1Au);
  EXPECT_EQ(p.payload, record);
  EXPECT_EQ(used, 520u);
  std::string_view rest = std::string_view(two).substr(used);
  ASSERT_EQ(ParseSeedLinkPacket(rest, 3, &p, &used, &error), SeedLinkParse::kPacket);
  EXPECT_EQ(p.sequence, 0x1Bu);
  rest = rest.substr(used);
  ASSERT_EQ(ParseSeedLinkPacket(rest, 3, &p, &used, &error), SeedLinkParse::kPacket);
  EXPECT_EQ(p.kind, SeedLinkPacketKind::kEnd);
  EXPECT_EQ(used, 3u);
  // Every cut before the end of a packet asks for more.
  for (size_t n : {0, 1, 2, 7, 8, 40, 55, 100, 300, 519}) {
    EXPECT_EQ(ParseSeedLinkPacket(std::string_view(two).substr(0, n), 3, &p, &used, &error), SeedLinkParse::kNeedMore) << n;
  }
  const std::string info = "SLINFO *" + std::string(512, 'x') + "SLINFO  " + std::string(512, 'y');
  ASSERT_EQ(ParseSeedLinkPacket(info, 3, &p, &used, &error), SeedLinkParse::kPacket);
  EXPECT_EQ(p.kind, SeedLinkPacketKind::kInfo);
  EXPECT_TRUE(p.info_more);
  ASSERT_EQ(ParseSeedLinkPacket(std::string_view(info).substr(used), 3, &p, &used, &error), SeedLinkParse::kPacket);
  EXPECT_FALSE(p.info_more);
  EXPECT_EQ(p.payload, std::string(512, 'y'));
  ASSERT_EQ(ParseSeedLinkPacket("ERROR\r\n", 3, &p, &used, &error), SeedLinkParse::kPacket);
  EXPECT_EQ(p.kind, SeedLinkPacketKind::kError);
  ASSERT_EQ(ParseSeedLinkPacket("ERROR\rARGUMENTS bad sequence\r\n", 4, &p, &used, &error), SeedLinkParse::kPacket);
  EXPECT_EQ(p.payload, "ERROR ARGUMENTS bad sequence");
  EXPECT_EQ(ParseSeedLinkPacket("ERRO", 3, &p, &used, &error), SeedLinkParse::kNeedMore);
}

TEST(SeedLinkPacketTest, CorruptVersion3PacketsAreMalformedNotAwaited) {
  SeedLinkPacket p;
  size_t used = 0;
  std::string error;
  EXPECT_EQ(ParseSeedLinkPacket("XY000001" + FirstRecord(), 3, &p, &used, &error), SeedLinkParse::kMalformed);
  EXPECT_NE(error.find("XY000001"), std::string::npos) << error;
  EXPECT_EQ(ParseSeedLinkPacket("SL00001G" + FirstRecord(), 3, &p, &used, &error), SeedLinkParse::kMalformed);
  EXPECT_EQ(ParseSeedLinkPacket("SL000001" + std::string(512, '\0'), 3, &p, &used, &error), SeedLinkParse::kMalformed);
  EXPECT_NE(error.find("miniSEED"), std::string::npos) << error;
  EXPECT_EQ(ParseSeedLinkPacket("SLINFO x" + std::string(512, ' '), 3, &p, &used, &error), SeedLinkParse::kMalformed);
}

std::string V4Header(char format, uint32_t length, uint64_t sequence, const std::string& station) {
  std::string h = "SE";
  h += format;
  h += 'D';
  for (int i = 0; i < 4; ++i) h += static_cast<char>((length >> (8 * i)) & 0xFF);
  for (int i = 0; i < 8; ++i) h += static_cast<char>((sequence >> (8 * i)) & 0xFF);
  h += static_cast<char>(station.size());
  return h + station;
}

TEST(SeedLinkPacketTest, Version4PacketsCarrySequenceStationAndPayload) {
  const std::string record = FirstRecord();
  const uint64_t sequence = 0x0102030405060708ULL;
  const std::string packet = V4Header('2', 512, sequence, "TX_PB35") + record;
  SeedLinkPacket p;
  size_t used = 0;
  std::string error;
  ASSERT_EQ(ParseSeedLinkPacket(packet + "END", 4, &p, &used, &error), SeedLinkParse::kPacket) << error;
  EXPECT_EQ(p.kind, SeedLinkPacketKind::kData);
  EXPECT_EQ(p.sequence, sequence);
  EXPECT_EQ(p.station_id, "TX_PB35");
  EXPECT_EQ(p.format, '2');
  EXPECT_EQ(p.payload, record);
  EXPECT_EQ(used, packet.size());
  for (size_t n : {1, 16, 17, 23, 24, 100, 535}) {
    EXPECT_EQ(ParseSeedLinkPacket(std::string_view(packet).substr(0, n), 4, &p, &used, &error), SeedLinkParse::kNeedMore) << n;
  }
  const std::string json = "{\"software\":\"x\"}";
  ASSERT_EQ(ParseSeedLinkPacket(V4Header('J', static_cast<uint32_t>(json.size()), 0, "") + json, 4, &p, &used, &error),
            SeedLinkParse::kPacket);
  EXPECT_EQ(p.kind, SeedLinkPacketKind::kInfo);
  EXPECT_EQ(p.payload, json);
  EXPECT_EQ(ParseSeedLinkPacket(V4Header('2', 1u << 30, 1, "TX_PB35"), 4, &p, &used, &error), SeedLinkParse::kMalformed);
  EXPECT_EQ(ParseSeedLinkPacket("SL000001" + record, 4, &p, &used, &error), SeedLinkParse::kMalformed);
}

}  // namespace
}  // namespace rapid
