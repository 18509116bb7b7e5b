// The forward complex DFT of a length whose prime factors are small (dsp/fft.cc sends lengths
// with a large prime factor through Bluestein instead). A length n = n1·n2 (n1 the largest
// divisor <= √n) is transformed in four steps: the n1-point DFTs down the columns of x as an
// n1 × n2 matrix, a twiddle by e^{-2πi·j2·k1/n} written transposed, and the n2-point DFTs down the
// columns of that n2 × n1 matrix; both column transforms are dsp/column_fft.h's, on blocks of
// kFftColumns columns gathered into cache-sized split buffers.
// Thread safety: a built ComplexFft is immutable; Transform may be called from several threads.
#pragma once

#include <complex>
#include <cstddef>
#include <vector>

#include "dsp/column_fft.h"

namespace rapid {

class ComplexFft {
 public:
  // REQUIRES: n >= 1. The cost is O(n·(sum of n's prime factors)): meant for lengths whose prime
  // factors are small.
  explicit ComplexFft(size_t n);

  // out[k] = Σ_j in[j] e^{-2πi jk/n} for k < n, using work[0..n) as scratch. `in` may be `out`.
  void Transform(const std::complex<double>* in, std::complex<double>* out, std::complex<double>* work) const;
  size_t Bytes() const;

 private:
  size_t n1_, n2_;
  ColumnFft columns1_, columns2_;  // lengths n1 and n2
  // The twiddle e^{-2πi·j2·k1/n} as the product of e^{-2πi·j2·(k1 mod 32)/n}, at j2·32 + k1 mod 32,
  // and e^{-2πi·j2·32·(k1 div 32)/n}, at j2·hi_count_ + k1 div 32 (two tables of about 30·n
  // bytes in all, where one of n1·n2 values would not stay in cache).
  size_t hi_count_;
  std::vector<double> lo_re_, lo_im_, hi_re_, hi_im_;
};

}  // namespace rapid
