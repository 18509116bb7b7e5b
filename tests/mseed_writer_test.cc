#include "io/mseed_writer.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "core/atomic_file.h"
#include "io/mseed_reader.h"
#include "test_util.h"

namespace rapid {
namespace {

using testing::TempDir;

const NanoTime kT0 = *ParseIsoTime("2024-12-15T11:58:00.001Z");

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TraceSegment Segment(ChannelId id, NanoTime start, double rate_hz, std::vector<double> samples) {
  TraceSegment s;
  s.id = std::move(id);
  s.start = start;
  s.rate_hz = rate_hz;
  s.samples = std::move(samples);
  return s;
}

MseedFileContents ReadBack(const std::string& path) {
  MseedFileContents contents;
  const Status status = ReadMseedFile(path, ReaderOptions(), &contents);
  EXPECT_TRUE(status.ok()) << status.ToString();
  EXPECT_TRUE(contents.problems.empty()) << contents.problems.front();
  return contents;
}

TEST(MseedWriterTest, Steim2RoundTripMultiRecord) {
  std::vector<double> samples(5000);
  for (int i = 0; i < 5000; ++i) samples[i] = (i * 7919) % 20001 - 10000;  // large, irregular differences
  // Walk to both int32 limits with the largest steps Steim2 can hold (+2^29-1 and -2^29).
  const std::vector<double> extremes = {0,           536870911,   1073741822,  1610612733,  2147483644, 2147483647,
                                        1610612735,  1073741823,  536870911,   -1,          -536870913, -1073741825,
                                        -1610612737, -2147483648, -1610612737, -1073741826, -536870915, -4};
  std::copy(extremes.begin(), extremes.end(), samples.begin() + 10);
  const TraceSegment seg = Segment({"4O", "AT01", "00", "HHZ"}, kT0, 100.0, samples);
  TempDir dir;
  const std::string path = dir.Path("steim2.mseed");
  ASSERT_TRUE(WriteMseedFile(path, {seg}, SampleEncoding::kSteim2).ok());
  const std::string bytes = ReadBytes(path);
  ASSERT_EQ(bytes.size() % 512, 0u);
  const MseedFileContents back = ReadBack(path);
  EXPECT_EQ(back.records_decoded, static_cast<int64_t>(bytes.size() / 512));
  EXPECT_GT(back.records_decoded, 5);
  ASSERT_EQ(back.segments.size(), 1u);
  EXPECT_EQ(back.segments[0].id, seg.id);
  EXPECT_EQ(back.segments[0].start, kT0);
  EXPECT_EQ(back.segments[0].rate_hz, 100.0);
  EXPECT_EQ(back.segments[0].samples, samples);
}

TEST(MseedWriterTest, Steim2FirstSampleMayBeAnyInt32) {
  for (double first : {2147483647.0, -2147483648.0}) {
    std::string bytes;
    const TraceSegment seg = Segment({"XX", "T", "", "HHZ"}, kT0, 50.0, {first, first, first});
    ASSERT_TRUE(EncodeMseed({seg}, SampleEncoding::kSteim2, 512, &bytes).ok()) << first;
    MseedFileContents back;
    ASSERT_TRUE(DecodeMseedBytes(bytes, "memory", ReaderOptions(), &back).ok());
    ASSERT_EQ(back.segments.size(), 1u);
    EXPECT_EQ(back.segments[0].samples, seg.samples);
  }
}

TEST(MseedWriterTest, SmallestRecordsAndFractionalRates) {
  std::vector<double> samples(700);
  for (int i = 0; i < 700; ++i) samples[i] = (i * i) % 1000;
  for (double rate_hz : {1.0 / 3, 100.0 / 3, 0.1}) {
    const TraceSegment seg = Segment({"XX", "T", "", "LHZ"}, kT0, rate_hz, samples);
    std::string bytes;
    ASSERT_TRUE(EncodeMseed({seg}, SampleEncoding::kSteim2, 128, &bytes).ok()) << rate_hz;
    EXPECT_GT(bytes.size() / 128, 10u);
    MseedFileContents back;
    ASSERT_TRUE(DecodeMseedBytes(bytes, "memory", ReaderOptions(), &back).ok());
    ASSERT_EQ(back.segments.size(), 1u) << rate_hz;
    EXPECT_EQ(back.segments[0].rate_hz, rate_hz);
    EXPECT_EQ(back.segments[0].start, kT0);
    EXPECT_EQ(back.segments[0].samples, samples);
  }
}

TEST(MseedWriterTest, Steim2RoundsToIntegers) {
  const TraceSegment seg = Segment({"XX", "T", "", "HHZ"}, kT0, 50.0, {1.4, -2.6, 2.5, 1e6 + 0.49});
  std::string bytes;
  ASSERT_TRUE(EncodeMseed({seg}, SampleEncoding::kSteim2, 512, &bytes).ok());
  MseedFileContents back;
  ASSERT_TRUE(DecodeMseedBytes(bytes, "memory", ReaderOptions(), &back).ok());
  ASSERT_EQ(back.segments.size(), 1u);
  EXPECT_EQ(back.segments[0].samples, (std::vector<double>{1, -3, 3, 1e6}));
}

TEST(MseedWriterTest, Float32RoundTripSeveralSegments) {
  std::vector<double> probs(3001);
  for (int i = 0; i < 3001; ++i) probs[i] = (i % 1000) / 999.0;  // not exact in float
  const ChannelId p{"4O", "BP01", "", "PNP"};
  const ChannelId s{"4O", "BP01", "", "PNS"};
  const NanoTime later = kT0 + 3600 * kNanosPerSecond;
  const std::vector<TraceSegment> segments = {Segment(p, kT0, 100.0, probs), Segment(p, later, 100.0, {0.25, 0.5}),
                                              Segment(s, kT0, 100.0, {-3.5, 0, 1e-3})};
  TempDir dir;
  const std::string path = dir.Path("probs/4O.BP01..PhaseNet_P.mseed");  // parent created
  ASSERT_TRUE(WriteMseedFile(path, segments, SampleEncoding::kFloat32, 4096).ok());
  const MseedFileContents back = ReadBack(path);
  ASSERT_EQ(back.segments.size(), 3u);
  std::vector<double> expected(probs.size());
  for (size_t i = 0; i < probs.size(); ++i) expected[i] = static_cast<float>(probs[i]);
  EXPECT_EQ(back.segments[0].id, p);
  EXPECT_EQ(back.segments[0].start, kT0);
  EXPECT_EQ(back.segments[0].samples, expected);
  EXPECT_EQ(back.segments[1].start, later);
  EXPECT_EQ(back.segments[1].samples, (std::vector<double>{0.25, 0.5}));
  EXPECT_EQ(back.segments[2].id, s);
  EXPECT_EQ(back.segments[2].samples, (std::vector<double>{-3.5, 0, static_cast<float>(1e-3)}));
}

TEST(MseedWriterTest, HeaderIsBigEndianQualityDWithSequenceNumbers) {
  std::vector<double> samples(1000, 7.0);
  std::string bytes;
  ASSERT_TRUE(EncodeMseed({Segment({"4O", "AT01", "00", "HHZ"}, kT0, 100.0, samples)}, SampleEncoding::kFloat32, 512,
                          &bytes)
                  .ok());
  ASSERT_GE(bytes.size(), 1024u);
  EXPECT_EQ(bytes.substr(0, 8), "000001D ");
  EXPECT_EQ(bytes.substr(512, 8), "000002D ");
  EXPECT_EQ(bytes.substr(8, 12), "AT01 00HHZ4O");  // station, location, channel, network
  // Year 2024 = 0x07E8, big-endian at bytes 20-21; day of year 350 = 0x015E.
  EXPECT_EQ(static_cast<unsigned char>(bytes[20]), 0x07);
  EXPECT_EQ(static_cast<unsigned char>(bytes[21]), 0xE8);
  EXPECT_EQ(static_cast<unsigned char>(bytes[23]), 0x5E);
}

TEST(MseedWriterTest, StartTimeRoundedToMicroseconds) {
  const NanoTime start = kT0 + 123'456'789;
  std::string bytes;
  ASSERT_TRUE(EncodeMseed({Segment({"XX", "T", "", "HHZ"}, start, 100.0, {1, 2, 3})}, SampleEncoding::kSteim2, 512,
                          &bytes)
                  .ok());
  MseedFileContents back;
  ASSERT_TRUE(DecodeMseedBytes(bytes, "memory", ReaderOptions(), &back).ok());
  ASSERT_EQ(back.segments.size(), 1u);
  EXPECT_EQ(back.segments[0].start, kT0 + 123'457'000);
}

TEST(MseedWriterTest, RejectsWhatCannotBeWritten) {
  const ChannelId id{"XX", "T", "", "HHZ"};
  std::string bytes;
  auto encode = [&](std::vector<double> samples, SampleEncoding encoding) {
    return EncodeMseed({Segment(id, kT0, 100.0, std::move(samples))}, encoding, 512, &bytes).code();
  };
  EXPECT_EQ(encode({0, 3e9}, SampleEncoding::kSteim2), Status::Code::kInvalidArgument);
  EXPECT_EQ(encode({0, 536870912}, SampleEncoding::kSteim2), Status::Code::kInvalidArgument);
  EXPECT_EQ(encode({0, 536870911}, SampleEncoding::kSteim2), Status::Code::kOk);
  EXPECT_EQ(encode({0, std::nan("")}, SampleEncoding::kFloat32), Status::Code::kInvalidArgument);
  EXPECT_EQ(encode({1e39}, SampleEncoding::kFloat32), Status::Code::kInvalidArgument);
  EXPECT_EQ(EncodeMseed({Segment(id, kT0, 100.0, {1})}, SampleEncoding::kSteim2, 1000, &bytes).code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(EncodeMseed({Segment(id, kT0, 0.0, {1})}, SampleEncoding::kSteim2, 512, &bytes).code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(EncodeMseed({Segment(id, kT0, 12345.678, {1})}, SampleEncoding::kSteim2, 512, &bytes).code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(EncodeMseed({Segment(id, kUnsetTime, 100.0, {1})}, SampleEncoding::kSteim2, 512, &bytes).code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(EncodeMseed({Segment({"XX", "TOOLONG", "", "HHZ"}, kT0, 100.0, {1})}, SampleEncoding::kSteim2, 512,
                        &bytes)
                .code(),
            Status::Code::kInvalidArgument);
}

TEST(MseedWriterTest, FailedWriteLeavesNoFile) {
  TempDir dir;
  const std::string path = dir.Path("out.mseed");
  const Status status =
      WriteMseedFile(path, {Segment({"XX", "T", "", "HHZ"}, kT0, 100.0, {0, 3e9})}, SampleEncoding::kSteim2);
  EXPECT_EQ(status.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(status.message().find(path), std::string::npos) << status.message();
  EXPECT_TRUE(dir.Listing().empty());
}

TEST(AtomicFileTest, WritesReplacesAndLeavesNoTemporary) {
  TempDir dir;
  const std::string path = dir.Path("a/b/c.txt");
  ASSERT_TRUE(WriteFileAtomically(path, "first").ok());
  EXPECT_EQ(ReadBytes(path), "first");
  ASSERT_TRUE(WriteFileAtomically(path, std::string("sec\0ond", 7)).ok());
  EXPECT_EQ(ReadBytes(path), std::string("sec\0ond", 7));
  ASSERT_TRUE(WriteFileAtomically(dir.Path("empty"), "").ok());
  EXPECT_EQ(dir.Listing(), (std::vector<std::string>{"a", "a/b", "a/b/c.txt", "empty"}));
}

TEST(AtomicFileTest, ReplacingRemovesTheTemporariesOfDeadWriters) {
  TempDir dir;
  const pid_t child = fork();  // a pid that was a process and is no longer one
  ASSERT_GE(child, 0);
  if (child == 0) _exit(0);
  ASSERT_EQ(waitpid(child, nullptr, 0), child);
  const std::string dead = ".c.txt.tmp." + std::to_string(child) + ".0";
  const std::string live = ".c.txt.tmp." + std::to_string(getppid()) + ".3";  // a running process
  const std::string other = ".d.txt.tmp." + std::to_string(child) + ".0";    // another target's
  for (const std::string& name : {dead, live, other}) ASSERT_TRUE(WriteFileAtomically(dir.Path(name), "x").ok());
  ASSERT_TRUE(WriteFileAtomically(dir.Path("c.txt"), "new").ok());
  EXPECT_EQ(ReadBytes(dir.Path("c.txt")), "new");
  std::vector<std::string> expected{live, other, "c.txt"};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(dir.Listing(), expected);
}

TEST(AtomicFileTest, FailureReportsPathAndCleansUp) {
  TempDir dir;
  ASSERT_TRUE(WriteFileAtomically(dir.Path("file"), "x").ok());
  // The parent "file" is not a directory.
  Status status = WriteFileAtomically(dir.Path("file/child"), "y");
  EXPECT_EQ(status.code(), Status::Code::kIOError);
  EXPECT_NE(status.message().find(dir.Path("file/child")), std::string::npos) << status.message();
  // The target is a non-empty directory: rename fails, the temporary is removed.
  ASSERT_TRUE(WriteFileAtomically(dir.Path("d/inner"), "z").ok());
  status = WriteFileAtomically(dir.Path("d"), "w");
  EXPECT_EQ(status.code(), Status::Code::kIOError);
  EXPECT_EQ(dir.Listing(), (std::vector<std::string>{"d", "d/inner", "file"}));
  EXPECT_EQ(WriteFileAtomically("", "x").code(), Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace rapid
