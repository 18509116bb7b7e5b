#include "backends/lstm_recurrence.h"

#include <algorithm>

#include "backends/onednn/output_head.h"
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

namespace {

// y[i] = 1 / (1 + e^{−x[i]}) for i < n (y may be x), through onednn::VectorExp: libm's scalar expf
// and tanhf took most of an LSTM's time; this is within about 2e-7 of the logistic. tanh(x) is
// computed as 2·σ(2x) − 1 (absolute error about 2e-7). scratch: n floats.
RAPID_VECTOR_LOOPS void Logistic(const float* x, int64_t n, float* y, float* scratch) {
  for (int64_t i = 0; i < n; ++i) scratch[i] = -x[i];
  onednn::VectorExp(scratch, n, scratch);
  for (int64_t i = 0; i < n; ++i) y[i] = 1.0f / (1.0f + scratch[i]);
}

// acc[j] += Σ_k w[k·g + j]·hs[k] for j < g, k < h, the sum over k in increasing order. Gates go in
// blocks held in registers over all of k: accumulating into acc one k at a time stored and
// reloaded all g sums h times per step, which took most of the recurrence's time.
RAPID_VECTOR_LOOPS void AddRecurrent(const float* w, const float* hs, int64_t h, int64_t g, float* acc) {
  constexpr int64_t kBlock = 32;
  int64_t first = 0;
  for (; first + kBlock <= g; first += kBlock) {
    float sums[kBlock];
    std::copy_n(acc + first, kBlock, sums);
    for (int64_t k = 0; k < h; ++k) {
      const float hk = hs[k];
      const float* row = w + k * g + first;
      for (int64_t i = 0; i < kBlock; ++i) sums[i] += row[i] * hk;
    }
    std::copy_n(sums, kBlock, acc + first);
  }
  for (; first < g; ++first) {
    for (int64_t k = 0; k < h; ++k) acc[first] += w[k * g + first] * hs[k];
  }
}

}  // namespace

RAPID_VECTOR_LOOPS void LstmRecurrence::Run(const float* gates, int64_t gates_stride, int64_t length, float* out,
                         int64_t out_stride) const {
  const int64_t h = hidden_, g = 4 * hidden_;
  std::vector<float> state(static_cast<size_t>(11 * h));  // hidden H, cell H, gates 4H, 2·cell H, scratch 4H
  float* hs = state.data();
  float* cs = hs + h;
  float* acc = cs + h;  // the gates i, f, g, o: pre-activations, then activations
  float* cell2 = acc + g;
  float* scratch = cell2 + h;
  const bool hard = gate_ == GateActivation::kHardSigmoid;
  for (int64_t d = 0; d < directions_; ++d) {
    const float* w = w_hh_t_.data() + d * h * g;
    std::fill(hs, hs + 2 * h, 0.0f);
    for (int64_t s = 0; s < length; ++s) {
      const int64_t t = d == 0 ? s : length - 1 - s;
      std::copy_n(gates + t * gates_stride + d * g, g, acc);
      AddRecurrent(w, hs, h, g, acc);
      for (int64_t j = 2 * h; j < 3 * h; ++j) acc[j] *= 2.0f;  // the cell gate: tanh(x) = 2σ(2x) − 1
      if (hard) {  // Keras' hard sigmoid for the input, forget and output gates
        for (float* v : {acc, acc + h, acc + 3 * h}) {
          for (int64_t j = 0; j < h; ++j) v[j] = std::clamp(0.2f * v[j] + 0.5f, 0.0f, 1.0f);
        }
        Logistic(acc + 2 * h, h, acc + 2 * h, scratch);
      } else {
        Logistic(acc, g, acc, scratch);
      }
      for (int64_t j = 0; j < h; ++j) {
        cs[j] = acc[h + j] * cs[j] + acc[j] * (2.0f * acc[2 * h + j] - 1.0f);
        cell2[j] = 2.0f * cs[j];
      }
      Logistic(cell2, h, cell2, scratch);
      float* y = out + t * out_stride + d * h;
      for (int64_t j = 0; j < h; ++j) {
        hs[j] = acc[3 * h + j] * (2.0f * cell2[j] - 1.0f);
        y[j] = hs[j];
      }
    }
  }
}

}  // namespace rapid
