// kAdditiveAttention (Graph::AdditiveAttention) on one window, channels-last. EQTransformer's
// sizes: ~47 steps, 32 units, 16 channels, band 0 or 3. The cost is the L·L·units tanh of the
// scores, which every row needs in full (its maximum is over all s, before the band); they are
// computed per row t units-major, [u][s], so each loop runs along s and vectorises, with
// tanh(q + k) = 1 − 2/(e^{2q}·e^{2k} + 1): the exponentials of the L·units queries and keys once,
// each score a product and a division (compiled with -fno-trapping-math, see
// backends/fast_math.h). With a band only the band's weights are exponentiated and summed.
#include <algorithm>
#include <cmath>
#include <vector>

#include "backends/fast_math.h"
#include "backends/onednn/loop_kernels.h"
#include "backends/onednn/output_head.h"
#include "core/vector_loops.h"

namespace rapid::onednn {

namespace {

constexpr int64_t kLanes = 16;  // scores per block: a row's length is padded to a multiple

// Beyond this |2·query| or |2·key| FastExp clamps, and e^{2q}·e^{2k} is no longer e^{2(q + k)}.
constexpr float kFactoredRange = 80.0f;

// e[s] = base − Σ_u w2[u] / (e^{2(q_u + k_us)} + 1) for s < padded: one row's scores Σ_u
// Wa·tanh(q_u + k_us) + ba, given base = Σ Wa + ba and w2 = 2·Wa. Factored: qs[u] = e^{2q_u} and
// ks[u·padded + s] = e^{2k_us}, so the exponential is a product (which overflows to ∞ or underflows
// to 0 exactly where tanh saturates); else qs = 2q and ks = 2k. Each unit's row of ks is padded
// to `padded` (a multiple of kLanes) so that every block is whole. Always inlined into RowScores,
// whose clones compile it per x86-64 level (called instead, it was compiled once, for the baseline,
// and ran in scalar SSE: a twentieth of an EQTransformer window).
template <bool kFactored>
[[gnu::always_inline]] inline void RowScoresOf(const float* qs, const float* ks, const float* w2, float base,
                                               int64_t units, int64_t padded, float* e) {
  for (int64_t s0 = 0; s0 < padded; s0 += kLanes) {
    float acc[kLanes];
    for (int64_t j = 0; j < kLanes; ++j) acc[j] = base;
    for (int64_t u = 0; u < units; ++u) {
      const float q = qs[u], w = w2[u];
      const float* k = ks + u * padded + s0;
      for (int64_t j = 0; j < kLanes; ++j) acc[j] -= w / ((kFactored ? q * k[j] : FastExp(q + k[j])) + 1.0f);
    }
    for (int64_t j = 0; j < kLanes; ++j) e[s0 + j] = acc[j];
  }
}

// RowScoresOf compiled for AVX-512, AVX2 + FMA and the baseline, picked at load time.
RAPID_VECTOR_LOOPS void RowScores(
    bool factored, const float* qs, const float* ks, const float* w2, float base, int64_t units, int64_t padded,
    float* e) {
  if (factored) return RowScoresOf<true>(qs, ks, w2, base, units, padded, e);
  RowScoresOf<false>(qs, ks, w2, base, units, padded, e);
}

// Whether every |x[i]| ≤ kFactoredRange, i < n.
bool InFactoredRange(const float* x, int64_t n) {
  bool in = true;
  for (int64_t i = 0; i < n; ++i) in &= std::fabs(x[i]) <= kFactoredRange;
  return in;
}

// y = Σ_{first ≤ s < end} a_s·value_s / (Σ a_s + eps), a_s = e^{e[s] − max over all s of e};
// value: rows of `channels` floats. e[first, end) is overwritten.
RAPID_VECTOR_LOOPS void RowOutput(
    float* e, int64_t length, int64_t first, int64_t end, const float* value, int64_t channels, float eps, float* y) {
  const float top = *std::max_element(e, e + length);
  float sum = 0;
  for (int64_t s = first; s < end; ++s) {
    e[s] = FastExp(e[s] - top);
    sum += e[s];
  }
  const float scale = 1.0f / (sum + eps);
  for (int64_t c = 0; c < channels; ++c) y[c] = 0.0f;
  for (int64_t s = first; s < end; ++s) {
    const float a = e[s] * scale;
    const float* v = value + s * channels;
    for (int64_t c = 0; c < channels; ++c) y[c] += a * v[c];
  }
}

class AdditiveAttention : public LoopKernel {
 public:
  AdditiveAttention(const GraphNode& n, View query, View key, View value, View out)
      : query_(query), key_(key), value_(value), out_(out), band_(n.kernel), eps_(static_cast<float>(n.eps)) {
    const int64_t units = query.channels, length = out.length;
    base_ = n.bias.values[0];
    for (float w : n.weight.values) {
      base_ += w;
      wa2_.push_back(2.0f * w);
    }
    padded_ = (length + kLanes - 1) / kLanes * kLanes;
    q2_.resize(static_cast<size_t>(units));
    k2t_.assign(static_cast<size_t>(units * padded_), 0.0f);  // the padding stays 0
    exp_k2t_.resize(k2t_.size());
    scores_.resize(static_cast<size_t>(padded_));
  }

  void Run() override {
    const int64_t units = query_.channels, length = out_.length;
    for (int64_t s = 0; s < length; ++s) {
      const float* k = key_.data + s * units;
      for (int64_t u = 0; u < units; ++u) k2t_[static_cast<size_t>(u * padded_ + s)] = 2.0f * k[u];
    }
    const bool keys_factored = InFactoredRange(k2t_.data(), units * padded_);
    if (keys_factored) VectorExp(k2t_.data(), units * padded_, exp_k2t_.data());
    for (int64_t t = 0; t < length; ++t) {
      const float* q = query_.data + t * units;
      for (int64_t u = 0; u < units; ++u) q2_[static_cast<size_t>(u)] = 2.0f * q[u];
      const bool factored = keys_factored && InFactoredRange(q2_.data(), units);
      if (factored) VectorExp(q2_.data(), units, q2_.data());
      RowScores(factored, q2_.data(), factored ? exp_k2t_.data() : k2t_.data(), wa2_.data(), base_, units, padded_,
                scores_.data());
      // The band: t − band/2 ≤ s < t − band/2 + band (graph.h).
      const int64_t first = band_ > 0 ? std::max<int64_t>(0, t - band_ / 2) : 0;
      const int64_t end = band_ > 0 ? std::min(length, t - band_ / 2 + band_) : length;
      RowOutput(scores_.data(), length, first, end, value_.data, out_.channels, eps_,
                out_.data + t * out_.channels);
    }
  }

 private:
  View query_, key_, value_, out_;
  int64_t band_;
  int64_t padded_;  // the length rounded up to a multiple of kLanes
  float eps_;
  float base_;                                    // Σ Wa + ba
  std::vector<float> wa2_;                        // 2·Wa
  // Scratch: 2·query_t (or its exponential), 2·key and its exponential units-major (units ×
  // padded), one row's scores (padded).
  std::vector<float> q2_, k2t_, exp_k2t_, scores_;
};

}  // namespace

std::unique_ptr<LoopKernel> MakeAdditiveAttentionKernel(const GraphNode& n, View query, View key, View value,
                                                        View output) {
  return std::make_unique<AdditiveAttention>(n, query, key, value, output);
}

}  // namespace rapid::onednn
