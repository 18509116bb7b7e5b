// Pipeline-level parity with SeisBench on the bundled real TexNet minute: the same picks and the
// same probability traces as SeisBench's annotate()/classify() (shared/golden/annotate), through
// the whole run: reader, resampling (40/200/250 Hz stations), windows, PhaseNet, stacking,
// picking, and the probability miniSEED writer.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "engine/picking_run.h"
#include "golden_file.h"
#include "probability_parity.h"
#include "test_util.h"

namespace rapid {
namespace {

const std::string kSample = std::string(RAPID_SOURCE_DIR) + "/data/texnet-sample";
const std::string kGoldenDir = std::string(RAPID_TEST_DATA_DIR) + "/golden/annotate";

class AnnotateParityTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    out_ = new testing::TempDir();
    RunOptions opts;
    opts.input = kSample;
    opts.output_dir = out_->path();
    opts.save_probabilities = true;
    report_ = new RunReport();
    status_ = RunPicking(opts, report_).status();
  }
  static void TearDownTestSuite() {
    delete out_;
    delete report_;
  }
  static testing::TempDir* out_;
  static RunReport* report_;
  static Status status_;
};
testing::TempDir* AnnotateParityTest::out_ = nullptr;
RunReport* AnnotateParityTest::report_ = nullptr;
Status AnnotateParityTest::status_;

TEST_F(AnnotateParityTest, RunSucceedsOnAllStations) {
  ASSERT_TRUE(status_.ok()) << status_.ToString();
  EXPECT_EQ(report_->units_total, 12);
  EXPECT_EQ(report_->units_done, 12);
  EXPECT_TRUE(report_->errors.empty());
  EXPECT_EQ(report_->files_total, 36);
  // 12 stations × 18002 samples at 100 Hz: windows at 0, 1500, …, 13500 and a final one = 11.
  EXPECT_EQ(report_->windows, 12 * 11);
}

TEST_F(AnnotateParityTest, PicksEqualSeisBench) {
  auto golden = testing::ReadCsv(kGoldenDir + "/texnet12_phasenet_original.csv");
  auto mine = testing::ReadCsv(out_->path() + "/picks.csv");
  ASSERT_EQ(mine.front(), (std::vector<std::string>{"trace_id", "phase", "peak_time", "peak_value", "start_time",
                                                    "end_time", "model"}));
  ASSERT_EQ(golden.size(), 11u);  // header + 10 picks
  ASSERT_EQ(mine.size(), golden.size());
  // Golden rows are sorted by start time, ours by peak time: within a trace and phase the two
  // orders agree (triggers do not overlap).
  for (size_t i = 1; i < golden.size(); ++i) {
    SCOPED_TRACE(golden[i][0] + " " + golden[i][1] + " " + golden[i][2]);
    EXPECT_EQ(mine[i][0], golden[i][0]);
    EXPECT_EQ(mine[i][1], golden[i][1]);
    EXPECT_EQ(mine[i][2], golden[i][2]);  // peak time, to the microsecond
    EXPECT_NEAR(std::stod(mine[i][3]), std::stod(golden[i][3]), 1e-3);
    EXPECT_EQ(mine[i][4], golden[i][4]);
    EXPECT_EQ(mine[i][5], golden[i][5]);
  }
}

TEST_F(AnnotateParityTest, ProbabilityTracesEqualSeisBench) {
  size_t traces = 0;
  const double worst = testing::MaxProbabilityDifference(kGoldenDir + "/texnet12_phasenet_original_annotations.pt",
                                                         out_->path() + "/probabilities", "PhaseNet", "PhaseNet",
                                                         &traces);
  EXPECT_EQ(traces, 36u);
  EXPECT_LE(worst, 1e-3);
  RecordProperty("max_abs_probability_difference", std::to_string(worst));
  std::printf("max |probability difference| over 36 traces: %.3g\n", worst);
}

}  // namespace
}  // namespace rapid
