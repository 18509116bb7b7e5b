#include "golden_file.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>


namespace rapid {
namespace {

const std::string kGoldenDir = std::string(RAPID_TEST_DATA_DIR) + "/golden";
const std::string kFixtureDir = std::string(RAPID_TEST_DATA_DIR) + "/torch_save";

TEST(GoldenFileTest, PhaseNetOriginalForward) {
  const GoldenFile g = LoadGoldenFile(kGoldenDir + "/forward/phasenet_original.pt");
  EXPECT_EQ(g.String("model"), "phasenet_original");
  EXPECT_EQ(g.String("model_class"), "PhaseNet");
  EXPECT_EQ(g.StringList("labels"), (std::vector<std::string>{"N", "P", "S"}));
  EXPECT_EQ(g.StringList("window_sources").size(), 4u);
  EXPECT_TRUE(g.Has("model_args"));  // a mixed dict: listed, not exposed
  EXPECT_FALSE(g.HasNamedTensors("output"));
  for (const char* key : {"raw", "input", "output", "output_logits"}) {
    const at::Tensor t = g.Tensor(key);
    EXPECT_EQ(t.sizes().vec(), (std::vector<int64_t>{4, 3, 3001})) << key;
    EXPECT_EQ(t.scalar_type(), at::kFloat) << key;
  }
  // First elements, read independently with python3 zipfile + struct from data/<key> ('%.9g').
  EXPECT_EQ(g.Tensor("raw")[0][0][1].item<float>(), -0.0144336382f);
  EXPECT_EQ(g.Tensor("input")[0][0][0].item<float>(), -0.00963587873f);
  EXPECT_EQ(g.Tensor("output")[0][0][0].item<float>(), 0.994715393f);
  EXPECT_EQ(g.Tensor("output_logits")[0][0][0].item<float>(), 2.43828964f);

  // `input` is `raw` normalised per window and channel (SUMMARY.txt): demean, divide by the
  // unbiased std + 1e-10. Recomputing it checks that both tensors were read consistently.
  const at::Tensor raw = g.Tensor("raw");
  const at::Tensor demeaned = raw - raw.mean(-1, /*keepdim=*/true);
  const at::Tensor expected = demeaned / (demeaned.std(-1, /*unbiased=*/true, /*keepdim=*/true) + 1e-10);
  EXPECT_LT((expected - g.Tensor("input")).abs().max().item<float>(), 1e-5f);
  // Softmax over the label axis sums to one.
  EXPECT_LT((g.Tensor("output").sum(1) - 1.0f).abs().max().item<float>(), 1e-5f);
}

TEST(GoldenFileTest, MissingOrMistypedKeyThrows) {
  const GoldenFile g = LoadGoldenFile(kGoldenDir + "/forward/phasenet_original.pt");
  EXPECT_THROW(g.Tensor("no_such_key"), std::runtime_error);
  EXPECT_THROW(g.Tensor("model"), std::runtime_error);  // a string, not a tensor
  EXPECT_THROW(g.String("raw"), std::runtime_error);
  EXPECT_THROW(g.Named("output"), std::runtime_error);
}

TEST(GoldenFileTest, MissingFileThrowsWithPath) {
  const std::string path = kGoldenDir + "/forward/no_such_model.pt";
  try {
    LoadGoldenFile(path);
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

// golden_like.pt (tests/data/torch_save/make_fixtures.py): shaped like EQTransformer's golden,
// `output` is a dict Detection/P/S of (1, 1, 4) views into one ramp 0..11.
TEST(GoldenFileTest, DictValuedOutput) {
  const GoldenFile g = LoadGoldenFile(kFixtureDir + "/golden_like.pt");
  ASSERT_TRUE(g.HasNamedTensors("output"));
  const NamedTensors& out = g.Named("output");
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].first, "Detection");
  EXPECT_EQ(out[1].first, "P");
  EXPECT_EQ(out[2].first, "S");
  const at::Tensor p = g.Tensor("output", "P");
  EXPECT_EQ(p.sizes().vec(), (std::vector<int64_t>{1, 1, 4}));
  EXPECT_EQ(p[0][0][0].item<float>(), 4.0f);
  EXPECT_EQ(g.Tensor("output", "S")[0][0][3].item<float>(), 11.0f);
  EXPECT_THROW(g.Tensor("output"), std::runtime_error);
  EXPECT_THROW(g.Tensor("output", "N"), std::runtime_error);
  EXPECT_EQ(g.Tensor("raw").sizes().vec(), (std::vector<int64_t>{1, 3, 4}));
  EXPECT_EQ(g.StringList("labels"), (std::vector<std::string>{"Detection", "P", "S"}));
  // A one-element list (APPEND opcode), which torch::jit::pickle_load cannot read.
  EXPECT_EQ(g.StringList("window_sources"), (std::vector<std::string>{"ramp 0..11"}));
  EXPECT_TRUE(g.Has("model_args"));
}

TEST(GoldenFileTest, PhaseNetOriginalAnnotations) {
  const auto traces = LoadAnnotationGolden(kGoldenDir + "/annotate/texnet12_phasenet_original_annotations.pt");
  EXPECT_EQ(traces.size(), 36u);
  std::set<std::string> stations;
  for (const auto& [key, trace] : traces) {
    const size_t model = key.rfind(".PhaseNet_");
    ASSERT_NE(model, std::string::npos) << key;
    stations.insert(key.substr(0, model));
    const std::string label = key.substr(model + 10);
    EXPECT_TRUE(label == "N" || label == "P" || label == "S") << key;
    EXPECT_EQ(trace.sampling_rate, 100.0) << key;
    EXPECT_GE(trace.data.size(), 18000u) << key;
    EXPECT_LE(trace.data.size(), 18002u) << key;
    EXPECT_EQ(trace.starttime.rfind("2024-12-15T11:5", 0), 0u) << key << " " << trace.starttime;
  }
  EXPECT_EQ(stations.size(), 12u);
  for (const std::string& station : stations) {
    for (const char* label : {"N", "P", "S"}) {
      EXPECT_EQ(traces.count(station + ".PhaseNet_" + label), 1u) << station << label;
    }
  }
  // Lengths and start times differ by station (python3 zipfile + pickle with stub globals):
  // 2T.EF76.00 has 18002 samples, TX.DG05.00 18000, 4O.BB01.00 starts at 11:57:59.999.
  const AnnotationTrace& dg05 = traces.at("TX.DG05.00.PhaseNet_P");
  EXPECT_EQ(dg05.data.size(), 18000u);
  EXPECT_EQ(dg05.starttime, "2024-12-15T11:58:00.000000Z");
  EXPECT_EQ(traces.at("2T.EF76.00.PhaseNet_P").data.size(), 18002u);
  EXPECT_EQ(traces.at("4O.BB01.00.PhaseNet_S").starttime, "2024-12-15T11:57:59.999000Z");
  // Sample 722 (11:58:07.22) is the trace maximum and the first DG05 P pick of
  // texnet12_phasenet_original.csv (peak_value 0.5603627562522888).
  EXPECT_EQ(dg05.data[722], 0.5603627562522888f);
  EXPECT_EQ(*std::max_element(dg05.data.begin(), dg05.data.end()), dg05.data[722]);
}

}  // namespace
}  // namespace rapid
