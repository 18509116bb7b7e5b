// EQTransformer parity with SeisBench, both variants (default: 3 LSTM blocks; conservative
// original: 2 blocks, hard-sigmoid gates): forward pass on the golden windows, normalisation,
// how the variant is decided, strict weight loading, and the whole run on the TexNet minute.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>

#include "backends/backend.h"
#include "core/nano_time.h"
#include "engine/picking_run.h"
#include "engine/windower.h"
#include "golden_file.h"
#include "probability_parity.h"
#include "picking/picker.h"
#include "models/eqtransformer.h"
#include "models/registry.h"
#include "models/state_dict_reader.h"
#include "test_util.h"

namespace rapid {
namespace {

const std::string kData = RAPID_TEST_DATA_DIR;
const std::string kDefaultWeights = kData + "/models/eqtransformer_random.pt";
const std::string kConservativeWeights = kData + "/models/eqtransformer_original_compatible_random.pt";
constexpr int64_t kSamples = 6000;

struct Variant {
  const char* tag;  // golden file stem
  std::string weights;
};
const Variant kDefault{"eqtransformer_random", kDefaultWeights};
const Variant kConservative{"eqtransformer_original_compatible_random", kConservativeWeights};

// max |mine[:, label, :] − expected| for a (batch, labels, samples) buffer and a (batch, samples) golden.
float MaxAbsDiff(const std::vector<float>& mine, int64_t labels, int64_t label, const at::Tensor& expected) {
  at::Tensor all = at::from_blob(const_cast<float*>(mine.data()), {expected.size(0), labels, kSamples}, at::kFloat);
  return (all.select(1, label) - expected).abs().max().item<float>();
}

void CheckForward(const Variant& v) {
  GoldenFile golden = LoadGoldenFile(kData + "/golden/forward/" + v.tag + ".pt");
  LoadedModel m;
  Status s = LoadModel("eqtransformer", v.weights, &m);
  ASSERT_TRUE(s.ok()) << s.ToString();
  const ModelSpec& spec = m.model->Spec();
  ASSERT_EQ(golden.StringList("labels"), spec.labels);
  at::Tensor input = golden.Tensor("input").contiguous();
  ASSERT_EQ(input.sizes(), (at::IntArrayRef{4, 3, kSamples}));
  std::vector<float> probs(static_cast<size_t>(4 * spec.Labels() * kSamples)), logits(probs.size());
  ASSERT_TRUE(m.model->Forward(input.data_ptr<float>(), 4, probs.data()).ok());
  ASSERT_TRUE(m.model->ForwardLogits(input.data_ptr<float>(), 4, logits.data()).ok());
  for (int64_t l = 0; l < spec.Labels(); ++l) {
    const std::string& label = spec.labels[static_cast<size_t>(l)];
    const float prob_diff = MaxAbsDiff(probs, spec.Labels(), l, golden.Tensor("output", label));
    const float logit_diff = MaxAbsDiff(logits, spec.Labels(), l, golden.Tensor("output_logits", label));
    std::printf("%s %-9s vs SeisBench golden: max |dprob| %.3g, max |dlogit| %.3g\n", v.tag, label.c_str(),
                prob_diff, logit_diff);
    EXPECT_LE(prob_diff, 1e-4) << label;
    EXPECT_LE(logit_diff, 1e-4) << label;
  }
}

TEST(EqTransformerTest, DefaultVariantForwardMatchesSeisBenchGolden) { CheckForward(kDefault); }

TEST(EqTransformerTest, ConservativeVariantForwardMatchesSeisBenchGolden) { CheckForward(kConservative); }

TEST(EqTransformerTest, SpecHasSeisBenchDefaults) {
  LoadedModel m;
  ASSERT_TRUE(LoadModel("eqtransformer", kDefaultWeights, &m).ok());
  const ModelSpec& spec = m.model->Spec();
  EXPECT_EQ(spec.class_name, "EQTransformer");
  EXPECT_EQ(spec.component_order, "ZNE");
  EXPECT_EQ(spec.labels, (std::vector<std::string>{"Detection", "P", "S"}));
  EXPECT_EQ(spec.detection_label, "Detection");
  EXPECT_EQ(spec.noise_label, "");
  EXPECT_EQ(spec.in_samples, 6000);
  EXPECT_EQ(spec.overlap_samples, 3000);
  EXPECT_EQ(spec.blinding_pre_samples, 500);
  EXPECT_EQ(spec.blinding_post_samples, 500);
  EXPECT_EQ(spec.stacking, Stacking::kMax);
  EXPECT_EQ(spec.norm, WindowNorm::kStdAllChannelsTapered);
  EXPECT_DOUBLE_EQ(spec.thresholds.at("Detection"), 0.3);
  EXPECT_DOUBLE_EQ(spec.thresholds.at("P"), 0.1);
  EXPECT_DOUBLE_EQ(spec.thresholds.at("S"), 0.1);
}

// The golden `input` is `raw` demeaned per channel, divided by one std over all channels, and then
// tapered over 6 samples at each end (SeisBench's EQTransformer.annotate_window_pre).
TEST(EqTransformerTest, NormalisationMatchesSeisBench) {
  GoldenFile golden = LoadGoldenFile(kData + "/golden/forward/eqtransformer_random.pt");
  at::Tensor raw = golden.Tensor("raw").contiguous();
  at::Tensor expected = golden.Tensor("input");
  std::vector<float> out(static_cast<size_t>(raw.numel()));
  for (int64_t w = 0; w < 4; ++w) {
    NormaliseWindow(raw.data_ptr<float>() + w * 3 * kSamples, kSamples, 3, 0, kSamples, WindowNorm::kStdAllChannelsTapered,
                    out.data() + w * 3 * kSamples);
  }
  at::Tensor mine = at::from_blob(out.data(), {4, 3, kSamples}, at::kFloat);
  EXPECT_LE((mine - expected).abs().max().item<float>(), 1e-4);
}

using Compat = EqtArchitecture::Compat;

TEST(EqTransformerTest, VariantIsDecidedFromTheKeys) {
  StateDict state;
  ASSERT_TRUE(ReadStateDict(kDefaultWeights, &state).ok());
  EqtArchitecture arch;
  ASSERT_TRUE(DecideEqtArchitecture(state.entries, "", "", &arch).ok());
  EXPECT_EQ(arch.lstm_blocks, 3);
  EXPECT_EQ(arch.original_compatible, Compat::kNone);

  ASSERT_TRUE(ReadStateDict(kConservativeWeights, &state).ok());
  ASSERT_TRUE(DecideEqtArchitecture(state.entries, "", "", &arch).ok());
  EXPECT_EQ(arch.lstm_blocks, 2);
  EXPECT_EQ(arch.original_compatible, Compat::kConservative);

  // SeisBench's non-conservative original keeps torch LSTMs in the picking branches.
  for (auto& [key, tensor] : state.entries) {
    const std::string cell = ".cell_f.";
    if (key.rfind("pick_lstms.", 0) == 0) key = key.replace(key.find(cell), cell.size(), ".") + "_l0";
  }
  ASSERT_TRUE(DecideEqtArchitecture(state.entries, "", "", &arch).ok());
  EXPECT_EQ(arch.original_compatible, Compat::kNonConservative);
  // That variant loads (the keys fit) and differs from the conservative one only in its gates.
  LoadedModel conservative;
  ASSERT_TRUE(LoadModel("eqtransformer", kConservativeWeights, &conservative).ok());
  auto graph = std::make_shared<Graph>();
  Status s = DescribeEqTransformer(state.entries, "renamed.pt", "", "", conservative.model->Spec(), graph.get());
  ASSERT_TRUE(s.ok()) << s.ToString();
  std::unique_ptr<Model> sigmoid_gates;
  s = CompileOnednn(graph, conservative.model->Spec(), &sigmoid_gates);
  ASSERT_TRUE(s.ok()) << s.ToString();
  GoldenFile golden = LoadGoldenFile(kData + "/golden/forward/" + kConservative.tag + ".pt");
  at::Tensor input = golden.Tensor("input").contiguous();
  std::vector<float> a(static_cast<size_t>(4 * 3 * kSamples)), b(a.size());
  ASSERT_TRUE(conservative.model->ForwardLogits(input.data_ptr<float>(), 4, a.data()).ok());
  ASSERT_TRUE(sigmoid_gates->ForwardLogits(input.data_ptr<float>(), 4, b.data()).ok());
  EXPECT_LE(MaxAbsDiff(a, 3, 0, golden.Tensor("output_logits", "Detection")), 1e-4);
  EXPECT_GT(MaxAbsDiff(b, 3, 0, golden.Tensor("output_logits", "Detection")), 1e-2);
}

// Copies `weights` into `dir` next to a SeisBench-style JSON holding `json`; returns the copy's path.
std::string WeightsWithJson(const testing::TempDir& dir, const std::string& weights, const std::string& json) {
  const std::string copy = dir.Path("eqt.pt");
  std::filesystem::copy_file(weights, copy);
  std::ofstream(dir.Path("eqt.json")) << json;
  return copy;
}

TEST(EqTransformerTest, JsonModelArgsChooseTheVariant) {
  testing::TempDir dir;
  const std::string weights = WeightsWithJson(
      dir, kConservativeWeights,
      R"({"model_args": {"lstm_blocks": 2, "original_compatible": "conservative", "phases": "PS"},
          "default_args": {"detection_threshold": 0.5, "P_threshold": 0.2}})");
  LoadedModel m;
  Status s = LoadModel("eqtransformer", weights, &m);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(m.model->Spec().labels, (std::vector<std::string>{"Detection", "P", "S"}));
  EXPECT_DOUBLE_EQ(m.model->Spec().thresholds.at("Detection"), 0.5);
  EXPECT_DOUBLE_EQ(m.model->Spec().thresholds.at("P"), 0.2);
}

TEST(EqTransformerTest, MisfittingWeightsNameTheKeyAndShape) {
  LoadedModel m;
  // PhaseNet's real weights: none of EQTransformer's keys.
  Status s = LoadModel("eqtransformer", std::string(RAPID_MODELS_DIR) + "/phasenet_original.pt", &m);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("phasenet_original.pt: weight 'encoder.convs.0.weight' is missing (needed with shape "
                             "(8, 3, 11))"),
            std::string::npos)
      << s.ToString();
  {
    // Default-variant weights forced into the conservative architecture by their JSON.
    testing::TempDir dir;
    s = LoadModel("eqtransformer",
                  WeightsWithJson(dir, kDefaultWeights, R"({"model_args": {"original_compatible": "conservative"}})"),
                  &m);
    EXPECT_FALSE(s.ok());
    EXPECT_NE(s.message().find("weight 'bi_lstm_stack.members.0.lstm.cell_f.weight_ih' is missing (needed with "
                               "shape (64, 64))"),
              std::string::npos)
        << s.ToString();
  }
  {
    // One LSTM block fewer than the file holds: the extra block's keys are named.
    testing::TempDir dir;
    s = LoadModel("eqtransformer", WeightsWithJson(dir, kDefaultWeights, R"({"model_args": {"lstm_blocks": 2}})"),
                  &m);
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
    EXPECT_NE(s.message().find("not used by the architecture: bi_lstm_stack.members.2.lstm.weight_ih_l0"),
              std::string::npos)
        << s.ToString();
  }
  {
    // Two input components: the first convolution's shape does not fit.
    testing::TempDir dir;
    const std::string json = R"({"model_args": {"component_order": "ZN"}})";
    s = LoadModel("eqtransformer", WeightsWithJson(dir, kDefaultWeights, json), &m);
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
    EXPECT_NE(s.message().find("weight 'encoder.convs.0.weight' has shape (8, 3, 11), the architecture needs "
                               "(8, 2, 11)"),
              std::string::npos)
        << s.ToString();
  }
  {
    // Another window length: the weights would fit, the windows would not be SeisBench's.
    testing::TempDir dir;
    s = LoadModel("eqtransformer", WeightsWithJson(dir, kDefaultWeights, R"({"model_args": {"in_samples": 3001}})"),
                  &m);
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
    EXPECT_NE(s.message().find("eqt.json: metadata 'model_args.in_samples' is 3001"), std::string::npos)
        << s.ToString();
  }
  {
    testing::TempDir dir;
    s = LoadModel("eqtransformer",
                  WeightsWithJson(dir, kDefaultWeights, R"({"model_args": {"original_compatible": "maybe"}})"), &m);
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
    EXPECT_NE(s.message().find("eqt.json: metadata 'model_args.original_compatible'"), std::string::npos)
        << s.ToString();
  }
}

TEST(EqTransformerTest, NoBundledWeightsIsAClearConfigError) {
  LoadedModel m;
  Status s = LoadModel("eqtransformer", "", &m);
  EXPECT_EQ(s.code(), Status::Code::kNotFound);
  EXPECT_EQ(s.message(), "eqtransformer has no bundled weights; pass --weights FILE");
}

// The whole run on the bundled TexNet minute (12 stations, some resampled) against SeisBench's
// annotate()/classify() with the same random weights.
class EqTransformerRunTest : public ::testing::TestWithParam<Variant> {
 protected:
  void SetUp() override {
    out_ = std::make_unique<testing::TempDir>();
    RunOptions opts;
    opts.input = std::string(RAPID_SOURCE_DIR) + "/data/texnet-sample";
    opts.output_dir = out_->path();
    opts.model = "eqtransformer";
    opts.weights = GetParam().weights;
    opts.save_probabilities = true;
    opts.progress = RunOptions::Progress::kOff;
    Status s = RunPicking(opts, &report_).status();
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  std::string Golden(const std::string& suffix) const {
    return kData + "/golden/annotate/texnet12_" + GetParam().tag + suffix;
  }
  std::unique_ptr<testing::TempDir> out_;
  RunReport report_;
};

TEST_P(EqTransformerRunTest, PicksAndTracesEqualSeisBench) {
  EXPECT_EQ(report_.units_done, 12);
  EXPECT_TRUE(report_.errors.empty());

  // The golden csv holds SeisBench's picks only (classify() returns its detections apart); the
  // detections are checked against SeisBench's Detection traces below. Times within one sample.
  size_t picks = 0;
  const int exact = testing::CompareWithGoldenPicks(Golden(".csv"), out_->path() + "/picks.csv", 10'000'000, &picks);
  ASSERT_GT(picks, 0u);
  std::printf("%s: %d of %zu picks with identical peak, start and end times\n", GetParam().tag, exact, picks);

  auto traces = LoadAnnotationGolden(Golden("_annotations.pt"));
  ASSERT_EQ(traces.size(), 36u);  // 12 stations × Detection, P, S
  size_t compared = 0;
  const double worst = testing::MaxProbabilityDifference(Golden("_annotations.pt"), out_->path() + "/probabilities",
                                                         "EQTransformer", "EQTransformer", &compared);
  EXPECT_EQ(compared, 36u);
  std::printf("%s: max |probability difference| over 36 traces: %.3g\n", GetParam().tag, worst);
  EXPECT_LE(worst, 1e-3);

  // detections.csv: the triggers of SeisBench's own Detection traces (threshold 0.3, off 0.15).
  std::vector<Pick> expected;
  const std::string suffix = ".EQTransformer_Detection";
  for (const auto& [key, trace] : traces) {
    if (key.size() < suffix.size() || key.compare(key.size() - suffix.size(), suffix.size(), suffix) != 0) continue;
    auto p = PickTrace(key.substr(0, key.size() - suffix.size()), "Detection", trace.data.data(),
                       static_cast<int64_t>(trace.data.size()), testing::Iso(trace.starttime.c_str()), 100.0, 0.3);
    expected.insert(expected.end(), p.begin(), p.end());
  }
  SortPicks(&expected);
  auto rows = testing::ReadCsv(out_->path() + "/detections.csv");
  ASSERT_EQ(rows.front(), (std::vector<std::string>{"trace_id", "start_time", "end_time", "peak_value", "model"}));
  rows.erase(rows.begin());
  EXPECT_GT(expected.size(), 0u);
  EXPECT_EQ(report_.detections, static_cast<int64_t>(expected.size()));
  ASSERT_EQ(rows.size(), expected.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i][0], expected[i].trace_id);
    EXPECT_LE(std::llabs(testing::Iso(rows[i][1].c_str()) - expected[i].start_time), 10'000'000) << i;
    EXPECT_LE(std::llabs(testing::Iso(rows[i][2].c_str()) - expected[i].end_time), 10'000'000) << i;
    EXPECT_NEAR(std::stod(rows[i][3]), expected[i].peak_value, 1e-3) << i;
    EXPECT_EQ(rows[i][4], "eqtransformer");
  }
}

INSTANTIATE_TEST_SUITE_P(Variants, EqTransformerRunTest, ::testing::Values(kDefault, kConservative),
                         [](const ::testing::TestParamInfo<Variant>& info) {
                           return std::string(info.param.tag) == kDefault.tag ? "Default" : "Conservative";
                         });

}  // namespace
}  // namespace rapid
