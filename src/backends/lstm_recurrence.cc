#include "backends/lstm_recurrence.h"

#include <algorithm>
#include <cmath>

#include "core/vector_loops.h"

namespace rapid {

LstmRecurrence::LstmRecurrence(const WeightTensor& recurrent, GateActivation gate)
    : directions_(recurrent.shape[0]), hidden_(recurrent.shape[2]), gate_(gate) {
  const int64_t h = hidden_, g = 4 * hidden_;
  w_hh_t_.resize(static_cast<size_t>(directions_ * h * g));
  for (int64_t d = 0; d < directions_; ++d) {
    for (int64_t j = 0; j < g; ++j) {
      for (int64_t k = 0; k < h; ++k) {
        w_hh_t_[static_cast<size_t>((d * h + k) * g + j)] = recurrent.values[static_cast<size_t>((d * g + j) * h + k)];
      }
    }
  }
}

RAPID_VECTOR_LOOPS void LstmRecurrence::Run(const float* gates, int64_t gates_stride, int64_t length, float* out,
                         int64_t out_stride) const {
  const int64_t h = hidden_, g = 4 * hidden_;
  std::vector<float> state(static_cast<size_t>(6 * h));  // hidden H, cell H, gates 4H
  float* hs = state.data();
  float* cs = hs + h;
  float* acc = cs + h;
  auto activate = [this](float v) {
    return gate_ == GateActivation::kHardSigmoid ? std::clamp(0.2f * v + 0.5f, 0.0f, 1.0f)
                                                 : 1.0f / (1.0f + std::exp(-v));
  };
  for (int64_t d = 0; d < directions_; ++d) {
    const float* w = w_hh_t_.data() + d * h * g;
    std::fill(hs, hs + 2 * h, 0.0f);
    for (int64_t s = 0; s < length; ++s) {
      const int64_t t = d == 0 ? s : length - 1 - s;
      std::copy_n(gates + t * gates_stride + d * g, g, acc);
      for (int64_t k = 0; k < h; ++k) {
        const float hk = hs[k];
        const float* row = w + k * g;
        for (int64_t j = 0; j < g; ++j) acc[j] += row[j] * hk;
      }
      float* y = out + t * out_stride + d * h;
      for (int64_t j = 0; j < h; ++j) {
        cs[j] = activate(acc[h + j]) * cs[j] + activate(acc[j]) * std::tanh(acc[2 * h + j]);
        hs[j] = activate(acc[3 * h + j]) * std::tanh(cs[j]);
        y[j] = hs[j];
      }
    }
  }
}

}  // namespace rapid
