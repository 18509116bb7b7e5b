// Eight doubles as one vector value for the FFT's loops (dsp/column_fft.cc, dsp/complex_fft.cc):
// one AVX-512 register in the x86-64-v4 clone of a RAPID_VECTOR_LOOPS function, two AVX2 or four
// SSE2 registers in the others (GCC's generic vectors). Loads and stores are unaligned.
// Only the FFT's two source files include this header: GCC's note that returning a 64-byte vector
// changes the calling convention between clones (-Wpsabi) is silenced for them, as the helpers
// that return one are always inlined and no call passes one.
#pragma once

#pragma GCC diagnostic ignored "-Wpsabi"

#include <cstddef>

namespace rapid {

typedef double Lanes8 __attribute__((vector_size(64), aligned(8)));
inline constexpr size_t kLanes8 = 8;

[[gnu::always_inline]] inline Lanes8 Load8(const double* p) {
  Lanes8 v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}

[[gnu::always_inline]] inline void Store8(double* p, Lanes8 v) { __builtin_memcpy(p, &v, sizeof v); }

}  // namespace rapid
