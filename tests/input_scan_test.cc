#include "io/input_scan.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "test_util.h"

namespace rapid {
namespace {

using testing::TempDir;

const std::string kTexnet = std::string(RAPID_SOURCE_DIR) + "/data/texnet-sample";
const std::string kChunkName = "20241215T115800Z_20241215T120100Z";

std::vector<std::string> Paths(const std::vector<InputFile>& files) {
  std::vector<std::string> paths;
  for (const InputFile& f : files) paths.push_back(f.path);
  return paths;
}

TEST(InputScanTest, TexnetDirectoryIsDetectedAsChunks) {
  std::vector<InputFile> files;
  InputLayout detected = InputLayout::kAuto;
  const Status status = ScanInput(kTexnet, InputLayout::kAuto, &files, &detected);
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(detected, InputLayout::kChunks);
  ASSERT_EQ(files.size(), 36u);
  const NanoTime start = *ParseIsoTime("2024-12-15T11:58:00Z");
  const NanoTime end = *ParseIsoTime("2024-12-15T12:01:00Z");
  for (const InputFile& f : files) {
    EXPECT_EQ(f.chunk_start, start) << f.path;
    EXPECT_EQ(f.chunk_end, end) << f.path;
  }
  EXPECT_EQ(files.front().path,
            kTexnet + "/" + kChunkName + "/AT01/4O.AT01.00.HHE__20241215T115800Z__20241215T120100Z.mseed");
  EXPECT_TRUE(std::is_sorted(files.begin(), files.end(),
                             [](const InputFile& a, const InputFile& b) { return a.path < b.path; }));
}

TEST(InputScanTest, ChunkDirectoryItselfAndStationDirectory) {
  std::vector<InputFile> files;
  InputLayout detected;
  ASSERT_TRUE(ScanInput(kTexnet + "/" + kChunkName, InputLayout::kAuto, &files, &detected).ok());
  EXPECT_EQ(detected, InputLayout::kChunks);
  EXPECT_EQ(files.size(), 36u);
  ASSERT_TRUE(ScanInput(kTexnet + "/" + kChunkName + "/BP01/", InputLayout::kAuto, &files, &detected).ok());
  EXPECT_EQ(detected, InputLayout::kChunks);
  ASSERT_EQ(files.size(), 3u);
  EXPECT_EQ(files[0].chunk_start, *ParseIsoTime("2024-12-15T11:58:00Z"));
}

TEST(InputScanTest, ForcedFilesLayoutLeavesTimesUnset) {
  std::vector<InputFile> files;
  InputLayout detected;
  ASSERT_TRUE(ScanInput(kTexnet, InputLayout::kFiles, &files, &detected).ok());
  EXPECT_EQ(detected, InputLayout::kFiles);
  ASSERT_EQ(files.size(), 36u);
  EXPECT_EQ(files[0].chunk_start, kUnsetTime);
  EXPECT_EQ(files[0].chunk_end, kUnsetTime);
}

TEST(InputScanTest, GlobPattern) {
  std::vector<InputFile> files;
  InputLayout detected;
  ASSERT_TRUE(ScanInput(kTexnet + "/*/AT01/*HH[NZ]*.mseed", InputLayout::kAuto, &files, &detected).ok());
  EXPECT_EQ(detected, InputLayout::kChunks);
  ASSERT_EQ(files.size(), 2u);
  EXPECT_NE(files[0].path.find("4O.AT01.00.HHN__"), std::string::npos);
  EXPECT_NE(files[1].path.find("4O.AT01.00.HHZ__"), std::string::npos);

  const std::string encoding = std::string(RAPID_TEST_DATA_DIR) + "/mseed-corpus/obspy/encoding/";
  ASSERT_TRUE(ScanInput(encoding + "int32_*.mseed", InputLayout::kAuto, &files, &detected).ok());
  EXPECT_EQ(detected, InputLayout::kFiles);
  EXPECT_EQ(Paths(files), (std::vector<std::string>{
                              encoding + "int32_INT32_bigEndian.mseed", encoding + "int32_INT32_littleEndian.mseed",
                              encoding + "int32_Steim1_bigEndian.mseed", encoding + "int32_Steim1_littleEndian.mseed",
                              encoding + "int32_Steim2_bigEndian.mseed", encoding + "int32_Steim2_littleEndian.mseed"}));
}

TEST(InputScanTest, SingleFile) {
  std::vector<InputFile> files;
  InputLayout detected;
  const std::string plain = std::string(RAPID_TEST_DATA_DIR) + "/mseed-corpus/obspy/steim2.mseed";
  ASSERT_TRUE(ScanInput(plain, InputLayout::kAuto, &files, &detected).ok());
  EXPECT_EQ(detected, InputLayout::kFiles);
  EXPECT_EQ(Paths(files), std::vector<std::string>{plain});
  EXPECT_EQ(files[0].chunk_start, kUnsetTime);

  const std::string chunked =
      kTexnet + "/" + kChunkName + "/HBVL/TX.HBVL.00.HH1__20241215T115800Z__20241215T120100Z.mseed";
  ASSERT_TRUE(ScanInput(chunked, InputLayout::kAuto, &files, &detected).ok());
  EXPECT_EQ(detected, InputLayout::kChunks);
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].chunk_end, *ParseIsoTime("2024-12-15T12:01:00Z"));
}

TEST(InputScanTest, MissingInputsAreNotFound) {
  std::vector<InputFile> files;
  InputLayout detected;
  Status status = ScanInput("/nonexistent/rapid-input", InputLayout::kAuto, &files, &detected);
  EXPECT_EQ(status.code(), Status::Code::kNotFound);
  EXPECT_EQ(status.message(), "/nonexistent/rapid-input: no such file or directory");
  status = ScanInput(kTexnet + "/*/nothing*.mseed", InputLayout::kAuto, &files, &detected);
  EXPECT_EQ(status.code(), Status::Code::kNotFound);
  EXPECT_NE(status.message().find("nothing*.mseed"), std::string::npos);
  TempDir dir;
  dir.Touch(".hidden");
  status = ScanInput(dir.path(), InputLayout::kAuto, &files, &detected);
  EXPECT_EQ(status.code(), Status::Code::kNotFound);
  EXPECT_EQ(status.message(), dir.path() + ": no input files found");
}

TEST(InputScanTest, HiddenEntriesSkippedStrayFilesKept) {
  TempDir dir;
  const std::string a = dir.Touch(kChunkName + "/AT01/a.mseed");
  const std::string b = dir.Touch("20241215T120000Z_20241215T120300Z/AT01/b.mseed");
  const std::string readme = dir.Touch("README");
  dir.Touch(".git/objects/x");
  dir.Touch(kChunkName + "/AT01/.a.mseed.tmp");
  std::vector<InputFile> files;
  InputLayout detected;
  ASSERT_TRUE(ScanInput(dir.path(), InputLayout::kAuto, &files, &detected).ok());
  EXPECT_EQ(detected, InputLayout::kChunks);
  ASSERT_EQ(Paths(files), (std::vector<std::string>{a, b, readme}));
  EXPECT_EQ(files[1].chunk_start, *ParseIsoTime("2024-12-15T12:00:00Z"));
  EXPECT_EQ(files[1].chunk_end, *ParseIsoTime("2024-12-15T12:03:00Z"));
  EXPECT_EQ(files[2].chunk_start, kUnsetTime);  // not in a chunk directory
  EXPECT_EQ(files[2].chunk_end, kUnsetTime);
}

TEST(InputScanTest, ForcedChunksWithoutChunkDirectoriesIsAnError) {
  std::vector<InputFile> files;
  InputLayout detected;
  const Status status = ScanInput(std::string(RAPID_TEST_DATA_DIR) + "/mseed-corpus/obspy/encoding",
                                  InputLayout::kChunks, &files, &detected);
  EXPECT_EQ(status.code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(files.empty());
}

TEST(InputScanTest, LayoutNamesAndChunkNames) {
  for (InputLayout layout : {InputLayout::kAuto, InputLayout::kChunks, InputLayout::kFiles, InputLayout::kSds}) {
    EXPECT_EQ(ParseLayout(LayoutName(layout)), layout);
  }
  EXPECT_EQ(LayoutName(InputLayout::kChunks), "chunks");
  EXPECT_EQ(LayoutName(InputLayout::kSds), "sds");
  EXPECT_EQ(ParseLayout("sds"), InputLayout::kSds);
  EXPECT_FALSE(ParseLayout("SDS").has_value());
  EXPECT_FALSE(ParseLayout("Chunks").has_value());
  NanoTime start, end;
  EXPECT_TRUE(ParseChunkDirName(kChunkName, &start, &end));
  EXPECT_EQ(FormatIsoMicros(start), "2024-12-15T11:58:00.000000Z");
  EXPECT_EQ(FormatIsoMicros(end), "2024-12-15T12:01:00.000000Z");
  EXPECT_FALSE(ParseChunkDirName("20241215T120100Z_20241215T115800Z", &start, &end));  // end before start
  EXPECT_FALSE(ParseChunkDirName("AT01", &start, &end));
  EXPECT_FALSE(ParseChunkDirName("20241215T115800Z_", &start, &end));
}

}  // namespace
}  // namespace rapid
