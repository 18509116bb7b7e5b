// EQCCT parity with SeisBench's EQCCTP and EQCCTS: each network's forward pass on the golden
// windows, the tapered all-channel std normalisation, strict loading of the two weight files, and
// a whole run on the bundled TexNet minute (no picks, so the probability traces are compared too).
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "engine/picking_run.h"
#include "engine/windower.h"
#include "golden_file.h"
#include "models/registry.h"
#include "probability_parity.h"
#include "test_util.h"

namespace rapid {
namespace {

const std::string kModels = RAPID_MODELS_DIR;
const std::string kForwardDir = std::string(RAPID_TEST_DATA_DIR) + "/golden/forward";
const std::string kAnnotateDir = std::string(RAPID_TEST_DATA_DIR) + "/golden/annotate";
constexpr int64_t kSamples = 6000;

TEST(EqcctTest, BundledWeightsGiveSeisBenchSettings) {
  LoadedModel m;
  Status s = LoadModel("eqcct", "", &m);
  ASSERT_TRUE(s.ok()) << s.ToString();
  const ModelSpec& spec = m.model->Spec();
  EXPECT_EQ(spec.class_name, "EQCCT");
  EXPECT_EQ(spec.labels, (std::vector<std::string>{"P", "S"}));
  EXPECT_EQ(spec.noise_label, "");
  EXPECT_EQ(spec.component_order, "ENZ");
  EXPECT_EQ(spec.in_samples, kSamples);
  EXPECT_EQ(spec.overlap_samples, 3000);
  EXPECT_EQ(spec.blinding_pre_samples, 500);
  EXPECT_EQ(spec.blinding_post_samples, 500);
  EXPECT_EQ(spec.stacking, Stacking::kMax);
  EXPECT_EQ(spec.norm, WindowNorm::kStdAllChannelsTapered);
  EXPECT_DOUBLE_EQ(spec.thresholds.at("P"), 0.3);
  EXPECT_DOUBLE_EQ(spec.thresholds.at("S"), 0.5);
  EXPECT_EQ(m.weights_path, kModels + "/eqcct_p.pt," + kModels + "/eqcct_s.pt");
  EXPECT_EQ(m.metadata_path, kModels + "/eqcct_p.json," + kModels + "/eqcct_s.json");
  // Two digests, P's and S's (their sha256sum).
  ASSERT_EQ(m.weights_sha256.size(), 64u * 2 + 1);
  EXPECT_EQ(m.weights_sha256[64], ',');
  // The same two files named explicitly load the same model.
  LoadedModel again;
  ASSERT_TRUE(LoadModel("eqcct", m.weights_path, &again).ok());
  EXPECT_EQ(again.weights_sha256, m.weights_sha256);
}

// Label `label` of RAPID's EQCCT on the golden's input against the golden's single output.
void ExpectNetworkMatchesGolden(const std::string& golden_name, int64_t label) {
  GoldenFile golden = LoadGoldenFile(kForwardDir + "/" + golden_name + ".pt");
  LoadedModel m;
  ASSERT_TRUE(LoadModel("eqcct", "", &m).ok());
  at::Tensor input = golden.Tensor("input").contiguous();
  ASSERT_EQ(input.sizes(), (at::IntArrayRef{4, 3, kSamples}));
  at::Tensor expected = golden.Tensor("output");
  ASSERT_EQ(expected.sizes(), (at::IntArrayRef{4, 1, kSamples}));
  at::Tensor probs = at::empty({4, 2, kSamples}, at::kFloat);
  at::Tensor logits = at::empty({4, 2, kSamples}, at::kFloat);
  ASSERT_TRUE(m.model->Forward(input.data_ptr<float>(), 4, probs.data_ptr<float>()).ok());
  ASSERT_TRUE(m.model->ForwardLogits(input.data_ptr<float>(), 4, logits.data_ptr<float>()).ok());
  at::Tensor mine = probs.narrow(1, label, 1);
  const float diff = (mine - expected).abs().max().item<float>();
  // The golden has no logits; compare ours with the inverse sigmoid of SeisBench's probabilities
  // where that is well conditioned (p in [1e-3, 1 - 1e-3]).
  at::Tensor mask = (expected > 1e-3) & (expected < 1 - 1e-3);
  at::Tensor golden_logits = at::log(expected / (1 - expected));
  const float logit_diff =
      (logits.narrow(1, label, 1) - golden_logits).abs().masked_select(mask).max().item<float>();
  std::printf("EQCCT label %lld vs SeisBench %s: max |dprob| %.3g, max |dlogit| %.3g (p in [1e-3, 0.999])\n",
              static_cast<long long>(label), golden_name.c_str(), diff, logit_diff);
  EXPECT_LE(diff, 1e-4);
  EXPECT_LE(logit_diff, 1e-3);
  // Window 0 is the RJOB event: the maximum falls on SeisBench's sample.
  EXPECT_EQ(mine[0][0].argmax().item<int64_t>(), expected[0][0].argmax().item<int64_t>());
}

TEST(EqcctTest, PNetworkMatchesSeisBenchGolden) { ExpectNetworkMatchesGolden("eqcct_p", 0); }
TEST(EqcctTest, SNetworkMatchesSeisBenchGolden) { ExpectNetworkMatchesGolden("eqcct_s", 1); }

TEST(EqcctTest, TaperedStdNormalisationMatchesSeisBench) {
  GoldenFile golden = LoadGoldenFile(kForwardDir + "/eqcct_p.pt");
  at::Tensor raw = golden.Tensor("raw").contiguous();
  at::Tensor expected = golden.Tensor("input");
  std::vector<float> out(static_cast<size_t>(raw.numel()));
  for (int64_t w = 0; w < 4; ++w) {
    NormaliseWindow(raw.data_ptr<float>() + w * 3 * kSamples, kSamples, 3, 0, kSamples, WindowNorm::kStdAllChannelsTapered,
                    out.data() + w * 3 * kSamples);
  }
  at::Tensor mine = at::from_blob(out.data(), expected.sizes(), at::kFloat);
  const float diff = (mine - expected).abs().max().item<float>();
  std::printf("EQCCT normalisation vs SeisBench: max |d| %.3g\n", diff);
  EXPECT_LE(diff, 1e-4);
  // The taper: first and last samples are zero, the sixth from each end untouched.
  EXPECT_EQ(mine[1][2][0].item<float>(), 0.0f);
  EXPECT_EQ(mine[1][2][kSamples - 1].item<float>(), 0.0f);
}

TEST(EqcctTest, TaperFactorsAreSeisBenchs) {
  // A window whose demeaned samples all have magnitude 1: std = sqrt(n / (n - 1)).
  const int64_t n = 20;
  std::vector<float> rows(static_cast<size_t>(n)), out(rows.size());
  for (int64_t i = 0; i < n; ++i) rows[static_cast<size_t>(i)] = i % 2 ? 1.0f : -1.0f;
  NormaliseWindow(rows.data(), n, 1, 0, n, WindowNorm::kStdAllChannelsTapered, out.data());
  const double scale = 1.0 / std::sqrt(n / (n - 1.0));
  const double taper[6] = {0.0, 0.0954915, 0.3454915, 0.6545085, 0.9045085, 1.0};  // SUMMARY.txt
  for (int i = 0; i < 6; ++i) {
    EXPECT_NEAR(std::abs(out[static_cast<size_t>(i)]), taper[i] * scale, 1e-6) << i;
    EXPECT_NEAR(std::abs(out[static_cast<size_t>(n - 1 - i)]), taper[i] * scale, 1e-6) << i;
  }
  EXPECT_NEAR(std::abs(out[10]), scale, 1e-6);
}

TEST(EqcctTest, WeightFilesThatDoNotFitAreNamed) {
  LoadedModel m;
  // P and S swapped: the P network finds no `transformer.<i>` blocks in the S file.
  Status s = LoadModel("eqcct", kModels + "/eqcct_s.pt," + kModels + "/eqcct_p.pt", &m);
  EXPECT_EQ(s.code(), Status::Code::kNotFound);
  EXPECT_NE(s.message().find("eqcct_s.pt: weight '_eqcct_backbone.transformer.0.norm1.weight' is missing (needed "
                             "with shape (40,))"),
            std::string::npos)
      << s.ToString();
  // PhaseNet's weights as EQCCT's S network.
  s = LoadModel("eqcct", kModels + "/eqcct_p.pt," + kModels + "/phasenet_original.pt", &m);
  EXPECT_EQ(s.code(), Status::Code::kNotFound);
  EXPECT_NE(s.message().find("phasenet_original.pt: weight '_eqcct_backbone.conv1.conv1.weight' is missing"),
            std::string::npos)
      << s.ToString();
  // Weights that fit, but a JSON that is not EQCCT's (PhaseNet's, with phases N,P,S and order E,N,Z).
  testing::TempDir dir;
  std::filesystem::copy_file(kModels + "/eqcct_s.pt", dir.Path("phasenet_original.pt"));
  std::filesystem::copy_file(kModels + "/phasenet_original.json", dir.Path("phasenet_original.json"));
  s = LoadModel("eqcct", kModels + "/eqcct_p.pt," + dir.Path("phasenet_original.pt"), &m);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("labels P,S"), std::string::npos) << s.ToString();
  // One file for a model of two networks.
  s = LoadModel("eqcct", kModels + "/eqcct_p.pt", &m);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("eqcct runs 2 networks"), std::string::npos) << s.ToString();
  // A missing second file is named.
  s = LoadModel("eqcct", kModels + "/eqcct_p.pt," + kModels + "/nosuch_s.pt", &m);
  EXPECT_EQ(s.code(), Status::Code::kNotFound);
  EXPECT_NE(s.message().find("nosuch_s.pt: weight file not found"), std::string::npos) << s.ToString();
}

TEST(EqcctTest, PeakNormInTheJsonIsRejected) {
  // SeisBench tapers EQCCT's windows under either norm; RAPID tapers only with "std", so a "peak"
  // JSON must stop the run instead of silently normalising differently.
  testing::TempDir dir;
  namespace fs = std::filesystem;
  fs::copy_file(kModels + "/eqcct_p.pt", dir.Path("x_p.pt"));
  fs::copy_file(kModels + "/eqcct_s.pt", dir.Path("x_s.pt"));
  {
    std::FILE* f = std::fopen(dir.Path("x_p.json").c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs(R"({"model_args": {"norm": "peak"}})", f);
    std::fclose(f);
  }
  LoadedModel m;
  Status s = LoadModel("eqcct", dir.Path("x_p.pt") + "," + dir.Path("x_s.pt"), &m);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("norm \"std\""), std::string::npos) << s.ToString();
}

// The whole pipeline on the bundled TexNet minute: SeisBench finds no pick with either network
// (texnet12_eqcct_{p,s}.csv), and every P and S probability trace agrees with annotate()'s.
TEST(EqcctTest, RunOnTexNetMinuteEqualsSeisBench) {
  testing::TempDir out;
  RunOptions opts;
  opts.input = std::string(RAPID_SOURCE_DIR) + "/data/texnet-sample";
  opts.output_dir = out.path();
  opts.model = "eqcct";
  opts.save_probabilities = true;
  opts.progress = RunOptions::Progress::kOff;
  RunReport report;
  Status status = RunPicking(opts, &report).status();
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(report.units_done, 12);
  EXPECT_TRUE(report.errors.empty());

  for (const char* phase : {"p", "s"}) {
    auto golden = testing::ReadCsv(kAnnotateDir + "/texnet12_eqcct_" + phase + ".csv");
    EXPECT_EQ(golden.size(), 1u) << phase;  // header only
  }
  auto mine = testing::ReadCsv(out.path() + "/picks.csv");
  EXPECT_EQ(mine.size(), 1u);

  for (const auto& [network, label] : {std::pair{"p", "EQCCTP"}, std::pair{"s", "EQCCTS"}}) {
    size_t traces = 0;
    const double worst = testing::MaxProbabilityDifference(
        kAnnotateDir + "/texnet12_eqcct_" + network + "_annotations.pt", out.Path("probabilities"), label, "EQCCT",
        &traces);
    std::printf("EQCCT %s: max |probability difference| over %zu traces: %.3g\n", label, traces, worst);
    EXPECT_EQ(traces, 12u);
    EXPECT_LE(worst, 1e-3);
  }
}

}  // namespace
}  // namespace rapid
