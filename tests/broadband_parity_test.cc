// Parity with SeisBench on broadband-style data (tests/data/golden/annotate/broadband6, see its
// README): 20/40/250 Hz hour-long traces whose components start fractions of a sample apart, a
// half-sample tie, odd lengths, a component starting 3 s late and a 7.3 s gap. SeisBench aligns
// each resampled trace to the 100 Hz grid counted from the epoch, joins the spans any component
// covers (zeros elsewhere) and reports each block at its grid start plus the mean shift — and so
// must RAPID, whether the files are read whole or cut into EQCCTPro time chunks.
#include <gtest/gtest.h>

#include <filesystem>

#include "engine/picking_run.h"
#include "engine/time_chunks.h"
#include "io/mseed_reader.h"
#include "io/mseed_writer.h"
#include "probability_parity.h"
#include "test_util.h"

namespace rapid {
namespace {

namespace fs = std::filesystem;

const std::string kDir = std::string(RAPID_TEST_DATA_DIR) + "/golden/annotate/broadband6";
const std::string kGoldenPicks = kDir + "/broadband6_phasenet_original.csv";
constexpr int64_t kOneSampleNs = 10'000'000;  // at PhaseNet's 100 Hz

RunReport RunOn(const std::string& input, const std::string& output) {
  RunOptions opts;
  opts.input = input;
  opts.output_dir = output;
  opts.save_probabilities = true;
  RunReport report;
  Status s = RunPicking(opts, &report).status();
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(report.errors.empty());
  return report;
}

// "20240302T100000Z": the compact form of the timechunk layout's names.
std::string Compact(NanoTime t) {
  std::string iso = FormatIsoMicros(t);  // 2024-03-02T10:00:00.000000Z
  std::string out;
  for (char c : iso.substr(0, 19)) {
    if (c != '-' && c != ':') out += c;
  }
  return out + "Z";
}

// Cuts every file of `input_dir` into EQCCTPro's timechunk layout under `root`: chunks of
// `chunk_ns` starting `overlap_ns` early (time_chunks.h), one folder per station.
void WriteChunkLayout(const std::string& input_dir, const std::string& root, NanoTime start, NanoTime end,
                      int64_t chunk_ns, int64_t overlap_ns) {
  std::vector<TraceSegment> all;
  for (const auto& entry : fs::directory_iterator(input_dir)) {
    MseedFileContents contents;
    ASSERT_TRUE(ReadMseedFile(entry.path().string(), ReaderOptions(), &contents).ok()) << entry.path();
    for (TraceSegment& s : contents.segments) all.push_back(std::move(s));
  }
  for (const TimeChunk& c : PlanTimeChunks(start, end, chunk_ns, overlap_ns)) {
    const std::string chunk = Compact(c.start) + "_" + Compact(c.end);
    for (const TraceSegment& seg : all) {
      TraceSegment part;
      part.id = seg.id;
      part.rate_hz = seg.rate_hz;
      for (int64_t i = 0; i < static_cast<int64_t>(seg.samples.size()); ++i) {
        const NanoTime t = seg.SampleTimeAt(i);
        if (t < c.start || t > c.end) continue;
        if (part.samples.empty()) part.start = t;
        part.samples.push_back(seg.samples[static_cast<size_t>(i)]);
      }
      if (part.samples.empty()) continue;
      const std::string dir = root + "/" + chunk + "/" + seg.id.station;
      fs::create_directories(dir);
      // One file per channel and chunk; a channel with a gap appends its second segment.
      const std::string path = dir + "/" + seg.id.ToString() + "__" + Compact(c.start) + "__" + Compact(c.end) + ".mseed";
      std::vector<TraceSegment> segs{part};
      if (fs::exists(path)) {
        MseedFileContents earlier;
        ASSERT_TRUE(ReadMseedFile(path, ReaderOptions(), &earlier).ok());
        segs.insert(segs.begin(), earlier.segments.begin(), earlier.segments.end());
      }
      ASSERT_TRUE(WriteMseedFile(path, segs, SampleEncoding::kSteim2, 512).ok()) << path;
    }
  }
}

class BroadbandParityTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    out_ = new testing::TempDir();
    report_ = new RunReport(RunOn(kDir + "/mseed", out_->Path("whole")));
  }
  static void TearDownTestSuite() {
    delete out_;
    delete report_;
  }
  static testing::TempDir* out_;
  static RunReport* report_;
};
testing::TempDir* BroadbandParityTest::out_ = nullptr;
RunReport* BroadbandParityTest::report_ = nullptr;

TEST_F(BroadbandParityTest, SameWindowsAsSeisBench) {
  EXPECT_EQ(report_->units_done, 6);
  EXPECT_EQ(report_->windows, 1075);  // oracle_meta.json classify_windows
}

TEST_F(BroadbandParityTest, PicksEqualSeisBench) {
  size_t compared = 0;
  const int exact =
      testing::CompareWithGoldenPicks(kGoldenPicks, out_->Path("whole/picks.csv"), kOneSampleNs, &compared);
  EXPECT_EQ(compared, 609u);
  // Measured: every pick to the microsecond (the criterion is one sample).
  EXPECT_EQ(exact, 609);
}

TEST_F(BroadbandParityTest, ProbabilityTracesEqualSeisBenchWithTheirStartTimes) {
  // BB02 (E +13 ms, N −4 ms at 40 Hz), BB04 (E 3 s late, Z gap) and BB06 (the half-sample tie);
  // the helper checks each trace's start time, rate and length as well.
  size_t traces = 0;
  const double worst = testing::MaxProbabilityDifference(kDir + "/broadband6_phasenet_original_annotations.pt",
                                                         out_->Path("whole/probabilities"), "PhaseNet", "PhaseNet",
                                                         &traces);
  EXPECT_EQ(traces, 9u);
  EXPECT_LE(worst, 1e-5);  // measured 6.6e-7; the criterion is 1e-3
  std::printf("max |probability difference| over 9 traces: %.3g\n", worst);
}

TEST_F(BroadbandParityTest, TenMinuteChunksWithOverlapGiveTheSamePicks) {
  const std::string layout = out_->Path("chunks");
  const NanoTime start = *ParseIsoTime("2024-03-02T09:59:00Z");  // before every first sample
  const NanoTime end = *ParseIsoTime("2024-03-02T12:20:00Z");
  WriteChunkLayout(kDir + "/mseed", layout, start, end, int64_t{600} * kNanosPerSecond, int64_t{120} * kNanosPerSecond);
  RunOn(layout, out_->Path("chunked"));
  EXPECT_EQ(testing::ReadCsv(out_->Path("chunked/picks.csv")), testing::ReadCsv(out_->Path("whole/picks.csv")));
  size_t traces = 0;
  const double worst = testing::MaxProbabilityDifference(kDir + "/broadband6_phasenet_original_annotations.pt",
                                                         out_->Path("chunked/probabilities"), "PhaseNet", "PhaseNet",
                                                         &traces);
  EXPECT_EQ(traces, 9u);
  EXPECT_LE(worst, 1e-5);
}

}  // namespace
}  // namespace rapid
