// Stockham passes over split blocks of kFftColumns columns (dsp/column_fft.h).
// A pass of radix R over sub-transforms of length `span` takes, for each j < rows/R with
// k = j mod span, the R rows j + r·rows/R, multiplies row r by e^{-2πi·r·k/(span·R)}, applies the
// R-point DFT and writes its outputs to rows (j - k)·R + k + r·span. After passes of every prime
// factor (span growing from 1 to rows) the block holds the DFT in natural order.
#include "dsp/column_fft.h"

#include <cassert>

#include "core/vector_loops.h"
#include "dsp/double_lanes.h"

namespace rapid {
namespace {

constexpr size_t kLanes = kFftColumns;

static_assert(kLanes % kLanes4 == 0);

struct Cplx {
  Lanes4 re, im;
};

[[gnu::always_inline]] inline Cplx Load(SplitBlock in, size_t at) {
  return {Load4(in.re + at), Load4(in.im + at)};
}

[[gnu::always_inline]] inline void Store(SplitBlock out, size_t at, const Cplx& y) {
  Store4(out.re + at, y.re);
  Store4(out.im + at, y.im);
}

// x · (c + i·s).
[[gnu::always_inline]] inline Cplx Rotate(const Cplx& x, double c, double s) {
  return {x.re * c - x.im * s, x.re * s + x.im * c};
}

[[gnu::always_inline]] inline Cplx operator+(const Cplx& a, const Cplx& b) { return {a.re + b.re, a.im + b.im}; }
[[gnu::always_inline]] inline Cplx operator-(const Cplx& a, const Cplx& b) { return {a.re - b.re, a.im - b.im}; }
[[gnu::always_inline]] inline Cplx operator*(double f, const Cplx& a) { return {f * a.re, f * a.im}; }
// a - i·b and a + i·b.
[[gnu::always_inline]] inline Cplx MinusI(const Cplx& a, const Cplx& b) { return {a.re + b.im, a.im - b.re}; }
[[gnu::always_inline]] inline Cplx PlusI(const Cplx& a, const Cplx& b) { return {a.re - b.im, a.im + b.re}; }

[[gnu::always_inline]] inline void Butterfly(Cplx (&x)[2]) {
  const Cplx a = x[0];
  x[0] = a + x[1];
  x[1] = a - x[1];
}

// y1,2 = x0 - (x1 + x2)/2 ∓ i·sin(2π/3)·(x1 - x2).
[[gnu::always_inline]] inline void Butterfly(Cplx (&x)[3]) {
  constexpr double kSin = 0.86602540378443864676;  // sin(2π/3)
  const Cplx t = x[1] + x[2], d = kSin * (x[1] - x[2]);
  const Cplx m = x[0] - 0.5 * t;
  x[0] = x[0] + t;
  x[1] = MinusI(m, d);
  x[2] = PlusI(m, d);
}

// y0,2 = (x0 + x2) ± (x1 + x3); y1,3 = (x0 - x2) ∓ i·(x1 - x3).
[[gnu::always_inline]] inline void Butterfly(Cplx (&x)[4]) {
  const Cplx a = x[0] + x[2], b = x[0] - x[2], c = x[1] + x[3], d = x[1] - x[3];
  x[0] = a + c;
  x[2] = a - c;
  x[1] = MinusI(b, d);
  x[3] = PlusI(b, d);
}

// With t = x1 + x4, u = x2 + x3, v = x1 - x4, w = x2 - x3 and θ = 2π/5:
// y1,4 = x0 + cos θ·t + cos 2θ·u ∓ i·(sin θ·v + sin 2θ·w),
// y2,3 = x0 + cos 2θ·t + cos θ·u ∓ i·(sin 2θ·v - sin θ·w).
[[gnu::always_inline]] inline void Butterfly(Cplx (&x)[5]) {
  constexpr double kC1 = 0.30901699437494742410, kC2 = -0.80901699437494742410;
  constexpr double kS1 = 0.95105651629515357212, kS2 = 0.58778525229247312917;
  const Cplx t = x[1] + x[4], u = x[2] + x[3], v = x[1] - x[4], w = x[2] - x[3];
  const Cplx m1 = x[0] + kC1 * t + kC2 * u, m2 = x[0] + kC2 * t + kC1 * u;
  const Cplx n1 = kS1 * v + kS2 * w, n2 = kS2 * v - kS1 * w;
  x[0] = x[0] + t + u;
  x[1] = MinusI(m1, n1);
  x[4] = PlusI(m1, n1);
  x[2] = MinusI(m2, n2);
  x[3] = PlusI(m2, n2);
}

template <size_t R>
[[gnu::always_inline]] inline void FixedRadixPass(size_t span, const double* tw_re, const double* tw_im, size_t rows,
                                                  SplitBlock in, SplitBlock out) {
  const size_t stride = rows / R;
  for (size_t j = 0; j < stride; ++j) {
    const size_t k = j % span;
    const size_t out_row = (j - k) * R + k;
    for (size_t h = 0; h < kLanes; h += kLanes4) {
      Cplx x[R];
      for (size_t r = 0; r < R; ++r) x[r] = Load(in, (j + r * stride) * kLanes + h);
      if (k != 0) {
        for (size_t r = 1; r < R; ++r) x[r] = Rotate(x[r], tw_re[k * (R - 1) + r - 1], tw_im[k * (R - 1) + r - 1]);
      }
      Butterfly(x);
      for (size_t r = 0; r < R; ++r) Store(out, (out_row + r * span) * kLanes + h, x[r]);
    }
  }
}

// A pass of radix 2, 3, 4 or 5.
RAPID_VECTOR_LOOPS void SmallRadixPass(size_t radix, size_t span, const double* c, const double* s, size_t rows,
                                       SplitBlock in, SplitBlock out) {
  switch (radix) {
    case 2: return FixedRadixPass<2>(span, c, s, rows, in, out);
    case 3: return FixedRadixPass<3>(span, c, s, rows, in, out);
    case 4: return FixedRadixPass<4>(span, c, s, rows, in, out);
    case 5: return FixedRadixPass<5>(span, c, s, rows, in, out);
  }
}

// A pass of any radix: y_q = Σ_r x_r·root^{rq}, O(radix²) per butterfly.
struct GenericRadix {
  size_t radix, span;
  const double *tw_re, *tw_im, *root_re, *root_im;
};

RAPID_VECTOR_LOOPS void GenericPass(const GenericRadix& p, size_t rows, SplitBlock in, SplitBlock out) {
  const size_t stride = rows / p.radix;
  std::vector<double> x_re(p.radix * kLanes), x_im(p.radix * kLanes);
  for (size_t j = 0; j < stride; ++j) {
    const size_t k = j % p.span;
    for (size_t r = 0; r < p.radix; ++r) {
      const size_t at = (j + r * stride) * kLanes;
      const double c = r == 0 ? 1.0 : p.tw_re[k * (p.radix - 1) + r - 1];
      const double s = r == 0 ? 0.0 : p.tw_im[k * (p.radix - 1) + r - 1];
      for (size_t l = 0; l < kLanes; ++l) {
        x_re[r * kLanes + l] = in.re[at + l] * c - in.im[at + l] * s;
        x_im[r * kLanes + l] = in.re[at + l] * s + in.im[at + l] * c;
      }
    }
    for (size_t q = 0; q < p.radix; ++q) {
      double y_re[kLanes] = {}, y_im[kLanes] = {};
      for (size_t r = 0; r < p.radix; ++r) {
        const double c = p.root_re[r * q % p.radix], s = p.root_im[r * q % p.radix];
        for (size_t l = 0; l < kLanes; ++l) {
          y_re[l] += x_re[r * kLanes + l] * c - x_im[r * kLanes + l] * s;
          y_im[l] += x_re[r * kLanes + l] * s + x_im[r * kLanes + l] * c;
        }
      }
      const size_t at = ((j - k) * p.radix + k + q * p.span) * kLanes;
      for (size_t l = 0; l < kLanes; ++l) {
        out.re[at + l] = y_re[l];
        out.im[at + l] = y_im[l];
      }
    }
  }
}

// The prime factors of n >= 1 as pass radices: fours first, then a two, then odd primes ascending.
std::vector<size_t> Radices(size_t n) {
  std::vector<size_t> radices;
  for (; n % 4 == 0; n /= 4) radices.push_back(4);
  for (size_t p = 2; p * p <= n; p += p == 2 ? 1 : 2) {
    for (; n % p == 0; n /= p) radices.push_back(p);
  }
  if (n > 1) radices.push_back(n);
  return radices;
}

}  // namespace

ColumnFft::ColumnFft(size_t rows) : rows_(rows) {
  assert(rows >= 1);
  size_t span = 1;
  for (size_t radix : Radices(rows)) {
    Pass& pass = passes_.emplace_back();
    pass.radix = radix;
    pass.span = span;
    for (size_t k = 0; k < span; ++k) {
      for (size_t r = 1; r < radix; ++r) {
        const std::complex<double> w = UnitRoot(r * k, span * radix);
        pass.twiddle_re.push_back(w.real());
        pass.twiddle_im.push_back(w.imag());
      }
    }
    if (radix > 5) {
      for (size_t m = 0; m < radix; ++m) {
        const std::complex<double> w = UnitRoot(m, radix);
        pass.root_re.push_back(w.real());
        pass.root_im.push_back(w.imag());
      }
    }
    span *= radix;
  }
}

SplitBlock ColumnFft::Run(SplitBlock data, SplitBlock spare) const {
  for (const Pass& pass : passes_) {
    const double* c = pass.twiddle_re.data();
    const double* s = pass.twiddle_im.data();
    if (pass.radix <= 5) {
      SmallRadixPass(pass.radix, pass.span, c, s, rows_, data, spare);
    } else {
      GenericPass({pass.radix, pass.span, c, s, pass.root_re.data(), pass.root_im.data()}, rows_, data, spare);
    }
    std::swap(data, spare);
  }
  return data;
}

size_t ColumnFft::Bytes() const {
  size_t doubles = 0;
  for (const Pass& pass : passes_) doubles += 2 * pass.twiddle_re.size() + 2 * pass.root_re.size();
  return doubles * sizeof(double);
}

}  // namespace rapid
