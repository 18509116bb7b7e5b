// exp, tanh and the logistic function of a float in branch-free arithmetic, inline, so that the
// CPU kernels' loops over them (LSTM gates, additive attention scores) vectorise; libm's calls do
// not. A loop calling them vectorises only when its file is compiled with -fno-trapping-math (the
// clamp's compares become vector selects; CMakeLists.txt sets it per file).
// Accuracy (tests/onednn_backend_test.cc): FastExp within 2e-7 relative of std::exp on [−87, 88]
// and clamped outside (e^−87, e^88); FastTanh and FastSigmoid within 3e-7 absolute.
// Thread safety: pure functions.
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>

namespace rapid {

inline float FastExp(float x) {
  // e^x = 2^k · e^r, x = k·ln 2 + r with |r| ≤ ln 2 / 2.
  const float v = std::min(std::max(x, -87.0f), 88.0f);
  const float k = (v * 1.44269504f + 12582912.0f) - 12582912.0f;  // ± 1.5·2^23 rounds to an integer
  const float r = (v - k * 0.693145752f) - k * 1.42860677e-6f;    // ln 2 split: k·hi is exact
  // Taylor series of e^r to r^7 (|error| < 1e-8 for |r| ≤ 0.347), Horner form.
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  return p * std::bit_cast<float>((static_cast<int32_t>(k) + 127) << 23);  // · 2^k
}

// tanh x = 1 − 2 / (e^{2x} + 1): exact limits ±1 where e^{2x} is clamped.
inline float FastTanh(float x) { return 1.0f - 2.0f / (FastExp(2.0f * x) + 1.0f); }

inline float FastSigmoid(float x) { return 1.0f / (1.0f + FastExp(-x)); }

}  // namespace rapid
