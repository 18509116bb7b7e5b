// PhaseNetLight parity with SeisBench: forward pass on the golden windows, peak normalisation of
// the raw windows, strict weight loading, and a whole run on the bundled TexNet minute.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstdio>

#include "engine/picking_run.h"
#include "engine/windower.h"
#include "golden_file.h"
#include "models/registry.h"
#include "probability_parity.h"
#include "test_util.h"

namespace rapid {
namespace {

const std::string kWeights = std::string(RAPID_TEST_DATA_DIR) + "/models/phasenetlight_ethz.pt.v2";
const std::string kGolden = std::string(RAPID_TEST_DATA_DIR) + "/golden/forward/phasenetlight_ethz.pt";
const std::string kAnnotateGolden = std::string(RAPID_TEST_DATA_DIR) + "/golden/annotate/texnet12_phasenetlight_ethz";

float MaxAbsDiff(const std::vector<float>& a, const at::Tensor& b) {
  at::Tensor t = at::from_blob(const_cast<float*>(a.data()), b.sizes(), at::kFloat);
  return (t - b).abs().max().item<float>();
}

TEST(PhaseNetLightTest, WeightsJsonSetsLabelsOrderNormAndThresholds) {
  LoadedModel m;
  ASSERT_TRUE(LoadModel("phasenetlight", kWeights, &m).ok());
  const ModelSpec& spec = m.model->Spec();
  EXPECT_EQ(spec.class_name, "PhaseNetLight");
  EXPECT_EQ(spec.labels, (std::vector<std::string>{"P", "S", "N"}));
  EXPECT_EQ(spec.component_order, "ZNE");
  EXPECT_EQ(spec.norm, WindowNorm::kPeakPerChannel);
  EXPECT_DOUBLE_EQ(spec.thresholds.at("P"), 0.4439247878516038);
  EXPECT_DOUBLE_EQ(spec.thresholds.at("S"), 0.4502677090692625);
  EXPECT_EQ(spec.in_samples, 3001);
  EXPECT_EQ(spec.overlap_samples, 1500);
  EXPECT_EQ(m.metadata_path, std::string(RAPID_TEST_DATA_DIR) + "/models/phasenetlight_ethz.json.v2");
}

TEST(PhaseNetLightTest, ForwardMatchesSeisBenchGolden) {
  GoldenFile golden = LoadGoldenFile(kGolden);
  ASSERT_EQ(golden.StringList("labels"), (std::vector<std::string>{"P", "S", "N"}));
  LoadedModel m;
  ASSERT_TRUE(LoadModel("phasenetlight", kWeights, &m).ok());
  at::Tensor input = golden.Tensor("input").contiguous();
  ASSERT_EQ(input.sizes(), (at::IntArrayRef{4, 3, 3001}));
  std::vector<float> probs(static_cast<size_t>(input.numel())), logits(probs.size());
  ASSERT_TRUE(m.model->Forward(input.data_ptr<float>(), 4, probs.data()).ok());
  ASSERT_TRUE(m.model->ForwardLogits(input.data_ptr<float>(), 4, logits.data()).ok());
  const float prob_diff = MaxAbsDiff(probs, golden.Tensor("output"));
  const float logit_diff = MaxAbsDiff(logits, golden.Tensor("output_logits"));
  std::printf("PhaseNetLight vs SeisBench golden: max |dprob| %.3g, max |dlogit| %.3g\n", prob_diff, logit_diff);
  EXPECT_LE(prob_diff, 1e-4);
  EXPECT_LE(logit_diff, 1e-4);
  // Window 0 is the RJOB event: the P and S maxima fall on SeisBench's samples.
  for (int64_t label : {0, 1}) {
    const float* trace = probs.data() + label * 3001;
    const int64_t expected = golden.Tensor("output")[0][label].argmax().item<int64_t>();
    EXPECT_EQ(std::max_element(trace, trace + 3001) - trace, expected) << "label " << label;
  }
}

TEST(PhaseNetLightTest, PeakNormalisationMatchesSeisBench) {
  GoldenFile golden = LoadGoldenFile(kGolden);
  at::Tensor raw = golden.Tensor("raw").contiguous();
  std::vector<float> out(static_cast<size_t>(raw.numel()));
  for (int64_t w = 0; w < 4; ++w) {
    NormaliseWindow(raw.data_ptr<float>() + w * 3 * 3001, 3001, 3, 0, 3001, WindowNorm::kPeakPerChannel,
                    out.data() + w * 3 * 3001);
  }
  const float diff = MaxAbsDiff(out, golden.Tensor("input"));
  std::printf("PhaseNetLight normalisation vs SeisBench: max |d| %.3g\n", diff);
  // As for PhaseNet: torch sums float32 in its own order, so the mean of a window with a large
  // offset differs by a fraction of a count (measured 2.3e-5).
  EXPECT_LE(diff, 1e-4);
}

TEST(PhaseNetLightTest, MisfittingWeightsNameTheKeyAndShape) {
  LoadedModel m;
  // PhaseNet's weights: a 7-sample input kernel where PhaseNetLight has 1.
  Status s = LoadModel("phasenetlight", std::string(RAPID_MODELS_DIR) + "/phasenet_original.pt", &m);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("phasenet_original.pt: weight 'inc.weight' has shape (8, 3, 7), the architecture "
                             "needs (8, 3, 1)"),
            std::string::npos)
      << s.ToString();
}

TEST(PhaseNetLightTest, NoBundledWeightsIsAClearConfigError) {
  LoadedModel m;
  Status s = LoadModel("phasenetlight", "", &m);
  EXPECT_EQ(s.code(), Status::Code::kNotFound);
  EXPECT_EQ(s.message(), "phasenetlight has no bundled weights; pass --weights FILE");
}

// The whole pipeline on the bundled TexNet minute gives SeisBench's one pick and its traces.
TEST(PhaseNetLightTest, RunOnTexNetMinuteEqualsSeisBench) {
  testing::TempDir out;
  RunOptions opts;
  opts.input = std::string(RAPID_SOURCE_DIR) + "/data/texnet-sample";
  opts.output_dir = out.path();
  opts.model = "phasenetlight";
  opts.weights = kWeights;
  opts.save_probabilities = true;
  opts.progress = RunOptions::Progress::kOff;
  RunReport report;
  Status status = RunPicking(opts, &report).status();
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(report.units_done, 12);
  EXPECT_TRUE(report.errors.empty());

  auto golden = testing::ReadCsv(kAnnotateGolden + ".csv");
  auto mine = testing::ReadCsv(out.path() + "/picks.csv");
  ASSERT_EQ(golden.size(), 2u);  // header + 1 pick
  ASSERT_EQ(mine.size(), golden.size());
  EXPECT_EQ(mine[1][0], golden[1][0]);
  EXPECT_EQ(mine[1][1], golden[1][1]);
  EXPECT_EQ(mine[1][2], golden[1][2]);  // peak time, to the microsecond
  EXPECT_NEAR(std::stod(mine[1][3]), std::stod(golden[1][3]), 1e-3);
  EXPECT_EQ(mine[1][4], golden[1][4]);
  EXPECT_EQ(mine[1][5], golden[1][5]);
  EXPECT_EQ(mine[1][6], "phasenetlight");

  size_t traces = 0;
  const double worst = testing::MaxProbabilityDifference(kAnnotateGolden + "_annotations.pt", out.Path("probabilities"),
                                                         "PhaseNetLight", "PhaseNetLight", &traces);
  std::printf("PhaseNetLight: max |probability difference| over %zu traces: %.3g\n", traces, worst);
  EXPECT_EQ(traces, 36u);
  EXPECT_LE(worst, 1e-3);
}

}  // namespace
}  // namespace rapid
