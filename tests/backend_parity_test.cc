// Every model on every backend this machine has (oneDNN and torch on the CPU, torch on each CUDA
// device libtorch sees), on the forward goldens' windows: each backend against SeisBench's output,
// and every backend against every other on the same windows.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "backend_agreement.h"
#include "backends/onednn/engine.h"
#include "golden_file.h"
#include "models/device.h"
#include "models/registry.h"

namespace rapid {
namespace {

const std::string kData = RAPID_TEST_DATA_DIR;
const std::string kTestModels = kData + "/models/";

struct Case {
  std::string model, weights, golden;
  int label;  // the one label the golden holds, or -1 for all of them
  // Whether the windows are the golden's "raw" ones normalised as SeisBench does (CRED's golden
  // "input" is its spectrogram), rather than its normalised "input".
  bool from_raw = false;
};

std::vector<Case> Cases() {
  const std::string g = kData + "/golden/forward/";
  return {
      {"phasenet", "", g + "phasenet_original.pt", -1},
      {"phasenetlight", kTestModels + "phasenetlight_ethz.pt.v2", g + "phasenetlight_ethz.pt", -1},
      {"eqtransformer", kTestModels + "eqtransformer_random.pt", g + "eqtransformer_random.pt", -1},
      {"eqtransformer", kTestModels + "eqtransformer_original_compatible_random.pt",
       g + "eqtransformer_original_compatible_random.pt", -1},
      {"eqcct", "", g + "eqcct_p.pt", 0},
      {"eqcct", "", g + "eqcct_s.pt", 1},
      {"gpd", kTestModels + "gpd_random.pt", g + "gpd_random.pt", -1},
      {"cred", kTestModels + "cred_random.pt", g + "cred_random.pt", -1, /*from_raw=*/true},
  };
}

// (backend, device) pairs this machine can run.
std::vector<std::pair<std::string, std::string>> Backends() {
  std::vector<std::pair<std::string, std::string>> all;
  for (const std::string& b : CpuBackends()) all.emplace_back(b, "cpu");
  for (int i = 0; i < CudaDeviceCount(); ++i) all.emplace_back(kTorchBackend, "cuda:" + std::to_string(i));
  return all;
}

// SeisBench's output as batch × labels × out_samples, NaN where the golden has no value.
std::vector<float> Expected(const GoldenFile& golden, const ModelSpec& spec, int64_t batch, int label) {
  const int64_t labels = spec.Labels(), out = spec.OutSamples();
  std::vector<float> expected(static_cast<size_t>(batch * labels * out), std::nanf(""));
  for (int64_t l = 0; l < labels; ++l) {
    if (label >= 0 && l != label) continue;
    at::Tensor t;
    if (golden.HasNamedTensors("output")) t = golden.Tensor("output", spec.labels[static_cast<size_t>(l)]);
    else t = golden.Tensor("output").reshape({batch, label >= 0 ? 1 : labels, out}).select(1, label >= 0 ? 0 : l);
    t = t.reshape({batch, out}).contiguous();
    for (int64_t b = 0; b < batch; ++b) {
      std::copy_n(t.data_ptr<float>() + b * out, out, expected.data() + (b * labels + l) * out);
    }
  }
  return expected;
}

// Largest |a − b| where b is a number.
float MaxDiff(const std::vector<float>& a, const std::vector<float>& b) {
  float worst = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!std::isnan(b[i])) worst = std::max(worst, std::fabs(a[i] - b[i]));
  }
  return worst;
}

// The windows a case's golden holds: SeisBench's normalised input, or (CRED) its raw windows
// normalised as SeisBench does.
at::Tensor GoldenWindows(const Case& c, const GoldenFile& golden) {
  return c.from_raw ? SeisBenchCredWindows(golden) : golden.Tensor("input").contiguous();
}

// Case `c` on backend/device over `windows`: *probs (batch × labels × out_samples) and their largest
// difference from SeisBench's output in *diff.
void RunCase(const Case& c, const GoldenFile& golden, const at::Tensor& windows, const std::string& backend,
             const std::string& device, std::vector<float>* probs, float* diff) {
  LoadedModel m;
  Status s = LoadModel(c.model, c.weights, &m, device, backend);
  ASSERT_TRUE(s.ok()) << c.model << " on " << backend << "/" << device << ": " << s.ToString();
  EXPECT_EQ(m.backend, backend) << c.model;
  const ModelSpec& spec = m.model->Spec();
  const int64_t batch = windows.size(0);
  ASSERT_EQ(windows.size(1), spec.Channels());
  probs->assign(static_cast<size_t>(batch * spec.Labels() * spec.OutSamples()), 0.0f);
  ASSERT_TRUE(m.model->Forward(windows.data_ptr<float>(), batch, probs->data()).ok());
  *diff = MaxDiff(*probs, Expected(golden, spec, batch, c.label));
}

std::string GoldenName(const Case& c) { return c.golden.substr(c.golden.rfind('/') + 1); }

TEST(BackendParityTest, EveryModelOnEveryBackendMatchesTheGoldensAndEachOther) {
  for (const Case& c : Cases()) {
    GoldenFile golden = LoadGoldenFile(c.golden);
    const at::Tensor windows = GoldenWindows(c, golden);
    std::vector<std::vector<float>> outputs;
    std::vector<std::string> names;
    for (const auto& [backend, device] : Backends()) {
      std::vector<float> probs;
      float diff = 0;
      ASSERT_NO_FATAL_FAILURE(RunCase(c, golden, windows, backend, device, &probs, &diff));
      std::printf("%-14s %-45s %-7s %-7s vs SeisBench: max |dprob| %.3g\n", c.model.c_str(), GoldenName(c).c_str(),
                  backend.c_str(), device.c_str(), diff);
      EXPECT_LE(diff, 1e-4) << c.golden << " on " << backend << "/" << device;
      outputs.push_back(std::move(probs));
      names.push_back(backend + "/" + device);
    }
    for (size_t i = 1; i < outputs.size(); ++i) {
      const float diff = MaxDiff(outputs[i], outputs[0]);
      std::printf("%-14s %s vs %s: max |dprob| %.3g\n", c.model.c_str(), names[i].c_str(), names[0].c_str(), diff);
      EXPECT_LE(diff, 1e-4) << c.golden << ": " << names[i] << " vs " << names[0];
    }
  }
}

// The oneDNN backend with the phase counts of each cost model (conv_lowering.h), whatever this CPU
// is: the lowering an AVX-512 machine picks for each model, checked against the goldens here too.
TEST(BackendParityTest, EveryModelOnOnednnWithEachCostModelMatchesTheGoldens) {
  for (onednn::ConvIsa isa : {onednn::ConvIsa::kAvx512, onednn::ConvIsa::kAvx2}) {
    const testing::ScopedLoweringConvIsa lowering(isa);
    const char* cost_model = isa == onednn::ConvIsa::kAvx512 ? "AVX-512" : "AVX2";
    for (const Case& c : Cases()) {
      GoldenFile golden = LoadGoldenFile(c.golden);
      std::vector<float> probs;
      float diff = 0;
      ASSERT_NO_FATAL_FAILURE(RunCase(c, golden, GoldenWindows(c, golden), "onednn", "cpu", &probs, &diff));
      std::printf("%-14s %-45s %s cost model vs SeisBench: max |dprob| %.3g\n", c.model.c_str(),
                  GoldenName(c).c_str(), cost_model, diff);
      EXPECT_LE(diff, 1e-4) << c.golden << " with the " << cost_model << " cost model";
    }
  }
}

TEST(BackendParityTest, UnknownBackendIsNamed) {
  LoadedModel m;
  Status s = LoadModel("phasenet", "", &m, "cpu", "tensorrt");
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("unknown backend 'tensorrt' (known: onednn, torch)"), std::string::npos) << s.ToString();
}

}  // namespace
}  // namespace rapid
