// The FFT of dsp/fft.h: RAPID's mixed-radix transform (dsp/complex_fft.h) for lengths whose prime
// factors are small (2, 3, 5, and others summing to at most 128), Bluestein's chirp-z algorithm (a
// convolution of a 2,3,5-smooth length) for lengths with a larger prime factor, the usual
// half-length complex transform for real data of even length, and for odd lengths with a factor
// 3, 5 or 7 and a large prime one, the real subsequences paired into complex transforms. Plans
// are cached per length (building one costs about as much as a transform).
#include "dsp/fft.h"

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>

#include "dsp/complex_fft.h"

namespace rapid {

namespace {

using Complex = std::complex<double>;

// n complex values of scratch, left uninitialised (zeroing megabytes per call would cost a pass).
class Scratch {
 public:
  explicit Scratch(size_t n) : values_(std::make_unique_for_overwrite<double[]>(2 * n)) {}
  Complex* get() { return reinterpret_cast<Complex*>(values_.get()); }

 private:
  std::unique_ptr<double[]> values_;
};

// a·b in real arithmetic: std::complex's product checks for NaN on every call.
inline Complex Mul(Complex a, Complex b) {
  return {a.real() * b.real() - a.imag() * b.imag(), a.real() * b.imag() + a.imag() * b.real()};
}

// True when n > 0 has no prime factor above 5 (is 2,3,5-smooth).
bool IsSmooth(size_t n) {
  for (size_t p : {2, 3, 5}) {
    while (n % p == 0) n /= p;
  }
  return n == 1;
}

// The smallest 2,3,5-smooth number >= n (n >= 1).
size_t NextSmooth(size_t n) {
  while (!IsSmooth(n)) ++n;
  return n;
}

// The sum of n's prime factors above 5, with multiplicity (0 for smooth n). ComplexFft has
// butterflies for 2, 3, 4 and 5; each other prime factor p costs a generic O(n·p) pass.
size_t RoughFactorSum(size_t n) {
  for (size_t p : {2, 3, 5}) {
    while (n % p == 0) n /= p;
  }
  size_t sum = 0;
  for (size_t p = 7; p * p <= n; p += 2) {
    for (; n % p == 0; n /= p) sum += p;
  }
  return n > 1 ? sum + n : sum;
}

// A length is transformed directly (dsp/complex_fft.h) when its factors above 5 sum to at most
// this, with Bluestein otherwise: a direct pass of radix p costs O(p) per value, Bluestein two
// smooth transforms of twice the length. Measured (RealFft + InverseRealFft of n = 2h, h near
// 110 000, h = p·smooth): direct 3.8 ms at p = 23, 7.2 at 53, 9.8 at 127, 11.9 at 199, 19.2 at
// 307; Bluestein (h prime) 11.8 ms.
constexpr size_t kMaxRoughFactorSum = 128;

// e^{-2πi·r/den} for r < den, as the product of two tables of about √den values each
// (r = hi·kLoCount + lo): one table of den values would cost 16 bytes and a sincos per value.
class UnitRootTable {
 public:
  explicit UnitRootTable(size_t den) {
    for (size_t lo = 0; lo < std::min(den, kLoCount); ++lo) lo_.push_back(UnitRoot(lo, den));
    for (size_t hi = 0; hi * kLoCount < den; ++hi) hi_.push_back(UnitRoot(hi * kLoCount, den));
  }
  Complex operator()(size_t r) const { return Mul(lo_[r % kLoCount], hi_[r / kLoCount]); }
  size_t Bytes() const { return (lo_.size() + hi_.size()) * sizeof(Complex); }

 private:
  static constexpr size_t kLoCount = 4096;
  std::vector<Complex> lo_, hi_;
};

// w_k = e^{-iπk²/n} = e^{-2πi·(k² mod 2n)/2n}, Bluestein's chirp, for k < n (for a day at 100 Hz a
// table of n values would hold 138 MB).
class Chirp {
 public:
  explicit Chirp(size_t n) : n_(n), roots_(2 * n) {}

  // Calls f(k, w_k) for k = 0, 1, …, n - 1 in order.
  template <typename F>
  void ForEach(F&& f) const {
    for (size_t k = 0, r = 0; k < n_; ++k) {  // r = k² mod 2n, as (k + 1)² = k² + 2k + 1
      f(k, roots_(r));
      r += 2 * k + 1;
      if (r >= 2 * n_) r -= 2 * n_;
    }
  }
  size_t Bytes() const { return roots_.Bytes(); }

 private:
  size_t n_;
  UnitRootTable roots_;
};

// The forward DFT of any length n >= 1: ComplexFft where its factors allow, Bluestein otherwise.
// Immutable once built.
class ComplexFftPlan {
 public:
  explicit ComplexFftPlan(size_t n);

  // out[k] = Σ_j in[j] e^{-2πi jk/n} for k < n; `in` may be `out`.
  void Transform(const Complex* in, Complex* out) const;
  size_t Bytes() const;

 private:
  void Bluestein(const Complex* in, Complex* out) const;

  size_t n_;
  std::optional<ComplexFft> direct_;  // n > 1 with small factors
  // Bluestein (other n): with w_k = e^{-iπk²/n}, X_k = w_k · Σ_j (x_j w_j) conj(w_{k-j}),
  // a circular convolution of smooth length m >= 2n - 1 done with three length-m transforms
  // (one of them, the chirp's, here at build time).
  size_t m_ = 0;
  std::optional<Chirp> chirp_;
  // DFT_m of conj(w) wrapped around index 0, divided by m, at bins k <= m/2: the sequence is
  // symmetric (its value at m - k is its value at k), so its DFT is too.
  std::vector<Complex> chirp_dft_;
  std::optional<ComplexFft> conv_;  // length m
};

ComplexFftPlan::ComplexFftPlan(size_t n) : n_(n) {
  assert(n > 0);
  if (n == 1) return;
  if (RoughFactorSum(n) <= kMaxRoughFactorSum) {
    direct_.emplace(n);
    return;
  }
  assert(n < (uint64_t{1} << 32));  // k² below fits in 64 bits
  m_ = NextSmooth(2 * n - 1);
  conv_.emplace(m_);
  chirp_.emplace(n);
  std::vector<Complex> wrapped(m_, Complex(0.0, 0.0));
  chirp_->ForEach([&](size_t k, Complex w) {
    wrapped[k] = std::conj(w);
    if (k > 0) wrapped[m_ - k] = wrapped[k];
  });
  conv_->Transform(wrapped.data(), wrapped.data(), Scratch(m_).get());
  const double inv_m = 1.0 / static_cast<double>(m_);
  chirp_dft_.resize(m_ / 2 + 1);
  for (size_t k = 0; k < chirp_dft_.size(); ++k) chirp_dft_[k] = wrapped[k] * inv_m;
}

void ComplexFftPlan::Transform(const Complex* in, Complex* out) const {
  if (direct_) {
    direct_->Transform(in, out, Scratch(n_).get());
  } else if (conv_) {
    Bluestein(in, out);
  } else {
    out[0] = in[0];  // n = 1: the DFT is the identity
  }
}

void ComplexFftPlan::Bluestein(const Complex* in, Complex* out) const {
  Scratch a(m_), work(m_);
  Complex* values = a.get();
  chirp_->ForEach([&](size_t j, Complex w) { values[j] = Mul(in[j], w); });
  std::fill(values + n_, values + m_, Complex(0.0, 0.0));
  conv_->Transform(values, values, work.get());
  // The inverse DFT through the forward one: idft(Y) = conj(dft(conj(Y))).
  const size_t half = chirp_dft_.size();
  for (size_t k = 0; k < half; ++k) values[k] = std::conj(Mul(values[k], chirp_dft_[k]));
  for (size_t k = half; k < m_; ++k) values[k] = std::conj(Mul(values[k], chirp_dft_[m_ - k]));
  conv_->Transform(values, values, work.get());
  chirp_->ForEach([&](size_t k, Complex w) { out[k] = Mul(w, std::conj(values[k])); });
}

size_t ComplexFftPlan::Bytes() const {
  const size_t chirps = (chirp_ ? chirp_->Bytes() : 0) + chirp_dft_.size() * sizeof(Complex);
  return (direct_ ? direct_->Bytes() : 0) + (conv_ ? conv_->Bytes() : 0) + chirps;
}

// The smallest prime factor f of an odd n whose complex transform would go through Bluestein when
// f is at most 7, else 1. Such an n is transformed as f real subsequences of length n/f, paired
// as the real and imaginary parts of (f + 1)/2 complex transforms (RealFftOddSplit): Bluestein
// over n/f instead of n, about (f + 1)/(2f) of the work, where a complex transform of n would
// spend half of it on the zero imaginary parts; the butterflies that join the subsequences cost
// f complex products per bin, which is why f stays small.
size_t OddSplitFactor(size_t n) {
  if (n % 2 == 0 || RoughFactorSum(n) <= kMaxRoughFactorSum) return 1;
  for (size_t f : {3, 5, 7}) {
    if (n % f == 0) return f;
  }
  return 1;
}
constexpr size_t kMaxOddSplit = 7;

// Everything a real transform of length n needs: for even n = 2h, a complex plan of h (the even
// and odd samples as real and imaginary parts) and the twiddles e^{-2πik/n}, k <= h/2, that
// separate the two halves; for odd n split by f (OddSplitFactor), a complex plan of n/f, the
// roots e^{-2πi·t/n} and e^{-2πi·j/f}; for other odd n, a complex plan of n applied to the real
// samples.
struct RealFftPlan {
  explicit RealFftPlan(size_t n)
      : split(OddSplitFactor(n)), complex(n % 2 == 0 ? n / 2 : n / split), roots(split > 1 ? n : 1) {
    for (size_t j = 0; j < split; ++j) split_roots[j] = UnitRoot(j, split);
    if (n % 2 != 0) return;
    twiddles.resize(n / 4 + 1);
    for (size_t k = 0; k < twiddles.size(); ++k) twiddles[k] = UnitRoot(k, n);
  }
  size_t Bytes() const { return complex.Bytes() + roots.Bytes() + twiddles.size() * sizeof(Complex); }

  size_t split;  // f, or 1
  ComplexFftPlan complex;
  UnitRootTable roots;                      // e^{-2πi·t/n} (split n)
  Complex split_roots[kMaxOddSplit] = {};  // e^{-2πi·j/f}, j < f
  std::vector<Complex> twiddles;            // even n
};

// RealFft for odd n = f·l split by f: with the subsequences s_r[q] = x_{f·q+r} (r < f, q < l)
// and P_r = DFT_l(s_r), X_{t+l·s} = Σ_r e^{-2πi·s·r/f} · e^{-2πi·t·r/n} P_r[t]: a twiddle and an
// f-point DFT per t. P_r and P_{r+1} (r even) come from one transform Z of s_r + i·s_{r+1}:
// P_r = (Z_t + conj Z_{l-t})/2, P_{r+1} = (Z_t - conj Z_{l-t})/(2i).
std::vector<Complex> RealFftOddSplit(const RealFftPlan& plan, const std::vector<double>& x) {
  const size_t f = plan.split, l = x.size() / f, n = x.size(), pairs = (f + 1) / 2;
  std::vector<Complex> z(pairs * l);
  for (size_t q = 0; q < l; ++q) {
    for (size_t r = 0; r < f; r += 2) z[r / 2 * l + q] = {x[f * q + r], r + 1 < f ? x[f * q + r + 1] : 0.0};
  }
  for (size_t p = 0; p < pairs; ++p) plan.complex.Transform(&z[p * l], &z[p * l]);
  std::vector<Complex> bins(n / 2 + 1);
  Complex v[kMaxOddSplit];
  for (size_t t = 0; t < l; ++t) {
    const size_t mirror = t == 0 ? 0 : l - t;
    const Complex w = plan.roots(t);
    Complex twiddle(1.0, 0.0);  // e^{-2πi·t·r/n}
    for (size_t r = 0; r < f; ++r) {
      const Complex zt = z[r / 2 * l + t], zc = std::conj(z[r / 2 * l + mirror]);
      const Complex sum = zt + zc, diff = zt - zc;
      const Complex part = r % 2 == 0 ? 0.5 * sum : Complex(0.5 * diff.imag(), -0.5 * diff.real());
      v[r] = Mul(twiddle, part);
      twiddle = Mul(twiddle, w);
    }
    for (size_t s = 0, k = t; s < f && k < bins.size(); ++s, k += l) {
      Complex sum = v[0];
      for (size_t r = 1; r < f; ++r) sum += Mul(plan.split_roots[s * r % f], v[r]);
      bins[k] = sum;
    }
  }
  return bins;
}

// InverseRealFft for odd n = f·l split by f, the mirror of RealFftOddSplit: with X_k for every
// k < n (X_{n-k} = conj X_k, X_0 real), y_{f·q+r} = (1/n) Σ_t Q_r[t] e^{2πi·t·q/l} where
// Q_r[t] = e^{2πi·t·r/n} Σ_s X_{t+l·s} e^{2πi·s·r/f}. Each of those l-point inverse DFTs is real,
// so Q_r + i·Q_{r+1} (r even) gives two of them at once; the inverse DFT through the forward one,
// idft(c) = conj(dft(conj c)).
std::vector<double> InverseRealFftOddSplit(const RealFftPlan& plan, const std::vector<Complex>& bins) {
  const size_t n = 2 * (bins.size() - 1) + 1, f = plan.split, l = n / f, pairs = (f + 1) / 2;
  const auto bin = [&](size_t k) {
    if (k == 0) return Complex(bins[0].real(), 0.0);
    return k < bins.size() ? bins[k] : std::conj(bins[n - k]);
  };
  std::vector<Complex> z(pairs * l);  // conj(Q_r + i·Q_{r+1})
  Complex u[kMaxOddSplit], q[kMaxOddSplit + 1];
  for (size_t t = 0; t < l; ++t) {
    for (size_t s = 0; s < f; ++s) u[s] = bin(t + l * s);
    const Complex w = std::conj(plan.roots(t));
    Complex twiddle(1.0, 0.0);  // e^{2πi·t·r/n}
    for (size_t r = 0; r < f; ++r) {
      Complex sum = u[0];
      for (size_t s = 1; s < f; ++s) sum += Mul(std::conj(plan.split_roots[s * r % f]), u[s]);
      q[r] = Mul(twiddle, sum);
      twiddle = Mul(twiddle, w);
    }
    q[f] = Complex(0.0, 0.0);
    for (size_t r = 0; r < f; r += 2) {
      z[r / 2 * l + t] = Complex(q[r].real() - q[r + 1].imag(), -(q[r].imag() + q[r + 1].real()));
    }
  }
  for (size_t p = 0; p < pairs; ++p) plan.complex.Transform(&z[p * l], &z[p * l]);
  std::vector<double> out(n);
  const double scale = 1.0 / static_cast<double>(n);
  for (size_t qi = 0; qi < l; ++qi) {
    for (size_t r = 0; r < f; r += 2) {
      const Complex c = z[r / 2 * l + qi];
      out[f * qi + r] = c.real() * scale;
      if (r + 1 < f) out[f * qi + r + 1] = -c.imag() * scale;
    }
  }
  return out;
}

// The plans of recently used lengths (the resampler repeats the same few: a station's segment
// length and its resampled length); measured, the cache halves the time of a transform pair.
// Bounded in bytes (a Bluestein plan holds half its chirp's transform, about 16 bytes per value
// transformed, 15 MB for an hour at 250 Hz; a direct one about 2 bytes per value), least recently
// used out first; a plan above the bound (kFftPlanCacheBytes, fft.h) is not kept.

std::shared_ptr<const RealFftPlan> PlanFor(size_t n) {
  static std::mutex mu;
  static std::list<std::pair<size_t, std::shared_ptr<const RealFftPlan>>> cache;  // newest first
  static size_t cached_bytes = 0;
  {
    std::lock_guard<std::mutex> lock(mu);
    for (auto it = cache.begin(); it != cache.end(); ++it) {
      if (it->first != n) continue;
      cache.splice(cache.begin(), cache, it);
      return it->second;
    }
  }
  auto plan = std::make_shared<const RealFftPlan>(n);  // built outside the lock: can take a while
  const size_t bytes = plan->Bytes();
  if (bytes > static_cast<size_t>(kFftPlanCacheBytes)) return plan;
  std::lock_guard<std::mutex> lock(mu);
  for (const auto& [length, cached] : cache) {
    if (length == n) return cached;  // another thread built it meanwhile
  }
  while (cached_bytes + bytes > static_cast<size_t>(kFftPlanCacheBytes)) {
    cached_bytes -= cache.back().second->Bytes();
    cache.pop_back();
  }
  cache.emplace_front(n, plan);
  cached_bytes += bytes;
  return plan;
}

// RealFft for even n = 2h: z_j = x_{2j} + i·x_{2j+1}, Z = DFT_h(z). The DFTs of the even and odd
// samples are E_k = (Z_k + conj Z_{h-k})/2 and O_k = (Z_k - conj Z_{h-k})/(2i), and with
// w = e^{-2πi/n}: X_k = E_k + w^k O_k and, as w^{h-k} = -conj(w^k), X_{h-k} = conj(E_k - w^k O_k).
std::vector<Complex> RealFftEven(const RealFftPlan& plan, const std::vector<double>& x) {
  const size_t h = x.size() / 2;
  std::vector<Complex> z;
  z.reserve(h + 1);  // the spectrum's n/2 + 1 bins are built in place
  z.resize(h);
  // z_j is x's memory read as complex values (std::complex<double> is laid out as double[2]).
  plan.complex.Transform(reinterpret_cast<const Complex*>(x.data()), z.data());
  // In real arithmetic (std::complex's product checks for NaN on every call): with zc = conj Z_{h-k},
  // even = (Z_k + zc)/2, odd = -i/2·(Z_k - zc), t = w^k·odd.
  for (size_t k = 1; 2 * k <= h; ++k) {
    const double zk_re = z[k].real(), zk_im = z[k].imag(), zc_re = z[h - k].real(), zc_im = -z[h - k].imag();
    const double even_re = 0.5 * (zk_re + zc_re), even_im = 0.5 * (zk_im + zc_im);
    const double odd_re = 0.5 * (zk_im - zc_im), odd_im = -0.5 * (zk_re - zc_re);
    const double w_re = plan.twiddles[k].real(), w_im = plan.twiddles[k].imag();
    const double t_re = w_re * odd_re - w_im * odd_im, t_im = w_re * odd_im + w_im * odd_re;
    z[k] = Complex(even_re + t_re, even_im + t_im);
    z[h - k] = Complex(even_re - t_re, -(even_im - t_im));
  }
  const double even0 = z[0].real(), odd0 = z[0].imag();  // E_0 and O_0 are real
  z[0] = even0 + odd0;
  z.emplace_back(even0 - odd0);  // X_h = E_0 + w^h O_0, w^h = -1
  return z;
}

// InverseRealFft for even n = 2h, undoing RealFftEven with the real parts of X_0 and X_h only:
// Z_k = 2E_k + 2i·O_k with 2E_k = X_k + conj X_{h-k} and 2O_k = (X_k - conj X_{h-k}) conj(w^k),
// Z_{h-k} = conj(2E_k) + i·conj(2O_k); z = idft_h(Z) / n, the idft as conj(dft(conj Z)).
std::vector<double> InverseRealFftEven(const RealFftPlan& plan, const std::vector<Complex>& bins) {
  const size_t h = bins.size() - 1;
  std::vector<Complex> z(h);  // conj Z
  const double x0 = bins[0].real(), xh = bins[h].real();
  z[0] = Complex(x0 + xh, xh - x0);
  // In real arithmetic, as RealFftEven: with xc = conj X_{h-k}, even = X_k + xc and
  // odd = (X_k - xc)·conj(w^k).
  for (size_t k = 1; 2 * k <= h; ++k) {
    const double xk_re = bins[k].real(), xk_im = bins[k].imag();
    const double xc_re = bins[h - k].real(), xc_im = -bins[h - k].imag();
    const double even_re = xk_re + xc_re, even_im = xk_im + xc_im;
    const double d_re = xk_re - xc_re, d_im = xk_im - xc_im;
    const double w_re = plan.twiddles[k].real(), w_im = -plan.twiddles[k].imag();
    const double odd_re = d_re * w_re - d_im * w_im, odd_im = d_re * w_im + d_im * w_re;
    z[k] = Complex(even_re - odd_im, -even_im - odd_re);      // conj(even + i·odd)
    z[h - k] = Complex(even_re + odd_im, even_im - odd_re);  // even - i·odd
  }
  std::vector<double> out(2 * h);
  plan.complex.Transform(z.data(), reinterpret_cast<Complex*>(out.data()));
  const double scale = 1.0 / static_cast<double>(2 * h);
  for (size_t j = 0; j < h; ++j) {
    out[2 * j] *= scale;
    out[2 * j + 1] *= -scale;  // the imaginary part of conj(z_j)
  }
  return out;
}

}  // namespace

std::vector<std::complex<double>> RealFft(const std::vector<double>& samples) {
  const size_t n = samples.size();
  assert(n > 0);
  std::shared_ptr<const RealFftPlan> plan = PlanFor(n);
  if (n % 2 == 0) return RealFftEven(*plan, samples);
  if (plan->split > 1) return RealFftOddSplit(*plan, samples);
  std::vector<Complex> spectrum(samples.begin(), samples.end());
  plan->complex.Transform(spectrum.data(), spectrum.data());
  spectrum.resize(n / 2 + 1);
  return spectrum;
}

std::vector<double> InverseRealFft(const std::vector<std::complex<double>>& spectrum, int64_t n) {
  assert(n > 0 && static_cast<int64_t>(spectrum.size()) == n / 2 + 1);
  const size_t size = static_cast<size_t>(n);
  std::shared_ptr<const RealFftPlan> plan = PlanFor(size);
  if (size % 2 == 0) return InverseRealFftEven(*plan, spectrum);
  if (plan->split > 1) return InverseRealFftOddSplit(*plan, spectrum);
  // Odd n: the whole Hermitian spectrum, conjugated so that the forward DFT gives n times the
  // signal; bin 0 contributes its real part only.
  std::vector<Complex> full(size);
  full[0] = spectrum[0].real();
  for (size_t k = 1; k < spectrum.size(); ++k) {
    full[k] = std::conj(spectrum[k]);
    full[size - k] = spectrum[k];
  }
  plan->complex.Transform(full.data(), full.data());
  std::vector<double> out(size);
  for (size_t j = 0; j < size; ++j) out[j] = full[j].real() / static_cast<double>(n);
  return out;
}

}  // namespace rapid
