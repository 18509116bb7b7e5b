#include "backends/lstm_recurrence.h"

#include <algorithm>

#include "backends/fast_math.h"
#include "core/vector_loops.h"

namespace rapid {

namespace {

// Gates per panel of W_hh transposed: the sums a step keeps in registers at once (AddRecurrent).
constexpr int64_t kGateBlock = 64;

}  // namespace

LstmRecurrence::LstmRecurrence(const WeightTensor& recurrent, GateActivation gate)
    : directions_(recurrent.shape[0]), hidden_(recurrent.shape[2]), gate_(gate) {
  const int64_t h = hidden_, g = 4 * hidden_;
  w_hh_t_.resize(static_cast<size_t>(directions_ * h * g));
  // Per direction: the gates in panels of kGateBlock (the last one narrower when g is not a
  // multiple), each panel h rows of its gates' weights, so that a step reads each panel as one
  // contiguous stream.
  for (int64_t d = 0; d < directions_; ++d) {
    float* panels = w_hh_t_.data() + d * h * g;
    for (int64_t first = 0; first < g; first += kGateBlock) {
      const int64_t width = std::min(kGateBlock, g - first);
      float* panel = panels + first * h;
      for (int64_t k = 0; k < h; ++k) {
        for (int64_t i = 0; i < width; ++i) {
          panel[k * width + i] = recurrent.values[static_cast<size_t>((d * g + first + i) * h + k)];
        }
      }
    }
  }
}

namespace {

// The helpers below are always inlined into RunDirectionOf, whose clones (core/vector_loops.h)
// then compile them for each x86-64 level: called instead, they were compiled once, for the
// baseline, and ran in SSE2 whatever the CPU. (A step of H = 64 reads its 64 KB of W_hh from L2,
// about 0.85 µs on the 2-core dev machine, close to what L2 delivers, whatever the vector width.)

// acc[j] += Σ_k W_hh[j][k]·hs[k] for j < g, k < h, the sum over k in increasing order; `w`: one
// direction's panels (see the constructor). A panel's sums stay in registers over all of k:
// accumulating into acc one k at a time stored and reloaded all g sums h times per step, which took
// most of CRED's recurrence time (H = 64). Sixty-four sums are four independent chains of vector
// multiply-adds, enough to hide their latency (with 32, two chains waited on it: a step of H = 64
// took 1.24 µs, with 64 0.98), and a panel read as one stream rather than row by row from W_hh
// transposed took 0.80–0.90 µs.
[[gnu::always_inline]] inline void AddRecurrent(const float* w, const float* hs, int64_t h, int64_t g, float* acc) {
  int64_t first = 0;
  for (; first + kGateBlock <= g; first += kGateBlock) {
    float sums[kGateBlock];
    std::copy_n(acc + first, kGateBlock, sums);
    const float* panel = w + first * h;
    for (int64_t k = 0; k < h; ++k) {
      const float hk = hs[k];
      const float* row = panel + k * kGateBlock;
      for (int64_t i = 0; i < kGateBlock; ++i) sums[i] += row[i] * hk;
    }
    std::copy_n(sums, kGateBlock, acc + first);
  }
  const int64_t width = g - first;
  const float* panel = w + first * h;
  for (int64_t i = 0; i < width; ++i) {
    for (int64_t k = 0; k < h; ++k) acc[first + i] += panel[k * width + i] * hs[k];
  }
}

// One direction of the recurrence (see Run), hard-sigmoid gates or logistic ones; `w`: that
// direction's W_hh transposed (H × 4H); `state`: 6H floats of scratch.
template <bool kHardSigmoid>
[[gnu::always_inline]] inline void RunDirection(const float* gates, int64_t gates_stride, int64_t length,
                                                const float* w, int64_t h, bool reverse, float* out,
                                                int64_t out_stride, float* state) {
  const int64_t g = 4 * h;
  float* hs = state;
  float* cs = hs + h;
  float* acc = cs + h;
  auto activate = [](float v) {
    return kHardSigmoid ? std::clamp(0.2f * v + 0.5f, 0.0f, 1.0f) : FastSigmoid(v);
  };
  std::fill(hs, hs + 2 * h, 0.0f);
  for (int64_t s = 0; s < length; ++s) {
    const int64_t t = reverse ? length - 1 - s : s;
    std::copy_n(gates + t * gates_stride, g, acc);
    AddRecurrent(w, hs, h, g, acc);
    for (int64_t j = 0; j < h; ++j) {
      cs[j] = activate(acc[h + j]) * cs[j] + activate(acc[j]) * FastTanh(acc[2 * h + j]);
      hs[j] = activate(acc[3 * h + j]) * FastTanh(cs[j]);
    }
    std::copy_n(hs, h, out + t * out_stride);
  }
}

RAPID_VECTOR_LOOPS void RunDirectionOf(bool hard_sigmoid, const float* gates, int64_t gates_stride, int64_t length,
                                       const float* w, int64_t h, bool reverse, float* out, int64_t out_stride,
                                       float* state) {
  if (hard_sigmoid) return RunDirection<true>(gates, gates_stride, length, w, h, reverse, out, out_stride, state);
  RunDirection<false>(gates, gates_stride, length, w, h, reverse, out, out_stride, state);
}

}  // namespace

void LstmRecurrence::Run(const float* gates, int64_t gates_stride, int64_t length, float* out,
                         int64_t out_stride) const {
  const int64_t h = hidden_, g = 4 * hidden_;
  std::vector<float> state(static_cast<size_t>(6 * h));  // hidden H, cell H, gates 4H
  for (int64_t d = 0; d < directions_; ++d) {
    RunDirectionOf(gate_ == GateActivation::kHardSigmoid, gates + d * g, gates_stride, length,
                   w_hh_t_.data() + d * h * g, h, /*reverse=*/d == 1, out + d * h, out_stride, state.data());
  }
}

}  // namespace rapid
