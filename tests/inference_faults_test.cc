// Data the model must survive: NaN samples (NaN-filled float32 records, which the reader skips
// with an error naming the file), an all-zero and a constant component (which the normalisation
// guards, as SeisBench's +1e-10, keep from producing NaN). No NaN probability, no NaN pick.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <random>

#include "core/nano_time.h"
#include "io/mseed_reader.h"
#include "io/mseed_writer.h"
#include "test_util.h"

namespace rapid {
namespace {

// Overwrites every sample of records [first, last) of a float32 miniSEED file with NaN.
void FillRecordsWithNan(const std::string& path, int record_length, int first, int last) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  for (int r = first; r < last; ++r) {
    unsigned char header[48];
    f.seekg(static_cast<std::streamoff>(r) * record_length);
    f.read(reinterpret_cast<char*>(header), sizeof(header));
    const int samples = header[30] << 8 | header[31];      // number of samples (big-endian)
    const int data_offset = header[44] << 8 | header[45];  // beginning of data
    const unsigned char nan_be[4] = {0x7f, 0xc0, 0x00, 0x00};
    f.seekp(static_cast<std::streamoff>(r) * record_length + data_offset);
    for (int i = 0; i < samples; ++i) f.write(reinterpret_cast<const char*>(nan_be), 4);
  }
}

TEST(InferenceFaultsTest, NanZeroAndConstantComponentsGiveNoNanPicks) {
  testing::TempDir dir;
  const NanoTime t0 = *ParseIsoTime("2024-12-15T12:00:00Z");
  const int64_t n = 100 * 600;  // 10 min at 100 Hz
  std::mt19937 rng(5);
  std::normal_distribution<double> noise(0.0, 300.0);
  auto segment = [&](const char* channel, auto value) {
    TraceSegment s;
    s.id = {"XX", "FLT", "00", channel};
    s.start = t0;
    s.rate_hz = 100.0;
    for (int64_t i = 0; i < n; ++i) s.samples.push_back(value(i));
    return s;
  };
  const std::string z = dir.Path("in/XX.FLT.00.HHZ.mseed");
  ASSERT_TRUE(WriteMseedFile(z, {segment("HHZ", [&](int64_t) { return noise(rng); })}, SampleEncoding::kFloat32).ok());
  ASSERT_TRUE(WriteMseedFile(dir.Path("in/XX.FLT.00.HHN.mseed"), {segment("HHN", [](int64_t) { return 5000.0; })},
                             SampleEncoding::kFloat32)
                  .ok());
  ASSERT_TRUE(WriteMseedFile(dir.Path("in/XX.FLT.00.HHE.mseed"), {segment("HHE", [](int64_t) { return 0.0; })},
                             SampleEncoding::kFloat32)
                  .ok());
  FillRecordsWithNan(z, 512, 40, 60);
  // The reader skips records with NaN samples (a gap) and says so: one error naming the file.
  std::string log;
  const int code = testing::RunRapid(
      {"run", "--input", dir.Path("in"), "--output", dir.Path("out"), "--save-probabilities", "--progress", "off"}, &log);
  EXPECT_EQ(code, 2) << log;
  const std::string run = testing::ReadFileText(dir.Path("out/run.json"));
  EXPECT_NE(run.find("XX.FLT.00.HHZ.mseed"), std::string::npos);
  EXPECT_NE(run.find("samples are NaN or infinite; record skipped"), std::string::npos);
  const auto rows = testing::ReadCsv(dir.Path("out/picks.csv"));
  for (size_t i = 1; i < rows.size(); ++i) {
    const double v = std::stod(rows[i][3]);
    EXPECT_TRUE(std::isfinite(v) && v > 0.0 && v <= 1.0) << rows[i][3];
  }
  int64_t samples = 0;
  for (const char* label : {"N", "P", "S"}) {
    MseedFileContents probs;
    ASSERT_TRUE(
        ReadMseedFile(dir.Path(std::string("out/probabilities/XX.FLT.00.PhaseNet_") + label + ".mseed"), ReaderOptions(),
                      &probs)
            .ok());
    for (const TraceSegment& s : probs.segments) {
      for (double v : s.samples) {
        EXPECT_TRUE(std::isfinite(v)) << label;
        ++samples;
      }
    }
  }
  // Both sides of the gap are annotated: more than half of the 10 minutes, every sample finite.
  EXPECT_GT(samples, 3 * n / 2);
}

}  // namespace
}  // namespace rapid
