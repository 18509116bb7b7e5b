// Four doubles as one vector value for the DSP's loops (the FFT's in dsp/column_fft.cc and
// dsp/complex_fft.cc, the Butterworth filter's lanes in dsp/butterworth.cc):
// one AVX2 register in the x86-64-v3 and -v4 clones of a RAPID_VECTOR_LOOPS function, two SSE2
// registers in the baseline one (GCC's generic vectors). Loads and stores are unaligned.
// Four, not eight: with eight doubles (64 bytes) GCC split every operation of the AVX2 clone into
// halves, ran out of registers in the butterflies (ten complex values at once) and built the
// shuffles element by element on the stack: on an AVX2-only Zen 3 an hour at 250 Hz resampled in
// 51 ms instead of 14 (identical output). A Zen 4 core runs a 512-bit operation as two 256-bit
// halves anyway.
// Only those three source files include this header: GCC's note that returning a 32-byte vector
// changes the calling convention between clones (-Wpsabi) is silenced for them, as the helpers
// that return one are always inlined and no call passes one.
#pragma once

#pragma GCC diagnostic ignored "-Wpsabi"

#include <cstddef>

namespace rapid {

typedef double Lanes4 __attribute__((vector_size(32), aligned(8)));
inline constexpr size_t kLanes4 = 4;

[[gnu::always_inline]] inline Lanes4 Load4(const double* p) {
  Lanes4 v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}

[[gnu::always_inline]] inline void Store4(double* p, Lanes4 v) { __builtin_memcpy(p, &v, sizeof v); }

// Transposes the 4×4 matrix whose rows are a[0..4).
[[gnu::always_inline]] inline void Transpose4(Lanes4 (&a)[4]) {
  const Lanes4 t0 = __builtin_shufflevector(a[0], a[1], 0, 4, 2, 6);
  const Lanes4 t1 = __builtin_shufflevector(a[0], a[1], 1, 5, 3, 7);
  const Lanes4 t2 = __builtin_shufflevector(a[2], a[3], 0, 4, 2, 6);
  const Lanes4 t3 = __builtin_shufflevector(a[2], a[3], 1, 5, 3, 7);
  a[0] = __builtin_shufflevector(t0, t2, 0, 1, 4, 5);
  a[1] = __builtin_shufflevector(t1, t3, 0, 1, 4, 5);
  a[2] = __builtin_shufflevector(t0, t2, 2, 3, 6, 7);
  a[3] = __builtin_shufflevector(t1, t3, 2, 3, 6, 7);
}

}  // namespace rapid
