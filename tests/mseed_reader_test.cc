// Decoding real miniSEED files. Expected values were derived independently of libmseed with an
// ad-hoc Python decoder of the fixed header, blockettes 1000/1001 and Steim1/2 frames.
#include "io/mseed_reader.h"

#include <gtest/gtest.h>
#include <malloc.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "core/allocator.h"
#include "io/mseed_writer.h"
#include "test_util.h"

namespace rapid {
namespace {

std::string Corpus(const std::string& name) { return std::string(RAPID_TEST_DATA_DIR) + "/mseed-corpus/" + name; }

std::string Texnet(const std::string& station_file) {
  return std::string(RAPID_SOURCE_DIR) + "/data/texnet-sample/20241215T115800Z_20241215T120100Z/" + station_file;
}

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// A scratch directory removed at the end of the test.
class ScratchDir {
 public:
  ScratchDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = std::filesystem::temp_directory_path() /
            (std::string("rapid_mseed_reader_") + info->test_suite_name() + "_" + info->name());
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() { std::filesystem::remove_all(path_); }
  std::string File(const std::string& name, const std::string& bytes) const {
    const std::string p = (path_ / name).string();
    std::ofstream(p, std::ios::binary) << bytes;
    return p;
  }

 private:
  std::filesystem::path path_;
};

bool AnyContains(const std::vector<std::string>& messages, const std::string& needle) {
  for (const std::string& m : messages) {
    if (m.find(needle) != std::string::npos) return true;
  }
  return false;
}

MseedFileContents ReadOk(const std::string& path) {
  MseedFileContents contents;
  const Status status = ReadMseedFile(path, ReaderOptions(), &contents);
  EXPECT_TRUE(status.ok()) << status.ToString();
  return contents;
}

// One segment's identity, extent and end samples.
void ExpectSegment(const TraceSegment& seg, const std::string& id, const std::string& start_iso, double rate_hz,
                   size_t count, double first, double last) {
  EXPECT_EQ(seg.id.ToString(), id);
  EXPECT_EQ(FormatIsoMicros(seg.start), start_iso) << id;
  EXPECT_EQ(seg.rate_hz, rate_hz) << id;
  ASSERT_EQ(seg.samples.size(), count) << id;
  EXPECT_EQ(seg.samples.front(), first) << id;
  EXPECT_EQ(seg.samples.back(), last) << id;
}

// ObsPy's encoding/ files all hold the samples 1..50 of XX.TEST..BHE at 1 Hz.
class MseedEncodingTest : public ::testing::TestWithParam<const char*> {};

TEST_P(MseedEncodingTest, DecodesOneToFifty) {
  const MseedFileContents contents = ReadOk(Corpus(std::string("obspy/encoding/") + GetParam()));
  ASSERT_EQ(contents.segments.size(), 1u);
  const TraceSegment& seg = contents.segments[0];
  ExpectSegment(seg, "XX.TEST..BHE", "2004-12-15T00:00:00.000000Z", 1.0, 50, 1, 50);
  for (size_t i = 0; i < seg.samples.size(); ++i) EXPECT_EQ(seg.samples[i], static_cast<double>(i + 1)) << i;
  EXPECT_TRUE(contents.problems.empty());
  EXPECT_EQ(contents.records_skipped, 0);
}

INSTANTIATE_TEST_SUITE_P(
    MseedObspy, MseedEncodingTest,
    ::testing::Values("int16_INT16_bigEndian.mseed", "int16_INT16_littleEndian.mseed", "int32_INT32_bigEndian.mseed",
                    "int32_INT32_littleEndian.mseed", "int32_Steim1_bigEndian.mseed",
                    "int32_Steim1_littleEndian.mseed", "int32_Steim2_bigEndian.mseed",
                    "int32_Steim2_littleEndian.mseed", "float32_Float32_bigEndian.mseed",
                    "float32_Float32_littleEndian.mseed", "float64_Float64_bigEndian.mseed",
                    "float64_Float64_littleEndian.mseed"));

TEST(MseedReaderTest, Float64FileHasTwoRecordsJoined) {
  const MseedFileContents contents = ReadOk(Corpus("obspy/encoding/float64_Float64_littleEndian.mseed"));
  EXPECT_EQ(contents.records_decoded, 2);
  ASSERT_EQ(contents.segments.size(), 1u);
  EXPECT_EQ(contents.segments[0].samples[25], 26.0);  // first sample of the second record
}

TEST(MseedReaderTest, Steim2BigEndianRealData) {
  const MseedFileContents contents = ReadOk(Corpus("obspy/steim2.mseed"));
  ASSERT_EQ(contents.segments.size(), 1u);
  ExpectSegment(contents.segments[0], "NL.HGN.00.BHZ", "2003-05-29T02:13:22.043400Z", 40.0, 5980, 2787, 2863);
}

TEST(MseedReaderTest, Steim2BothByteOrdersAgree) {
  const MseedFileContents be = ReadOk(Corpus("obspy/endiantest.be-header.be-data.mseed"));
  const MseedFileContents le = ReadOk(Corpus("obspy/endiantest.le-header.le-data.mseed"));
  ASSERT_EQ(be.segments.size(), 1u);
  ASSERT_EQ(le.segments.size(), 1u);
  ExpectSegment(be.segments[0], "NL.HGN.00.BHZ", "2003-05-29T02:13:22.043400Z", 40.0, 11947, 2787, 2853);
  ExpectSegment(le.segments[0], "NL.HGN.00.BHZ", "2003-05-29T02:13:22.043400Z", 40.0, 11947, 2787, 2853);
  EXPECT_EQ(be.segments[0].samples, le.segments[0].samples);
  EXPECT_EQ(be.records_decoded, 2);
}

TEST(MseedReaderTest, Steim1BigEndianQualityQ) {
  const MseedFileContents contents = ReadOk(Corpus("obspy/1T_MONN_00_EDH.mseed"));
  ASSERT_EQ(contents.segments.size(), 1u);
  ExpectSegment(contents.segments[0], "1T.MONN.00.EDH", "2019-04-01T18:43:00.003600Z", 125.0, 7501, -2210, 11584);
  EXPECT_EQ(contents.records_decoded, 4);
}

TEST(MseedReaderTest, Steim1LittleEndianSeisbenchObsFourChannels) {
  struct Expected {
    const char* file;
    const char* id;
    double first, last;
  };
  const Expected expected[] = {
      {"OBS1.IQ.HHE..D.2016.185.225026", "IQ.OBS1..HHE", 13401, 14133},
      {"OBS1.IQ.HHH..D.2016.185.225026", "IQ.OBS1..HHH", 812, -8834},
      {"OBS1.IQ.HHN..D.2016.185.225026", "IQ.OBS1..HHN", 13069, 14019},
      {"OBS1.IQ.HHZ..D.2016.185.225026", "IQ.OBS1..HHZ", 11592, 11329},
  };
  for (const Expected& e : expected) {
    const MseedFileContents contents = ReadOk(Corpus(std::string("seisbench-obs1/") + e.file));
    ASSERT_EQ(contents.segments.size(), 1u) << e.file;
    ExpectSegment(contents.segments[0], e.id, "2016-07-03T22:50:26.990900Z", 50.0, 3751, e.first, e.last);
    EXPECT_EQ(contents.segments[0].id.StationKey(), "IQ.OBS1.");
  }
}

TEST(MseedReaderTest, RecordLength1024WithoutSequenceNumbers) {
  const MseedFileContents contents = ReadOk(Corpus("obspy/reclen_1024_without_sequence_numbers.mseed"));
  ASSERT_EQ(contents.segments.size(), 1u);
  ExpectSegment(contents.segments[0], "XX.STF1..HHN", "2007-05-31T22:45:28.100000Z", 50.0, 932, -1374, -1811);
  EXPECT_EQ(contents.records_decoded, 2);
}

TEST(MseedReaderTest, NoBlockette1000LengthFromNextHeaderAndFileEnd) {
  const MseedFileContents contents = ReadOk(Corpus("obspy/mseed_no_blkt_1000.mseed"));
  ASSERT_EQ(contents.segments.size(), 1u);
  ExpectSegment(contents.segments[0], ".GRA1..BHZ", "1976-03-10T03:28:00.000000Z", 20.0, 7536, -185, -64);
  EXPECT_EQ(contents.segments[0].id.network, "");
  EXPECT_EQ(contents.records_decoded, 2);
  EXPECT_TRUE(contents.problems.empty());
}

TEST(MseedReaderTest, TwoChannelsStaySeparate) {
  const MseedFileContents contents = ReadOk(Corpus("obspy/two_channels.mseed"));
  ASSERT_EQ(contents.segments.size(), 2u);
  ExpectSegment(contents.segments[0], "BW.UH3..EHE", "2010-06-20T00:00:00.279999Z", 200.0, 386, -93, -61);
  ExpectSegment(contents.segments[1], "BW.UH3..EHZ", "2010-06-20T00:00:00.279999Z", 200.0, 386, -93, -61);
}

TEST(MseedReaderTest, GapsSplitSegments) {
  const MseedFileContents contents = ReadOk(Corpus("obspy/gaps.mseed"));
  EXPECT_EQ(contents.records_decoded, 128);
  ASSERT_EQ(contents.segments.size(), 4u);
  ExpectSegment(contents.segments[0], "BW.BGLD..EHE", "2007-12-31T23:59:59.915000Z", 200.0, 412, -363, -389);
  ExpectSegment(contents.segments[1], "BW.BGLD..EHE", "2008-01-01T00:00:04.035000Z", 200.0, 824, -427, -388);
  ExpectSegment(contents.segments[2], "BW.BGLD..EHE", "2008-01-01T00:00:10.215000Z", 200.0, 824, -396, -390);
  ExpectSegment(contents.segments[3], "BW.BGLD..EHE", "2008-01-01T00:00:18.455000Z", 200.0, 50668, -389, -405);
}

// A channel with a gap after every record: only its first segment reserves (all the channel's
// samples), the others hold what they got, in time order and out of it (merged after sorting).
TEST(MseedReaderTest, AGapAtEveryRecordReservesTheChannelOnce) {
  constexpr int kSegments = 400;
  constexpr size_t kSamplesEach = 100;  // one 512-byte record each
  std::vector<TraceSegment> segments(kSegments);
  for (int i = 0; i < kSegments; ++i) {
    segments[i].id = {"XX", "GAP", "", "HHZ"};
    segments[i].start = testing::Iso("2024-01-01T00:00:00") + int64_t{i} * 2 * kNanosPerSecond;
    segments[i].rate_hz = 100.0;
    segments[i].samples.assign(kSamplesEach, static_cast<double>(i));
  }
  std::string body;
  ASSERT_TRUE(EncodeMseed(segments, SampleEncoding::kSteim2, 512, &body).ok());
  ASSERT_EQ(body.size(), size_t{512} * kSegments);
  std::string reversed;
  for (size_t at = body.size(); at >= 512; at -= 512) reversed += body.substr(at - 512, 512);
  for (const bool in_order : {true, false}) {
    SCOPED_TRACE(in_order ? "in time order" : "reversed");
    MseedFileContents out;
    ASSERT_TRUE(DecodeMseedBytes(in_order ? body : reversed, "gaps", ReaderOptions(), &out).ok());
    ASSERT_EQ(out.segments.size(), size_t{kSegments});
    size_t reserved = 0;
    for (const TraceSegment& seg : out.segments) reserved += seg.samples.capacity();
    EXPECT_EQ(out.segments[0].samples.capacity(), kSegments * kSamplesEach);
    EXPECT_EQ(reserved, (2 * kSegments - 1) * kSamplesEach);
    EXPECT_EQ(out.segments[kSegments - 1].samples, segments[kSegments - 1].samples);
  }
}

// Records out of time order (here: reversed, and one repeated at the end) merge as MergeSegments
// merges them after sorting: the same segments as the file in order.
TEST(MseedReaderTest, RecordsOutOfTimeOrderMergeAsInOrder) {
  const std::string bytes = ReadBytes(Corpus("obspy/gaps.mseed"));
  constexpr size_t kRecordBytes = 512;
  ASSERT_EQ(bytes.size() % kRecordBytes, 0u);
  const MseedFileContents in_order = ReadOk(Corpus("obspy/gaps.mseed"));
  std::string reversed, repeated = bytes + bytes.substr(40 * kRecordBytes, kRecordBytes);
  for (size_t r = bytes.size() / kRecordBytes; r-- > 0;) reversed += bytes.substr(r * kRecordBytes, kRecordBytes);
  for (const std::string& shuffled : {reversed, repeated}) {
    MseedFileContents contents;
    ASSERT_TRUE(DecodeMseedBytes(shuffled, "shuffled", ReaderOptions(), &contents).ok());
    EXPECT_TRUE(contents.problems.empty()) << contents.problems.front();
    ASSERT_EQ(contents.segments.size(), in_order.segments.size());
    for (size_t i = 0; i < contents.segments.size(); ++i) {
      EXPECT_EQ(contents.segments[i].id, in_order.segments[i].id);
      EXPECT_EQ(contents.segments[i].start, in_order.segments[i].start);
      EXPECT_EQ(contents.segments[i].rate_hz, in_order.segments[i].rate_hz);
      EXPECT_EQ(contents.segments[i].samples, in_order.segments[i].samples);
    }
  }
}

TEST(MseedReaderTest, BrokenLastRecordKeepsValidRecords) {
  const MseedFileContents contents = ReadOk(Corpus("obspy/brokenlastrecord.mseed"));
  ASSERT_EQ(contents.segments.size(), 1u);
  ExpectSegment(contents.segments[0], "NL.HGN.00.BHZ", "2003-05-29T02:13:22.043400Z", 40.0, 5980, 2787, 2863);
  EXPECT_EQ(contents.records_decoded, 1);
  ASSERT_EQ(contents.problems.size(), 1u);
  EXPECT_EQ(contents.problems[0], "bytes 4096-6301 (2206 bytes): not miniSEED data, skipped");
}

TEST(MseedReaderTest, FullSeedControlHeadersSkippedAndReported) {
  const MseedFileContents contents = ReadOk(Corpus("obspy/fullseed.mseed"));
  ASSERT_EQ(contents.segments.size(), 3u);
  ExpectSegment(contents.segments[0], "GE.APE..BHE", "2009-10-01T14:21:50.675000Z", 20.0, 610, 205, 306);
  ExpectSegment(contents.segments[1], "GE.APE..BHN", "2009-10-01T14:21:38.505000Z", 20.0, 602, -35, -10);
  ExpectSegment(contents.segments[2], "GE.APE..BHZ", "2009-10-01T14:21:34.445000Z", 20.0, 623, 185, 241);
  ASSERT_EQ(contents.problems.size(), 1u);
  EXPECT_EQ(contents.problems[0], "bytes 0-20479 (20480 bytes): not miniSEED data, skipped");
}

TEST(MseedReaderTest, TexnetChunkFile) {
  const MseedFileContents contents =
      ReadOk(Texnet("AT01/4O.AT01.00.HHZ__20241215T115800Z__20241215T120100Z.mseed"));
  ASSERT_EQ(contents.segments.size(), 1u);
  ExpectSegment(contents.segments[0], "4O.AT01.00.HHZ", "2024-12-15T11:58:00.001000Z", 100.0, 18001, -419, -298);
  EXPECT_EQ(FormatIsoMicros(contents.segments[0].LastSampleTime()), "2024-12-15T12:01:00.001000Z");
  EXPECT_EQ(contents.records_decoded, 60);
  EXPECT_TRUE(contents.problems.empty());
}

TEST(MseedReaderTest, TexnetEmptyLocationKeepsEmptyStationKey) {
  const MseedFileContents contents = ReadOk(Texnet("BP01/4O.BP01..HHZ__20241215T115800Z__20241215T120100Z.mseed"));
  ASSERT_EQ(contents.segments.size(), 1u);
  ExpectSegment(contents.segments[0], "4O.BP01..HHZ", "2024-12-15T11:58:00.000000Z", 200.0, 36001, -836, -477);
  EXPECT_EQ(contents.segments[0].id.StationKey(), "4O.BP01.");
}

TEST(MseedReaderTest, AsciiRecordIsReportedNotDecoded) {
  for (const char* name : {"obspy/encoding/fullASCII_bigEndian.mseed", "obspy/encoding/fullASCII_littleEndian.mseed",
                           "obspy/encoding/smallASCII_bigEndian.mseed"}) {
    const MseedFileContents contents = ReadOk(Corpus(name));
    EXPECT_TRUE(contents.segments.empty()) << name;
    EXPECT_EQ(contents.records_decoded, 0) << name;
    EXPECT_EQ(contents.records_skipped, 1) << name;
    ASSERT_EQ(contents.problems.size(), 1u) << name;
    EXPECT_NE(contents.problems[0].find("ASCII"), std::string::npos) << contents.problems[0];
    EXPECT_NE(contents.problems[0].find("XX.TEST..BHE"), std::string::npos) << contents.problems[0];
  }
}

// Despite their names, ObsPy's nan_float32/64 files hold four finite samples with empty codes.
TEST(MseedReaderTest, ObspyNanFilesHoldFiniteSamples) {
  const MseedFileContents f32 = ReadOk(Corpus("obspy/encoding/nan_float32.mseed"));
  ASSERT_EQ(f32.segments.size(), 1u);
  EXPECT_EQ(f32.segments[0].id.ToString(), "...");
  EXPECT_EQ(FormatIsoMicros(f32.segments[0].start), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(f32.segments[0].rate_hz, 1.0);
  EXPECT_EQ(f32.segments[0].samples,
            (std::vector<double>{-1188.0780029296875, 638.1640014648438, 395.0780944824219, 1060.2811279296875}));
  const MseedFileContents f64 = ReadOk(Corpus("obspy/encoding/nan_float64.mseed"));
  ASSERT_EQ(f64.segments.size(), 1u);
  EXPECT_EQ(f64.segments[0].samples,
            (std::vector<double>{-1188.07800293, 638.16400146, 395.07809448, 1060.28112793}));
}

TEST(MseedReaderTest, NanSampleSkipsItsRecordAndIsReported) {
  std::string bytes = ReadBytes(Corpus("obspy/encoding/float64_Float64_bigEndian.mseed"));
  ASSERT_EQ(bytes.size(), 512u);
  // Second record: data at offset 56, big-endian float64; overwrite sample 3 (29.0) with a NaN.
  const unsigned char nan_be[8] = {0x7f, 0xf8, 0, 0, 0, 0, 0, 0};
  bytes.replace(256 + 56 + 3 * 8, 8, reinterpret_cast<const char*>(nan_be), 8);
  MseedFileContents contents;
  ASSERT_TRUE(DecodeMseedBytes(bytes, "nan-test", ReaderOptions(), &contents).ok());
  ASSERT_EQ(contents.segments.size(), 1u);
  ExpectSegment(contents.segments[0], "XX.TEST..BHE", "2004-12-15T00:00:00.000000Z", 1.0, 25, 1, 25);
  EXPECT_EQ(contents.records_decoded, 1);
  EXPECT_EQ(contents.records_skipped, 1);
  ASSERT_EQ(contents.problems.size(), 1u);
  EXPECT_EQ(contents.problems[0],
            "record at byte 256: XX.TEST..BHE: 1 of 25 samples are NaN or infinite; record skipped");
}

TEST(MseedReaderTest, AbsurdSampleRateSkipsRecord) {
  std::string bytes = ReadBytes(Corpus("obspy/encoding/int32_INT32_bigEndian.mseed"));
  // Sample rate factor (bytes 32-33) = 30000, multiplier (34-35) = 100: 3 MHz.
  const unsigned char rate[4] = {0x75, 0x30, 0x00, 0x64};
  bytes.replace(32, 4, reinterpret_cast<const char*>(rate), 4);
  MseedFileContents contents;
  ASSERT_TRUE(DecodeMseedBytes(bytes, "rate-test", ReaderOptions(), &contents).ok());
  EXPECT_TRUE(contents.segments.empty());
  EXPECT_EQ(contents.records_skipped, 1);
  ASSERT_EQ(contents.problems.size(), 1u);
  EXPECT_TRUE(AnyContains(contents.problems, "sample rate 3e+06 Hz outside [1e-4, 1e6]")) << contents.problems[0];
}

// libmseed 2 trusts the header's sample count when unpacking; the reader must not.
TEST(MseedReaderTest, SampleCountBeyondRecordIsRejected) {
  std::string bytes = ReadBytes(Corpus("obspy/encoding/float32_Float32_bigEndian.mseed"));
  const unsigned char count[2] = {0xEA, 0x60};  // 60000 samples, big-endian, bytes 30-31
  bytes.replace(30, 2, reinterpret_cast<const char*>(count), 2);
  MseedFileContents contents;
  const Status status = DecodeMseedBytes(bytes, "count-test", ReaderOptions(), &contents);
  EXPECT_EQ(status.code(), Status::Code::kCorruption);
  EXPECT_EQ(status.message(),
            "count-test: no decodable miniSEED record (record at byte 0: header claims 60000 samples but the "
            "200-byte data section holds at most 50)");
  EXPECT_EQ(contents.records_skipped, 1);
}

// Found by fuzz/mseed_fuzz: a 512-byte record with a second blockette 1000 claiming 2^237 bytes.
// libmseed 2 took 8192 bytes as the record length and unpacked 412 float64 samples from the 448
// bytes after the header, reading past the buffer (a SEGV under ASan). Now skipped before unpacking.
TEST(MseedReaderTest, FuzzConflictingBlockette1000LengthIsRejected) {
  const std::string path = std::string(RAPID_TEST_DATA_DIR) + "/fuzz/conflicting-blockette1000.mseed";
  const std::string kProblem =
      "header says the record is 8192 bytes, but it was found as 512 bytes (conflicting blockettes 1000)";
  MseedFileContents contents;
  const Status status = ReadMseedFile(path, ReaderOptions(), &contents);
  EXPECT_EQ(status.code(), Status::Code::kCorruption);
  EXPECT_EQ(status.message(), path + ": no decodable miniSEED record (record at byte 0: " + kProblem + ")");
  EXPECT_EQ(contents.records_skipped, 1);
  EXPECT_TRUE(contents.segments.empty());

  // After two good records of the same channel, only the bad one is dropped.
  const std::string bytes =
      ReadBytes(Corpus("obspy/BW.BGLD.__.EHE.D.2008.001.first_10_records")).substr(0, 1024) + ReadBytes(path);
  ASSERT_TRUE(DecodeMseedBytes(bytes, "after-good", ReaderOptions(), &contents).ok());
  EXPECT_EQ(contents.records_decoded, 2);
  EXPECT_EQ(contents.records_skipped, 1);
  ASSERT_EQ(contents.segments.size(), 1u);
  EXPECT_EQ(contents.segments[0].id.ToString(), "BW.BGLD..EHE");
  EXPECT_EQ(contents.problems, std::vector<std::string>{"record at byte 1024: " + kProblem});
}

// Found by fuzz/seedlink_packet_fuzz: a 512-byte record whose first blockette offset is 512.
// libmseed 2.19's ms_detect reads the blockette header at any offset up to the length it is given,
// so it read 4 bytes past the record (seen with valgrind: ASan does not instrument libmseed; a SEGV
// where the buffer ended a page). ms_detect is now told 4 bytes less at the end of the bytes
// (DetectRecordLength), and the record is refused for what it is: its data offset lies outside it.
// (Run under valgrind, this test reads in bounds only since that fix.)
TEST(MseedReaderTest, FuzzBlocketteOffsetAtRecordEndIsReadInBounds) {
  const std::string path = std::string(RAPID_TEST_DATA_DIR) + "/fuzz/blockette-offset-at-record-end.mseed";
  const std::string kProblem = "record at byte 0: data offset 17408 outside the record";
  MseedFileContents contents;
  const Status status = ReadMseedFile(path, ReaderOptions(), &contents);
  EXPECT_EQ(status.code(), Status::Code::kCorruption);
  EXPECT_EQ(status.message(), path + ": no decodable miniSEED record (" + kProblem + ")");
  EXPECT_EQ(contents.records_skipped, 1);
  EXPECT_TRUE(contents.segments.empty());
  // The same bytes as a SeedLink packet's payload, the way rapid stream decodes them.
  ASSERT_FALSE(DecodeMseedBytes(ReadBytes(path), "packet", ReaderOptions(), &contents).ok());
  EXPECT_EQ(contents.problems, std::vector<std::string>{kProblem});
}

TEST(MseedReaderTest, TruncatedLastRecordReported) {
  const std::string bytes = ReadBytes(Corpus("obspy/test.mseed")).substr(0, 6000);
  MseedFileContents contents;
  ASSERT_TRUE(DecodeMseedBytes(bytes, "truncated", ReaderOptions(), &contents).ok());
  ASSERT_EQ(contents.segments.size(), 1u);
  EXPECT_EQ(contents.segments[0].samples.size(), 5980u);
  EXPECT_EQ(contents.records_skipped, 1);
  ASSERT_EQ(contents.problems.size(), 1u);
  EXPECT_EQ(contents.problems[0], "record at byte 4096: truncated record (1904 of 4096 bytes)");
}

TEST(MseedReaderTest, OnlyTruncatedRecordIsAnError) {
  ScratchDir dir;
  const std::string path = dir.File("cut.mseed", ReadBytes(Corpus("obspy/steim2.mseed")).substr(0, 3000));
  MseedFileContents contents;
  const Status status = ReadMseedFile(path, ReaderOptions(), &contents);
  EXPECT_EQ(status.code(), Status::Code::kCorruption);
  EXPECT_NE(status.message().find(path), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("truncated record (3000 of 4096 bytes)"), std::string::npos) << status.message();
}

TEST(MseedReaderTest, RandomBytesAreNotMiniSeed) {
  std::string bytes(10000, '\0');
  uint32_t state = 12345;
  for (char& c : bytes) {
    state = state * 1664525u + 1013904223u;
    c = static_cast<char>(state >> 24);
  }
  ScratchDir dir;
  const std::string path = dir.File("random.bin", bytes);
  MseedFileContents contents;
  const Status status = ReadMseedFile(path, ReaderOptions(), &contents);
  EXPECT_EQ(status.code(), Status::Code::kCorruption);
  EXPECT_EQ(status.message(), path + ": not miniSEED (no record header found in 10000 bytes)");
  EXPECT_TRUE(contents.segments.empty());
}

TEST(MseedReaderTest, EmptyFileIsAnError) {
  ScratchDir dir;
  const std::string path = dir.File("empty.mseed", "");
  MseedFileContents contents;
  const Status status = ReadMseedFile(path, ReaderOptions(), &contents);
  EXPECT_EQ(status.code(), Status::Code::kCorruption);
  EXPECT_EQ(status.message(), path + ": empty file (0 bytes)");
}

TEST(MseedReaderTest, MissingFileIsNotFound) {
  MseedFileContents contents;
  const Status status = ReadMseedFile("/nonexistent/rapid/x.mseed", ReaderOptions(), &contents);
  EXPECT_EQ(status.code(), Status::Code::kNotFound);
  EXPECT_EQ(status.message(), "/nonexistent/rapid/x.mseed: no such file");
}

TEST(MseedReaderTest, DirectoryIsInvalidArgument) {
  MseedFileContents contents;
  const Status status = ReadMseedFile(RAPID_TEST_DATA_DIR, ReaderOptions(), &contents);
  EXPECT_EQ(status.code(), Status::Code::kInvalidArgument);
}

// steim2.mseed with the reverse integration constant Xn (frame 0, word 2; data at byte 128)
// replaced: libmseed decodes the record but warns that its integrity check failed.
std::string Steim2WithXn(int32_t xn) {
  std::string bytes = ReadBytes(Corpus("obspy/steim2.mseed"));
  for (int i = 0; i < 4; ++i) bytes[136 + i] = static_cast<char>((static_cast<uint32_t>(xn) >> (24 - 8 * i)) & 0xff);
  return bytes;
}

TEST(MseedReaderTest, LibmseedWarningsBecomeProblems) {
  MseedFileContents contents;
  ASSERT_TRUE(DecodeMseedBytes(Steim2WithXn(1234), "xn", ReaderOptions(), &contents).ok());
  ASSERT_EQ(contents.segments.size(), 1u);
  EXPECT_EQ(contents.segments[0].samples.back(), 2863);  // the data itself is intact
  ASSERT_EQ(contents.problems.size(), 1u);
  EXPECT_NE(contents.problems[0].find("record at byte 0: NL.HGN.00.BHZ: libmseed: "), std::string::npos)
      << contents.problems[0];
  EXPECT_NE(contents.problems[0].find("Last sample=2863, Xn=1234"), std::string::npos) << contents.problems[0];
}

TEST(MseedReaderTest, ConcurrentReadsKeepTheirMessagesApart) {
  constexpr int kThreads = 4;
  std::vector<std::vector<std::string>> problems(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t, &problems] {
      const std::string bytes = Steim2WithXn(1000 + t);
      for (int round = 0; round < 50; ++round) {
        MseedFileContents contents;
        if (!DecodeMseedBytes(bytes, "xn", ReaderOptions(), &contents).ok()) return;
        problems[t].insert(problems[t].end(), contents.problems.begin(), contents.problems.end());
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_EQ(problems[t].size(), 50u) << t;
    for (const std::string& p : problems[t]) {
      EXPECT_NE(p.find("Xn=" + std::to_string(1000 + t)), std::string::npos) << p;
    }
  }
}

TEST(MseedReaderTest, LibmseedPrintsNothingOnBadInput) {
  ScratchDir dir;
  std::string garbage(4096, 'x');
  garbage.replace(0, 8, "000001D ");  // looks like a header start, then nonsense
  const std::string bad = dir.File("bad.mseed", garbage);
  ::testing::internal::CaptureStderr();
  ::testing::internal::CaptureStdout();
  MseedFileContents contents;
  ReadMseedFile(bad, ReaderOptions(), &contents).ok();
  ReadMseedFile(Corpus("obspy/brokenlastrecord.mseed"), ReaderOptions(), &contents).ok();
  ReadMseedFile(Corpus("obspy/encoding/fullASCII_bigEndian.mseed"), ReaderOptions(), &contents).ok();
  std::string cut = ReadBytes(Corpus("obspy/test.mseed")).substr(0, 4096 + 200);
  DecodeMseedBytes(cut, "cut", ReaderOptions(), &contents).ok();
  EXPECT_EQ(::testing::internal::GetCapturedStdout(), "");
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
}

// kDecodeBytesPerInputByte bounds what decoding holds, on the densest bodies there are: constant
// samples in Steim-2 (7 per 32-bit word), as 3 channels one after the other (the worst layout
// measured) and as 12 channels whose records alternate.
TEST(MseedReaderTest, DecodingHoldsAtMostItsBoundPerByte) {
  if (!testing::ResetPeakRss() || testing::PeakRss() == 0) GTEST_SKIP() << "no peak resident memory to read here";
  TuneAllocatorForLargeBuffers();  // as `rapid serve` sets it
  // How the channels' records follow each other in the body. kReversed is out of time order, merged
  // after sorting; kRepeatedFirst ends with the first record again, dropped as it comes.
  enum class Order { kSequential, kInterleaved, kReversed, kRepeatedFirst };
  struct Case {
    int channels;
    int64_t samples_each;
    Order order;
    const char* name;
  };
  for (const Case c : {Case{3, 3'000'000, Order::kSequential, "sequential"},
                       Case{12, 750'000, Order::kInterleaved, "interleaved"},
                       Case{3, 3'000'000, Order::kReversed, "reversed"},
                       Case{3, 3'000'000, Order::kRepeatedFirst, "first record repeated at the end"}}) {
    std::vector<std::string> parts;
    for (int k = 0; k < c.channels; ++k) {
      TraceSegment s;
      s.id = {"XX", "S" + std::to_string(k / 3), "", std::string("HH") + "ZNE"[k % 3]};
      s.start = testing::Iso("2024-01-01T00:00:00");
      s.rate_hz = 100.0;
      s.samples.assign(static_cast<size_t>(c.samples_each), 7.0);
      ASSERT_TRUE(EncodeMseed({s}, SampleEncoding::kSteim2, 4096, &parts.emplace_back()).ok());
    }
    std::string body;
    if (c.order == Order::kInterleaved) {
      for (size_t at = 0; at < parts[0].size(); at += 4096) {
        for (const std::string& p : parts) body += p.substr(at, 4096);
      }
    } else {
      for (const std::string& p : parts) body += p;
    }
    if (c.order == Order::kReversed) {
      std::string records_reversed;
      for (size_t at = body.size(); at >= 4096; at -= 4096) records_reversed += body.substr(at - 4096, 4096);
      body = std::move(records_reversed);
    }
    if (c.order == Order::kRepeatedFirst) body += body.substr(0, 4096);
    parts.clear();
    malloc_trim(0);  // the encoder's freed buffers, still resident, would hide the decoder's
    ASSERT_TRUE(testing::ResetPeakRss());
    const int64_t before = testing::PeakRss();
    MseedFileContents out;
    ASSERT_TRUE(DecodeMseedBytes(body, "body", ReaderOptions(), &out).ok());
    const int64_t held = testing::PeakRss() - before;
    const int64_t bound = kDecodeBytesPerInputByte * static_cast<int64_t>(body.size());
    int64_t samples = 0;
    for (const TraceSegment& s : out.segments) samples += static_cast<int64_t>(s.samples.size());
    EXPECT_EQ(samples, c.channels * c.samples_each);
    const double per_byte = static_cast<double>(samples) / static_cast<double>(body.size());
    EXPECT_GT(per_byte, 1.6);  // the densest encoding there is
    EXPECT_LE(per_byte, kMaxSamplesPerMseedByte);
    std::printf("%d channels, %s: %.1f MB body, peak %.1f MB above the start (%.1f per byte), bound %.1f MB\n",
                c.channels, c.name, body.size() / 1e6, held / 1e6,
                static_cast<double>(held) / static_cast<double>(body.size()), bound / 1e6);
    // Under ASan, shadow memory adds an eighth and freed blocks wait in its quarantine (256 MiB).
    const int64_t allowed = testing::kAddressSanitizer ? bound + bound / 8 + (int64_t{256} << 20) : bound;
    EXPECT_LE(held, allowed);
    // Each channel is reserved once, exactly (but for the repeated record): from the headers as the
    // records come, from the records' samples when sorted, which are held too while merged.
    if (c.order != Order::kRepeatedFirst) {
      for (const TraceSegment& s : out.segments) EXPECT_EQ(s.samples.capacity(), s.samples.size()) << s.id.ToString();
    }
    const bool sorted = c.order == Order::kReversed;
    const int64_t copy_and_samples = static_cast<int64_t>(body.size()) + samples * (sorted ? 16 : 8);
    if (!testing::kAddressSanitizer) EXPECT_LE(held, copy_and_samples + copy_and_samples / 20);
  }
}

}  // namespace
}  // namespace rapid
