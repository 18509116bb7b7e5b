// Eight floats as one vector value for the oneDNN backend's hand-written loops over channels-last
// data (backends/onednn/narrow_conv_kernel.cc, output_head.cc): one AVX2 register in the
// x86-64-v3 and -v4 clones of a RAPID_VECTOR_LOOPS function, two SSE2 registers in the baseline
// one (GCC's generic vectors). Loads and stores are unaligned.
// Only those two source files include this header: GCC's note that returning a 32-byte vector
// changes the calling convention between clones (-Wpsabi) is silenced for them, as the helpers
// that return one are always inlined and no call passes one.
#pragma once

#pragma GCC diagnostic ignored "-Wpsabi"

namespace rapid::onednn {

typedef float Floats8 __attribute__((vector_size(32), aligned(4)));

[[gnu::always_inline]] inline Floats8 Load8(const float* p) {
  Floats8 v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}

[[gnu::always_inline]] inline void Store8(float* p, Floats8 v) { __builtin_memcpy(p, &v, sizeof v); }

// Transposes the 8×8 matrix whose rows are a[0..8) (pairs, then quads, then the 128-bit halves).
[[gnu::always_inline]] inline void Transpose8(Floats8 (&a)[8]) {
  Floats8 t[8], u[8];
  for (int i = 0; i < 8; i += 2) {
    t[i] = __builtin_shufflevector(a[i], a[i + 1], 0, 8, 1, 9, 4, 12, 5, 13);
    t[i + 1] = __builtin_shufflevector(a[i], a[i + 1], 2, 10, 3, 11, 6, 14, 7, 15);
  }
  for (int i = 0; i < 8; i += 4) {
    for (int j = 0; j < 2; ++j) {
      u[i + 2 * j] = __builtin_shufflevector(t[i + j], t[i + j + 2], 0, 1, 8, 9, 4, 5, 12, 13);
      u[i + 2 * j + 1] = __builtin_shufflevector(t[i + j], t[i + j + 2], 2, 3, 10, 11, 6, 7, 14, 15);
    }
  }
  for (int j = 0; j < 4; ++j) {
    a[j] = __builtin_shufflevector(u[j], u[j + 4], 0, 1, 2, 3, 8, 9, 10, 11);
    a[j + 4] = __builtin_shufflevector(u[j], u[j + 4], 4, 5, 6, 7, 12, 13, 14, 15);
  }
}

// The 8 × 8 block of channels-last values at x (8 samples of 8 channels, one after another) as
// one vector per channel: a[c] holds channel c of the 8 samples.
[[gnu::always_inline]] inline void LoadChannels8(const float* x, Floats8 (&a)[8]) {
  for (int i = 0; i < 8; ++i) a[i] = Load8(x + 8 * i);
  Transpose8(a);
}

}  // namespace rapid::onednn
