// GPD parity with SeisBench: forward pass (probabilities and logits) on the golden windows, the
// demean-only window normalisation, the original_compatible flattening, strict weight loading, and
// `rapid run` against SeisBench's annotate()/classify() (point-model stitching and picking).
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>

#include "engine/picking_run.h"
#include "engine/windower.h"
#include "golden_file.h"
#include "backends/backend.h"
#include "models/gpd.h"
#include "models/registry.h"
#include "models/state_dict_reader.h"
#include "stored_tensor_aten.h"
#include "probability_parity.h"
#include "test_util.h"

namespace rapid {
namespace {

const std::string kGolden = std::string(RAPID_TEST_DATA_DIR) + "/golden/forward/gpd_random.pt";
const std::string kWeights = std::string(RAPID_TEST_DATA_DIR) + "/models/gpd_random.pt";

float MaxAbsDiff(const std::vector<float>& a, const at::Tensor& b) {
  at::Tensor t = at::from_blob(const_cast<float*>(a.data()), b.sizes(), at::kFloat);
  return (t - b).abs().max().item<float>();
}

TEST(GpdTest, SpecIsSeisBenchsPointModel) {
  LoadedModel m;
  ASSERT_TRUE(LoadModel("gpd", kWeights, &m).ok());
  const ModelSpec& spec = m.model->Spec();
  EXPECT_EQ(spec.class_name, "GPD");
  EXPECT_EQ(spec.in_samples, 400);
  EXPECT_EQ(spec.StrideSamples(), 10);
  EXPECT_EQ(spec.OutSamples(), 1);
  EXPECT_EQ(spec.component_order, "ZNE");
  EXPECT_EQ(spec.norm, WindowNorm::kDemeanOnly);
  // Built without phases, SeisBench names the classes by index (golden `labels`).
  EXPECT_EQ(spec.labels, LoadGoldenFile(kGolden).StringList("labels"));
  EXPECT_DOUBLE_EQ(spec.thresholds.at("0"), 0.7);
}

TEST(GpdTest, ForwardMatchesSeisBenchGolden) {
  GoldenFile golden = LoadGoldenFile(kGolden);
  LoadedModel m;
  ASSERT_TRUE(LoadModel("gpd", kWeights, &m).ok());
  at::Tensor input = golden.Tensor("input").contiguous();
  ASSERT_EQ(input.sizes(), (at::IntArrayRef{4, 3, 400}));
  at::Tensor expected = golden.Tensor("output");
  ASSERT_EQ(expected.sizes(), (at::IntArrayRef{4, 3}));
  std::vector<float> probs(4 * 3), logits(probs.size());
  ASSERT_TRUE(m.model->Forward(input.data_ptr<float>(), 4, probs.data()).ok());
  ASSERT_TRUE(m.model->ForwardLogits(input.data_ptr<float>(), 4, logits.data()).ok());
  const float prob_diff = MaxAbsDiff(probs, expected);
  const float logit_diff = MaxAbsDiff(logits, golden.Tensor("output_logits"));
  std::printf("GPD vs SeisBench golden: max |dprob| %.3g, max |dlogit| %.3g\n", prob_diff, logit_diff);
  EXPECT_LE(prob_diff, 1e-4);
  EXPECT_LE(logit_diff, 1e-4);
  // The inputs are raw counts (up to ~3000): without the in-network peak normalisation the scores
  // would be far off, so the match above also checks that step.
  EXPECT_GT(input.abs().max().item<float>(), 1000.0f);
}

TEST(GpdTest, NormalisationIsDemeanOnly) {
  GoldenFile golden = LoadGoldenFile(kGolden);
  at::Tensor raw = golden.Tensor("raw").contiguous();
  at::Tensor expected = golden.Tensor("input");
  std::vector<float> out(static_cast<size_t>(raw.numel()));
  for (int64_t w = 0; w < 4; ++w) {
    NormaliseWindow(raw.data_ptr<float>() + w * 3 * 400, 400, 3, 0, 400, WindowNorm::kDemeanOnly,
                    out.data() + w * 3 * 400);
  }
  const float diff = MaxAbsDiff(out, expected);
  std::printf("GPD demeaned window vs SeisBench: max |diff| %.3g counts\n", diff);
  EXPECT_LE(diff, 1e-3);
}

// Weights converted from the Keras original flatten the last feature map time-major. Reordering
// fc1's columns from channel-major (c·25 + t) to time-major (t·256 + c) and declaring
// original_compatible in the JSON must give SeisBench's outputs again.
TEST(GpdTest, OriginalCompatibleFlattensTimeMajor) {
  GoldenFile golden = LoadGoldenFile(kGolden);
  LoadedModel m;
  ASSERT_TRUE(LoadModel("gpd", kWeights, &m).ok());
  StateDict state;
  ASSERT_TRUE(ReadStateDict(kWeights, &state).ok());
  for (auto& [name, tensor] : state.entries) {
    if (name != "fc1.weight") continue;
    tensor = ToStoredTensor(ToAtTensor(tensor).reshape({200, 256, 25}).permute({0, 2, 1}).reshape({200, 6400}));
  }
  // Described from the edited weights and compiled by each CPU backend.
  std::unique_ptr<Model> permuted;
  auto build = [&](const std::string& json, const std::string& json_name, const std::string& backend) {
    auto graph = std::make_shared<Graph>();
    RAPID_RETURN_IF_ERROR(DescribeGpd(state.entries, "permuted.pt", json, json_name, m.model->Spec(), graph.get()));
    return backend == kOnednnBackend ? CompileOnednn(graph, m.model->Spec(), &permuted)
                                     : CompileTorch(graph, m.model->Spec(), "cpu", &permuted);
  };
  at::Tensor input = golden.Tensor("input").contiguous();
  std::vector<float> probs(4 * 3);
  for (const std::string& backend : CpuBackends()) {
    SCOPED_TRACE(backend);
    Status s = build(R"({"model_args": {"original_compatible": true}})", "permuted.json", backend);
    ASSERT_TRUE(s.ok()) << s.ToString();
    ASSERT_TRUE(permuted->Forward(input.data_ptr<float>(), 4, probs.data()).ok());
    EXPECT_LE(MaxAbsDiff(probs, golden.Tensor("output")), 1e-4);
    // The same permuted weights read channel-major are a different network.
    ASSERT_TRUE(build("", "", backend).ok());
    ASSERT_TRUE(permuted->Forward(input.data_ptr<float>(), 4, probs.data()).ok());
    EXPECT_GT(MaxAbsDiff(probs, golden.Tensor("output")), 1e-2);
  }
  const Status s = build(R"({"model_args": {"original_compatible": "yes"}})", "gpd.json", kOnednnBackend);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("gpd.json: metadata 'model_args.original_compatible' must be true or false"),
            std::string::npos)
      << s.ToString();
}

TEST(GpdTest, MisfittingWeightsNameTheKeyAndShape) {
  LoadedModel m;
  // PhaseNet's real weights: none of GPD's keys.
  Status s = LoadModel("gpd", std::string(RAPID_MODELS_DIR) + "/phasenet_original.pt", &m);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("phasenet_original.pt"), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("conv1.weight"), std::string::npos) << s.ToString();
  // GPD's own weights with a two-class head do not fit a three-label spec.
  ASSERT_TRUE(LoadModel("gpd", kWeights, &m).ok());
  StateDict state;
  ASSERT_TRUE(ReadStateDict(kWeights, &state).ok());
  for (auto& [name, tensor] : state.entries) {
    if (name == "fc3.weight") tensor = ToStoredTensor(ToAtTensor(tensor).narrow(0, 0, 2));
  }
  Graph two;
  s = DescribeGpd(state.entries, "two.pt", "", "", m.model->Spec(), &two);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("two.pt: weight 'fc3.weight' has shape (2, 200), the architecture needs (3, 200)"),
            std::string::npos)
      << s.ToString();
}

TEST(GpdTest, NoBundledWeightsIsAClearConfigError) {
  LoadedModel m;
  Status s = LoadModel("gpd", "", &m);
  EXPECT_EQ(s.code(), Status::Code::kNotFound);
  EXPECT_EQ(s.message(), "gpd has no bundled weights; pass --weights FILE");
}

// The whole run on the bundled TexNet minute (12 stations, some resampled) against SeisBench's
// annotate()/classify() with the same random weights: 10 Hz traces of one vector per window
// (stride 10), stamped at the window centres, and the picks of all three classes.
TEST(GpdTest, RunEqualsSeisBenchAnnotateAndClassify) {
  testing::TempDir out;
  RunOptions opts;
  opts.input = std::string(RAPID_SOURCE_DIR) + "/data/texnet-sample";
  opts.output_dir = out.path();
  opts.model = "gpd";
  opts.weights = kWeights;
  opts.save_probabilities = true;
  opts.progress = RunOptions::Progress::kOff;
  RunReport report;
  Status s = RunPicking(opts, &report).status();
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(report.units_done, 12);
  EXPECT_TRUE(report.errors.empty());
  // 12 stations × 18002 samples: windows at 0, 10, …, 17600 (no end-aligned window).
  EXPECT_EQ(report.windows, 12 * 1761);

  const std::string golden = std::string(RAPID_TEST_DATA_DIR) + "/golden/annotate/texnet12_gpd_random";
  size_t compared = 0;
  const double worst = testing::MaxProbabilityDifference(golden + "_annotations.pt", out.Path("probabilities"), "GPD",
                                                         "GPD", &compared);
  EXPECT_EQ(compared, 36u);  // 12 stations × classes 0, 1, 2
  std::printf("GPD: max |probability difference| over 36 traces: %.3g\n", worst);
  EXPECT_LE(worst, 1e-3);

  // Picks: times within one output sample (0.1 s), peak values within 1e-3.
  size_t picks = 0;
  const int exact = testing::CompareWithGoldenPicks(golden + ".csv", out.Path("picks.csv"), 100'000'000, &picks);
  ASSERT_EQ(picks, 1667u);
  std::printf("GPD: %d of %zu picks with identical peak, start and end times\n", exact, picks);
  EXPECT_GE(exact, static_cast<int>(picks) * 99 / 100);
}

}  // namespace
}  // namespace rapid
