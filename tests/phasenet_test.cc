// PhaseNet parity with SeisBench: forward pass on the golden windows, normalisation of the raw
// windows, and strict weight loading.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstdio>

#include "engine/windower.h"
#include "golden_file.h"
#include "models/registry.h"

namespace rapid {
namespace {

const std::string kGolden = std::string(RAPID_TEST_DATA_DIR) + "/golden/forward/phasenet_original.pt";

float MaxAbsDiff(const std::vector<float>& a, const at::Tensor& b) {
  at::Tensor t = at::from_blob(const_cast<float*>(a.data()), b.sizes(), at::kFloat);
  return (t - b).abs().max().item<float>();
}

TEST(PhaseNetTest, ForwardMatchesSeisBenchGolden) {
  GoldenFile golden = LoadGoldenFile(kGolden);
  LoadedModel m;
  ASSERT_TRUE(LoadModel("phasenet", std::string(RAPID_MODELS_DIR) + "/phasenet_original.pt", &m).ok());
  at::Tensor input = golden.Tensor("input").contiguous();
  ASSERT_EQ(input.sizes(), (at::IntArrayRef{4, 3, 3001}));
  std::vector<float> probs(static_cast<size_t>(input.numel())), logits(probs.size());
  ASSERT_TRUE(m.model->Forward(input.data_ptr<float>(), 4, probs.data()).ok());
  ASSERT_TRUE(m.model->ForwardLogits(input.data_ptr<float>(), 4, logits.data()).ok());
  const float prob_diff = MaxAbsDiff(probs, golden.Tensor("output"));
  const float logit_diff = MaxAbsDiff(logits, golden.Tensor("output_logits"));
  std::printf("PhaseNet vs SeisBench golden: max |dprob| %.3g, max |dlogit| %.3g\n", prob_diff, logit_diff);
  EXPECT_LE(prob_diff, 1e-4);
  EXPECT_LE(logit_diff, 1e-3);
  // Window 0 is the RJOB event: P and S peaks where SeisBench puts them (models/README).
  const float* p = probs.data() + 1 * 3001;
  EXPECT_EQ(std::max_element(p, p + 3001) - p, 473);
}

TEST(PhaseNetTest, NormalisationMatchesSeisBench) {
  GoldenFile golden = LoadGoldenFile(kGolden);
  at::Tensor raw = golden.Tensor("raw").contiguous();
  at::Tensor expected = golden.Tensor("input");
  std::vector<float> out(static_cast<size_t>(raw.numel()));
  for (int64_t w = 0; w < 4; ++w) {
    NormaliseWindow(raw.data_ptr<float>() + w * 3 * 3001, 3001, 3, 0, 3001, WindowNorm::kStdPerChannel,
                    out.data() + w * 3 * 3001);
  }
  // 3e-5 at most: torch sums float32 in its own order; the mean of a window with a large offset
  // then differs by a fraction of a count (measured: 3.0e-5 on window 1, < 4e-7 on the others).
  EXPECT_LE(MaxAbsDiff(out, expected), 1e-4);
}

TEST(PhaseNetTest, MisfittingWeightsNameTheKeyAndShape) {
  LoadedModel m;
  // A real SeisBench file of another architecture (PhaseNetLight: 1-sample input kernel).
  Status s = LoadModel("phasenet", std::string(RAPID_TEST_DATA_DIR) + "/models/phasenetlight_ethz.pt.v2", &m);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("phasenetlight_ethz.pt.v2: weight 'inc.weight' has shape (8, 3, 1), the architecture "
                             "needs (8, 3, 7)"),
            std::string::npos)
      << s.ToString();
  // A state_dict without PhaseNet's keys.
  s = LoadModel("phasenet", std::string(RAPID_TEST_DATA_DIR) + "/torch_save/plain_dict.pt", &m);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("plain_dict.pt"), std::string::npos) << s.ToString();
  // Not a weight file at all (a golden dict holding strings).
  s = LoadModel("phasenet", std::string(RAPID_TEST_DATA_DIR) + "/golden/forward/phasenet_original.pt", &m);
  EXPECT_FALSE(s.ok());
}

TEST(PhaseNetTest, UnknownModelIsAConfigError) {
  LoadedModel m;
  Status s = LoadModel("nosuchnet", "", &m);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("phasenet"), std::string::npos);
}

// The executor pads short batches so every call has the same batch size (engine/annotator.h); that
// makes results independent of the batch's other windows only if a window's prediction does not
// depend on its neighbours or its position in a batch of fixed size. Checked bit for bit.
TEST(PhaseNetTest, PredictionDoesNotDependOnBatchNeighbours) {
  GoldenFile golden = LoadGoldenFile(kGolden);
  LoadedModel m;
  ASSERT_TRUE(LoadModel("phasenet", std::string(RAPID_MODELS_DIR) + "/phasenet_original.pt", &m).ok());
  at::Tensor input = golden.Tensor("input").contiguous();  // 4 windows
  const int64_t window = 3 * 3001;
  const float* w = input.data_ptr<float>();
  // Batch A: windows 0 1 2 3 0 1 2 3; batch B: 3 0 zeros zeros 2 1 1 0.
  const int order_a[8] = {0, 1, 2, 3, 0, 1, 2, 3}, order_b[8] = {3, 0, -1, -1, 2, 1, 1, 0};
  std::vector<float> in_a(8 * window), in_b(8 * window, 0.0f), out_a(8 * window), out_b(8 * window);
  for (int k = 0; k < 8; ++k) {
    std::copy_n(w + order_a[k] * window, window, in_a.begin() + k * window);
    if (order_b[k] >= 0) std::copy_n(w + order_b[k] * window, window, in_b.begin() + k * window);
  }
  ASSERT_TRUE(m.model->Forward(in_a.data(), 8, out_a.data()).ok());
  ASSERT_TRUE(m.model->Forward(in_b.data(), 8, out_b.data()).ok());
  for (int k = 0; k < 8; ++k) {
    if (order_b[k] < 0) continue;
    const auto a = out_a.begin() + order_b[k] * window, b = out_b.begin() + k * window;
    EXPECT_TRUE(std::equal(a, a + window, b)) << "window " << order_b[k] << " at position " << k;
  }
}

}  // namespace
}  // namespace rapid
