// Helpers for the tests that hold the oneDNN backend to the torch backend on small graphs with
// random weights (onednn_backend_test.cc, onednn_random_graph_test.cc).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "backends/onednn/engine.h"
#include "models/graph.h"

namespace rapid::testing {

// A tensor of `shape` with values uniform in [low, high).
inline WeightTensor Random(std::vector<int64_t> shape, std::mt19937* rng, float low = -0.5f, float high = 0.5f) {
  WeightTensor t;
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  t.shape = std::move(shape);
  std::uniform_real_distribution<float> u(low, high);
  for (int64_t i = 0; i < n; ++i) t.values.push_back(u(*rng));
  return t;
}

// Batch norm of x with random statistics (variances in [0.2, 2), scales in [0.5, 1.5)).
inline int RandomBatchNorm(Graph* g, int x, std::mt19937* rng) {
  const int64_t c = g->Node(x).channels;
  return g->BatchNorm(x, Random({c}, rng, 0.5f, 1.5f), Random({c}, rng), Random({c}, rng), Random({c}, rng, 0.2f, 2.0f),
                      1e-3);
}

// A spec of `channels` input channels (ZNE order), `samples` per window, `labels` labels L0, L1, ….
inline ModelSpec SmallSpec(int64_t channels, int64_t samples, int64_t labels) {
  ModelSpec spec;
  spec.class_name = "Small";
  spec.component_order = std::string("ZNE").substr(0, static_cast<size_t>(channels));
  for (int64_t l = 0; l < labels; ++l) spec.labels.push_back("L" + std::to_string(l));
  spec.in_samples = samples;
  spec.overlap_samples = 0;
  return spec;
}

// The probabilities and the scores of `graph` on three random windows agree between the two
// backends to 1e-5 of the largest (or of 1).
inline void ExpectBackendsAgree(std::shared_ptr<const Graph> graph, const ModelSpec& spec) {
  ASSERT_TRUE(graph->status().ok()) << graph->status().ToString();
  std::unique_ptr<Model> onednn, torch;
  Status s = CompileOnednn(graph, spec, &onednn);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_TRUE(CompileTorch(graph, spec, "cpu", &torch).ok());
  std::mt19937 rng(7);
  const int64_t batch = 3;
  const WeightTensor input = Random({batch * spec.Channels() * spec.in_samples}, &rng, -2.0f, 2.0f);
  const size_t out = static_cast<size_t>(batch * spec.Labels() * spec.OutSamples());
  for (bool probabilities : {true, false}) {
    std::vector<float> a(out), b(out);
    auto run = [&](Model* m, float* y) {
      const float* x = input.values.data();
      return probabilities ? m->Forward(x, batch, y) : m->ForwardLogits(x, batch, y);
    };
    ASSERT_TRUE(run(onednn.get(), a.data()).ok());
    ASSERT_TRUE(run(torch.get(), b.data()).ok());
    float worst = 0, largest = 0;
    for (size_t i = 0; i < out; ++i) {
      worst = std::max(worst, std::fabs(a[i] - b[i]));
      largest = std::max(largest, std::fabs(b[i]));
    }
    EXPECT_LE(worst, 1e-5f * std::max(1.0f, largest)) << (probabilities ? "probabilities" : "scores");
    EXPECT_GT(largest, 0.0f);
  }
}

// The oneDNN backend compiles with `isa`'s cost model (onednn::SetLoweringConvIsaForTesting) while
// the object lives, then with the host's again.
class ScopedLoweringConvIsa {
 public:
  explicit ScopedLoweringConvIsa(onednn::ConvIsa isa) { onednn::SetLoweringConvIsaForTesting(isa); }
  ~ScopedLoweringConvIsa() { onednn::SetLoweringConvIsaForTesting(std::nullopt); }
  ScopedLoweringConvIsa(const ScopedLoweringConvIsa&) = delete;
  ScopedLoweringConvIsa& operator=(const ScopedLoweringConvIsa&) = delete;
};

}  // namespace rapid::testing
