// kAdditiveAttention (Graph::AdditiveAttention) on one window, channels-last. EQTransformer's
// sizes: ~47 steps, 32 units, 16 channels, band 0 or 3. The cost is the L·L·units tanh of the
// scores, which every row needs in full (its maximum is over all s, before the band); they are
// computed per row t units-major, [u][s], so each loop runs along s and vectorises, with
// tanh(z) = 1 − 2/(e^{2z} + 1) on VectorExp. With a band only the band's weights are
// exponentiated and summed.
#include <algorithm>
#include <vector>

#include "backends/onednn/loop_kernels.h"
#include "backends/onednn/output_head.h"

namespace rapid::onednn {

namespace {

class AdditiveAttention : public LoopKernel {
 public:
  AdditiveAttention(const GraphNode& n, View query, View key, View value, View out)
      : query_(query), key_(key), value_(value), out_(out), wa_(n.weight.values), band_(n.kernel),
        eps_(static_cast<float>(n.eps)) {
    const int64_t units = query.channels, length = out.length;
    // Σ_u wa·tanh(z_u) + ba = (Σ_u wa + ba) − Σ_u 2·wa / (e^{2z_u} + 1).
    base_ = n.bias.values[0];
    for (float w : wa_) base_ += w;
    for (float& w : wa_) w *= 2.0f;
    key2_t_.resize(static_cast<size_t>(units * length));
    exps_.resize(key2_t_.size());
    scores_.resize(static_cast<size_t>(length));
  }

  void Run() override {
    const int64_t units = query_.channels, length = out_.length;
    // 2·key, units-major: the rows of the scores' arguments.
    for (int64_t s = 0; s < length; ++s) {
      const float* k = key_.data + s * units;
      for (int64_t u = 0; u < units; ++u) key2_t_[static_cast<size_t>(u * length + s)] = 2.0f * k[u];
    }
    for (int64_t t = 0; t < length; ++t) {
      Scores(t);
      Row(t);
    }
  }

 private:
  // scores_[s] = e[t][s] for every s.
  void Scores(int64_t t) {
    const int64_t units = query_.channels, length = out_.length;
    const float* q = query_.data + t * units;
    float* z = exps_.data();
    for (int64_t u = 0; u < units; ++u) {
      const float q2 = 2.0f * q[u];
      const float* k2 = key2_t_.data() + u * length;
      float* zu = z + u * length;
      for (int64_t s = 0; s < length; ++s) zu[s] = q2 + k2[s];
    }
    VectorExp(z, units * length, z);
    float* e = scores_.data();
    std::fill_n(e, length, base_);
    for (int64_t u = 0; u < units; ++u) {
      const float w = wa_[static_cast<size_t>(u)];
      const float* zu = z + u * length;
      for (int64_t s = 0; s < length; ++s) e[s] -= w / (zu[s] + 1.0f);
    }
  }

  // out[t] = Σ_s a[t][s]·value[s] over the band (or all s) from scores_.
  void Row(int64_t t) {
    const int64_t length = out_.length, channels = out_.channels;
    float* e = scores_.data();
    const float top = *std::max_element(e, e + length);
    int64_t first = 0, end = length;
    if (band_ > 0) {
      first = std::max<int64_t>(0, t - band_ / 2);
      end = std::min(length, t - band_ / 2 + band_);
    }
    for (int64_t s = first; s < end; ++s) e[s] -= top;
    VectorExp(e + first, end - first, e + first);
    float sum = 0;
    for (int64_t s = first; s < end; ++s) sum += e[s];
    const float scale = 1.0f / (sum + eps_);
    float* y = out_.data + t * channels;
    std::fill_n(y, channels, 0.0f);
    for (int64_t s = first; s < end; ++s) {
      const float a = e[s] * scale;
      const float* v = value_.data + s * channels;
      for (int64_t c = 0; c < channels; ++c) y[c] += a * v[c];
    }
  }

  View query_, key_, value_, out_;
  std::vector<float> wa_;  // 2·Wa
  float base_;             // Σ Wa + ba
  int64_t band_;
  float eps_;
  std::vector<float> key2_t_, exps_, scores_;  // scratch: units × L, units × L, L
};

}  // namespace

std::unique_ptr<LoopKernel> MakeAdditiveAttentionKernel(const GraphNode& n, View query, View key, View value,
                                                        View output) {
  return std::make_unique<AdditiveAttention>(n, query, key, value, output);
}

}  // namespace rapid::onednn
