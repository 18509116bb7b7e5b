// The LSTM recurrence both CPU backends run (backends/lstm_recurrence.h) against a double-precision
// transcription of torch's nn.LSTM cell, for both gate non-linearities, both directions, and hidden
// sizes whose 4H gates fill the panels of sums exactly or leave a tail.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include "backends/lstm_recurrence.h"

namespace rapid {
namespace {

// out (length × directions·H) of gates (length × directions·4H) and W_hh (directions × 4H × H).
std::vector<double> Reference(const std::vector<float>& gates, const WeightTensor& w, int64_t length,
                              GateActivation gate) {
  const int64_t dirs = w.shape[0], h = w.shape[2], g = 4 * h;
  auto act = [gate](double v) {
    return gate == GateActivation::kHardSigmoid ? std::clamp(0.2 * v + 0.5, 0.0, 1.0) : 1.0 / (1.0 + std::exp(-v));
  };
  std::vector<double> out(static_cast<size_t>(length * dirs * h));
  for (int64_t d = 0; d < dirs; ++d) {
    std::vector<double> hs(static_cast<size_t>(h), 0.0), cs(static_cast<size_t>(h), 0.0), a(static_cast<size_t>(g));
    for (int64_t s = 0; s < length; ++s) {
      const int64_t t = d == 0 ? s : length - 1 - s;
      for (int64_t j = 0; j < g; ++j) {
        double sum = gates[static_cast<size_t>(t * dirs * g + d * g + j)];
        for (int64_t k = 0; k < h; ++k) sum += w.values[static_cast<size_t>((d * g + j) * h + k)] * hs[static_cast<size_t>(k)];
        a[static_cast<size_t>(j)] = sum;
      }
      for (int64_t j = 0; j < h; ++j) {
        const size_t i = static_cast<size_t>(j);
        cs[i] = act(a[i + h]) * cs[i] + act(a[i]) * std::tanh(a[i + 2 * h]);
        hs[i] = act(a[i + 3 * h]) * std::tanh(cs[i]);
        out[static_cast<size_t>(t * dirs * h + d * h + j)] = hs[i];
      }
    }
  }
  return out;
}

TEST(LstmRecurrenceTest, MatchesTorchsCellInDoublePrecision) {
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> big(-4.0f, 4.0f), small(-0.4f, 0.4f);
  double overall = 0;
  for (GateActivation gate : {GateActivation::kSigmoid, GateActivation::kHardSigmoid}) {
    for (int64_t dirs : {1, 2}) {
      for (int64_t h : {10, 16, 20, 64}) {  // 4H = 40 (a tail alone), 64, 80 (a panel and a tail), 256
        const int64_t length = 23, g = 4 * h;
        WeightTensor w{{dirs, g, h}, {}};
        for (int64_t i = 0; i < dirs * g * h; ++i) w.values.push_back(small(rng));
        std::vector<float> gates;
        for (int64_t i = 0; i < length * dirs * g; ++i) gates.push_back(big(rng));
        std::vector<float> out(static_cast<size_t>(length * dirs * h));
        LstmRecurrence(w, gate).Run(gates.data(), dirs * g, length, out.data(), dirs * h);
        const std::vector<double> expected = Reference(gates, w, length, gate);
        double worst = 0;
        for (size_t i = 0; i < out.size(); ++i) worst = std::max(worst, std::fabs(out[i] - expected[i]));
        overall = std::max(overall, worst);
        EXPECT_LT(worst, 2e-6) << "hard " << (gate == GateActivation::kHardSigmoid) << " directions " << dirs
                               << " hidden " << h;
      }
    }
  }
  std::printf("LSTM recurrence vs double-precision torch cell: max |dh| %.3g\n", overall);
}

}  // namespace
}  // namespace rapid
