// The four-step complex DFT of dsp/complex_fft.h. With j = n2·j1 + j2 and k = k1 + n1·k2:
// X[k] = Σ_j2 e^{-2πi·j2·k2/n2} · e^{-2πi·j2·k1/n} · Σ_j1 x[n2·j1 + j2] e^{-2πi·j1·k1/n1}.
#include "dsp/complex_fft.h"

#include <algorithm>
#include <cassert>
#include <cmath>

#include "core/vector_loops.h"
#include "dsp/fft_lanes.h"

namespace rapid {
namespace {

using Complex = std::complex<double>;
constexpr size_t kBlock = kFftColumns;

// The largest divisor of n >= 1 that is at most √n.
size_t DivisorNearRoot(size_t n) {
  size_t d = static_cast<size_t>(std::sqrt(static_cast<double>(n)));
  while (d * d > n) --d;
  while ((d + 1) * (d + 1) <= n) ++d;
  while (n % d != 0) --d;
  return d;
}

static_assert(kBlock == 2 * kLanes8);

// The even and the odd elements of a·b (16 values): de-interleaves 8 complex values.
[[gnu::always_inline]] inline Lanes8 Evens(Lanes8 a, Lanes8 b) {
  return __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14);
}
[[gnu::always_inline]] inline Lanes8 Odds(Lanes8 a, Lanes8 b) {
  return __builtin_shufflevector(a, b, 1, 3, 5, 7, 9, 11, 13, 15);
}
// re[0] im[0] re[1] im[1] … of the first and of the last four of 8 complex values.
[[gnu::always_inline]] inline Lanes8 InterleaveLow(Lanes8 re, Lanes8 im) {
  return __builtin_shufflevector(re, im, 0, 8, 1, 9, 2, 10, 3, 11);
}
[[gnu::always_inline]] inline Lanes8 InterleaveHigh(Lanes8 re, Lanes8 im) {
  return __builtin_shufflevector(re, im, 4, 12, 5, 13, 6, 14, 7, 15);
}

// Transposes the 8×8 matrix whose rows are a[0..8).
[[gnu::always_inline]] inline void Transpose8(Lanes8 (&a)[8]) {
  Lanes8 t[8], u[8];
  for (int i = 0; i < 8; i += 2) {
    t[i] = __builtin_shufflevector(a[i], a[i + 1], 0, 8, 2, 10, 4, 12, 6, 14);
    t[i + 1] = __builtin_shufflevector(a[i], a[i + 1], 1, 9, 3, 11, 5, 13, 7, 15);
  }
  for (int i = 0; i < 8; i += 4) {
    for (int j = 0; j < 2; ++j) {
      u[i + j] = __builtin_shufflevector(t[i + j], t[i + j + 2], 0, 1, 8, 9, 4, 5, 12, 13);
      u[i + j + 2] = __builtin_shufflevector(t[i + j], t[i + j + 2], 2, 3, 10, 11, 6, 7, 14, 15);
    }
  }
  for (int j = 0; j < 4; ++j) {
    a[j] = __builtin_shufflevector(u[j], u[j + 4], 0, 1, 2, 3, 8, 9, 10, 11);
    a[j + 4] = __builtin_shufflevector(u[j], u[j + 4], 4, 5, 6, 7, 12, 13, 14, 15);
  }
}

// block[r][c] = src[r·row_stride + c] for r < rows, c < cols (interleaved complex to split).
RAPID_VECTOR_LOOPS void Gather(const Complex* src, size_t rows, size_t row_stride, size_t cols, SplitBlock block) {
  const double* values = reinterpret_cast<const double*>(src);
  for (size_t r = 0; r < rows; ++r) {
    const double* row = values + 2 * r * row_stride;
    if (cols == kBlock) {
      for (size_t h = 0; h < kBlock; h += kLanes8) {
        const Lanes8 a = Load8(row + 2 * h), b = Load8(row + 2 * h + kLanes8);
        Store8(block.re + r * kBlock + h, Evens(a, b));
        Store8(block.im + r * kBlock + h, Odds(a, b));
      }
      continue;
    }
    for (size_t c = 0; c < cols; ++c) {
      block.re[r * kBlock + c] = row[2 * c];
      block.im[r * kBlock + c] = row[2 * c + 1];
    }
  }
}

// dst[r·row_stride + c] = block[r][c] for r < rows, c < cols.
RAPID_VECTOR_LOOPS void Scatter(SplitBlock block, size_t rows, size_t cols, Complex* dst, size_t row_stride) {
  double* values = reinterpret_cast<double*>(dst);
  for (size_t r = 0; r < rows; ++r) {
    double* row = values + 2 * r * row_stride;
    if (cols == kBlock) {
      for (size_t h = 0; h < kBlock; h += kLanes8) {
        const Lanes8 re = Load8(block.re + r * kBlock + h), im = Load8(block.im + r * kBlock + h);
        Store8(row + 2 * h, InterleaveLow(re, im));
        Store8(row + 2 * h + kLanes8, InterleaveHigh(re, im));
      }
      continue;
    }
    for (size_t c = 0; c < cols; ++c) {
      row[2 * c] = block.re[r * kBlock + c];
      row[2 * c + 1] = block.im[r * kBlock + c];
    }
  }
}

// The twiddles of one column block: e^{-2πi·j2·k1/n} = lo[c·32 + k1 mod 32] · hi[c·hi_count + k1 div 32]
// for j2 = c0 + c (the tables from the block's first column on).
struct BlockTwiddles {
  const double *lo_re, *lo_im, *hi_re, *hi_im;
  size_t hi_count;
};
constexpr size_t kLoCount = 32;
static_assert(kLoCount % kLanes8 == 0);

// dst[c·rows + r] = block[r][c] · twiddle(c, r) for r < rows, c < cols: the block transposed,
// eight rows by eight columns at a time.
RAPID_VECTOR_LOOPS void TwiddleTransposed(SplitBlock block, size_t rows, size_t cols, const BlockTwiddles& tw,
                                          Complex* dst) {
  double* values = reinterpret_cast<double*>(dst);
  size_t r0 = 0;
  for (; cols == kBlock && r0 + kLanes8 <= rows; r0 += kLanes8) {
    for (size_t h = 0; h < kBlock; h += kLanes8) {
      Lanes8 re[8], im[8];
      for (size_t i = 0; i < kLanes8; ++i) {
        re[i] = Load8(block.re + (r0 + i) * kBlock + h);
        im[i] = Load8(block.im + (r0 + i) * kBlock + h);
      }
      Transpose8(re);
      Transpose8(im);
      for (size_t i = 0; i < kLanes8; ++i) {
        const size_t c = h + i, lo = c * kLoCount + r0 % kLoCount, hi = c * tw.hi_count + r0 / kLoCount;
        const Lanes8 lo_re = Load8(tw.lo_re + lo), lo_im = Load8(tw.lo_im + lo);
        const Lanes8 w_re = lo_re * tw.hi_re[hi] - lo_im * tw.hi_im[hi];
        const Lanes8 w_im = lo_re * tw.hi_im[hi] + lo_im * tw.hi_re[hi];
        const Lanes8 out_re = re[i] * w_re - im[i] * w_im, out_im = re[i] * w_im + im[i] * w_re;
        const size_t at = c * rows + r0;
        Store8(values + 2 * at, InterleaveLow(out_re, out_im));
        Store8(values + 2 * at + kLanes8, InterleaveHigh(out_re, out_im));
      }
    }
  }
  for (size_t c = 0; c < cols; ++c) {
    for (size_t r = r0; r < rows; ++r) {
      const size_t lo = c * kLoCount + r % kLoCount, hi = c * tw.hi_count + r / kLoCount;
      const double w_re = tw.lo_re[lo] * tw.hi_re[hi] - tw.lo_im[lo] * tw.hi_im[hi];
      const double w_im = tw.lo_re[lo] * tw.hi_im[hi] + tw.lo_im[lo] * tw.hi_re[hi];
      const double re = block.re[r * kBlock + c], im = block.im[r * kBlock + c];
      const size_t at = c * rows + r;
      values[2 * at] = re * w_re - im * w_im;
      values[2 * at + 1] = re * w_im + im * w_re;
    }
  }
}

}  // namespace

ComplexFft::ComplexFft(size_t n)
    : n1_(DivisorNearRoot(n)),
      n2_(n / n1_),
      columns1_(n1_),
      columns2_(n2_),
      hi_count_((n1_ + kLoCount - 1) / kLoCount) {
  assert(n >= 1);
  for (size_t j2 = 0; j2 < n2_; ++j2) {
    for (size_t b = 0; b < kLoCount; ++b) {
      const Complex w = UnitRoot(uint64_t{j2} * b, n);
      lo_re_.push_back(w.real());
      lo_im_.push_back(w.imag());
    }
    for (size_t a = 0; a < hi_count_; ++a) {
      const Complex w = UnitRoot(uint64_t{j2} * a * kLoCount, n);
      hi_re_.push_back(w.real());
      hi_im_.push_back(w.imag());
    }
  }
}

void ComplexFft::Transform(const Complex* in, Complex* out, Complex* work) const {
  const size_t rows = std::max(n1_, n2_);
  std::vector<double> scratch(4 * rows * kBlock);
  const SplitBlock a{scratch.data(), scratch.data() + rows * kBlock};
  const SplitBlock b{scratch.data() + 2 * rows * kBlock, scratch.data() + 3 * rows * kBlock};
  for (size_t c0 = 0; c0 < n2_; c0 += kBlock) {  // work[j2·n1 + k1]: the twiddled column transforms
    const size_t cols = std::min(kBlock, n2_ - c0);
    Gather(in + c0, n1_, n2_, cols, a);
    const SplitBlock done = columns1_.Run(a, b);
    const BlockTwiddles tw{&lo_re_[c0 * kLoCount], &lo_im_[c0 * kLoCount], &hi_re_[c0 * hi_count_],
                           &hi_im_[c0 * hi_count_], hi_count_};
    TwiddleTransposed(done, n1_, cols, tw, work + c0 * n1_);
  }
  for (size_t c0 = 0; c0 < n1_; c0 += kBlock) {  // out[k1 + n1·k2]
    const size_t cols = std::min(kBlock, n1_ - c0);
    Gather(work + c0, n2_, n1_, cols, a);
    const SplitBlock done = columns2_.Run(a, b);
    Scatter(done, n2_, cols, out + c0, n1_);
  }
}

size_t ComplexFft::Bytes() const {
  const size_t tables = lo_re_.size() + lo_im_.size() + hi_re_.size() + hi_im_.size();
  return columns1_.Bytes() + columns2_.Bytes() + tables * sizeof(double);
}

}  // namespace rapid
