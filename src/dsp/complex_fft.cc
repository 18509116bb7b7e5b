// The four-step complex DFT of dsp/complex_fft.h. With j = n2·j1 + j2 and k = k1 + n1·k2:
// X[k] = Σ_j2 e^{-2πi·j2·k2/n2} · e^{-2πi·j2·k1/n} · Σ_j1 x[n2·j1 + j2] e^{-2πi·j1·k1/n1}.
#include "dsp/complex_fft.h"

#include <algorithm>
#include <cassert>
#include <cmath>

#include "core/vector_loops.h"
#include "dsp/double_lanes.h"

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

static_assert(kBlock % kLanes4 == 0);

// The real and the imaginary parts of 4 complex values held interleaved in a·b.
[[gnu::always_inline]] inline Lanes4 Reals(Lanes4 a, Lanes4 b) { return __builtin_shufflevector(a, b, 0, 2, 4, 6); }
[[gnu::always_inline]] inline Lanes4 Imaginaries(Lanes4 a, Lanes4 b) {
  return __builtin_shufflevector(a, b, 1, 3, 5, 7);
}
// re[0] im[0] re[1] im[1] of the first two and of the last two of 4 complex values.
[[gnu::always_inline]] inline Lanes4 InterleaveLow(Lanes4 re, Lanes4 im) {
  return __builtin_shufflevector(re, im, 0, 4, 1, 5);
}
[[gnu::always_inline]] inline Lanes4 InterleaveHigh(Lanes4 re, Lanes4 im) {
  return __builtin_shufflevector(re, im, 2, 6, 3, 7);
}

// block[r][c] = src[r·row_stride + c] for r < rows, c < cols (interleaved complex to split).
RAPID_VECTOR_LOOPS void Gather(const Complex* src, size_t rows, size_t row_stride, size_t cols, SplitBlock block) {
  const double* values = reinterpret_cast<const double*>(src);
  for (size_t r = 0; r < rows; ++r) {
    const double* row = values + 2 * r * row_stride;
    if (cols == kBlock) {
      for (size_t h = 0; h < kBlock; h += kLanes4) {
        const Lanes4 a = Load4(row + 2 * h), b = Load4(row + 2 * h + kLanes4);
        Store4(block.re + r * kBlock + h, Reals(a, b));
        Store4(block.im + r * kBlock + h, Imaginaries(a, b));
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
      for (size_t h = 0; h < kBlock; h += kLanes4) {
        const Lanes4 re = Load4(block.re + r * kBlock + h), im = Load4(block.im + r * kBlock + h);
        Store4(row + 2 * h, InterleaveLow(re, im));
        Store4(row + 2 * h + kLanes4, InterleaveHigh(re, im));
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
static_assert(kLoCount % kLanes4 == 0);

// dst[c·rows + r] = block[r][c] · twiddle(c, r) for r < rows, c < cols: the block transposed,
// four rows by four columns at a time.
RAPID_VECTOR_LOOPS void TwiddleTransposed(SplitBlock block, size_t rows, size_t cols, const BlockTwiddles& tw,
                                          Complex* dst) {
  double* values = reinterpret_cast<double*>(dst);
  size_t r0 = 0;
  for (; cols == kBlock && r0 + kLanes4 <= rows; r0 += kLanes4) {
    for (size_t h = 0; h < kBlock; h += kLanes4) {
      Lanes4 re[4], im[4];
      for (size_t i = 0; i < kLanes4; ++i) {
        re[i] = Load4(block.re + (r0 + i) * kBlock + h);
        im[i] = Load4(block.im + (r0 + i) * kBlock + h);
      }
      Transpose4(re);
      Transpose4(im);
      for (size_t i = 0; i < kLanes4; ++i) {
        const size_t c = h + i, lo = c * kLoCount + r0 % kLoCount, hi = c * tw.hi_count + r0 / kLoCount;
        const Lanes4 lo_re = Load4(tw.lo_re + lo), lo_im = Load4(tw.lo_im + lo);
        const Lanes4 w_re = lo_re * tw.hi_re[hi] - lo_im * tw.hi_im[hi];
        const Lanes4 w_im = lo_re * tw.hi_im[hi] + lo_im * tw.hi_re[hi];
        const Lanes4 out_re = re[i] * w_re - im[i] * w_im, out_im = re[i] * w_im + im[i] * w_re;
        const size_t at = c * rows + r0;
        Store4(values + 2 * at, InterleaveLow(out_re, out_im));
        Store4(values + 2 * at + kLanes4, InterleaveHigh(out_re, out_im));
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
