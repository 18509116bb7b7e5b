// CRED's network against SeisBench on the golden spectrograms (the STFT front end is not
// implemented yet), and strict weight loading.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstdio>

#include "golden_file.h"
#include "models/cred.h"
#include "models/state_dict_reader.h"

namespace rapid {
namespace {

const std::string kGolden = std::string(RAPID_TEST_DATA_DIR) + "/golden/forward/cred_random.pt";
const std::string kWeights = std::string(RAPID_TEST_DATA_DIR) + "/models/cred_random.pt";

TEST(CredTest, NetworkMatchesSeisBenchGolden) {
  GoldenFile golden = LoadGoldenFile(kGolden);
  StateDict state;
  ASSERT_TRUE(ReadStateDict(kWeights, &state).ok());
  std::unique_ptr<CredNetwork> net;
  Status s = BuildCredNetwork(state.entries, kWeights, &net);
  ASSERT_TRUE(s.ok()) << s.ToString();
  at::Tensor input = golden.Tensor("input").contiguous();
  ASSERT_EQ(input.sizes(), (at::IntArrayRef{4, 3, 76, 41}));
  at::Tensor expected = golden.Tensor("output");
  ASSERT_EQ(expected.sizes(), (at::IntArrayRef{4, 19, 1}));
  at::Tensor probs, logits;
  ASSERT_TRUE(net->Detection(input, /*logits=*/false, &probs).ok());
  ASSERT_TRUE(net->Detection(input, /*logits=*/true, &logits).ok());
  ASSERT_EQ(probs.sizes(), expected.sizes());
  const float diff = (probs - expected).abs().max().item<float>();
  const float logit_diff = (logits - golden.Tensor("output_logits")).abs().max().item<float>();
  std::printf("CRED vs SeisBench golden: max |dprob| %.3g, max |dlogit| %.3g (output range %.3g..%.3g)\n", diff,
              logit_diff, expected.min().item<float>(), expected.max().item<float>());
  EXPECT_LE(diff, 1e-4);
  EXPECT_LE(logit_diff, 1e-4);

  EXPECT_EQ(net->Detection(input.narrow(3, 0, 40), false, &probs).code(), Status::Code::kInvalidArgument);
}

TEST(CredTest, MisfittingWeightsNameTheKeyAndShape) {
  StateDict state;
  ASSERT_TRUE(ReadStateDict(kWeights, &state).ok());
  for (auto& [name, tensor] : state.entries) {
    if (name == "fc1.weight") tensor = tensor.narrow(1, 0, 32).contiguous();
  }
  std::unique_ptr<CredNetwork> net;
  Status s = BuildCredNetwork(state.entries, "narrow.pt", &net);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("narrow.pt: weight 'fc1.weight' has shape (64, 32), the architecture needs (64, 64)"),
            std::string::npos)
      << s.ToString();
}

}  // namespace
}  // namespace rapid
