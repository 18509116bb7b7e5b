// The FFT of dsp/fft.h: KissFFT's header-only C++ template in double for lengths whose prime
// factors are small (2, 3, 5 and a few others), Bluestein's chirp-z algorithm (a convolution of a
// 2,3,5-smooth length) for lengths with a large prime factor, and the usual half-length complex
// transform for real data of even length. Plans are cached per length (building one costs about
// as much as a transform).
#include "dsp/fft.h"

#include <kissfft/kissfft.hh>

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <numbers>
#include <optional>
#include <utility>

namespace rapid {

namespace {

using Complex = std::complex<double>;

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

// The sum of n's prime factors above 5, with multiplicity (0 for smooth n). KissFFT has butterflies
// for 2, 3, 4 and 5; each other prime factor p costs a generic O(n·p) stage.
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

// KissFFT transforms a length directly when its factors above 5 sum to at most this, Bluestein
// otherwise. Measured on complex lengths of 40 000 to 600 000: direct is 2.6 to 3.6 times faster
// than Bluestein at a sum of 7, about 2 times at 11 to 18, 1.1 to 1.6 times at 23; from 31 to 43
// either wins by up to 30 %, from 53 on Bluestein is faster.
constexpr size_t kMaxRoughFactorSum = 23;

// KissFft's length above which it splits a transform in two (2 MiB of values; measured, KissFFT
// alone is as fast below and up to 1.7 times slower above).
constexpr size_t kSplitAbove = size_t{1} << 17;

// e^{-2πi·num/den}, with num reduced modulo den first so the angle stays within one turn.
Complex UnitRoot(uint64_t num, uint64_t den) {
  const double turns = static_cast<double>(num % den) / static_cast<double>(den);
  return std::polar(1.0, -2.0 * std::numbers::pi * turns);
}

// The forward DFT of a length n > 1 with RoughFactorSum(n) <= kMaxRoughFactorSum, with KissFFT.
// Long transforms are split as n = n1·n2 (the "four-step" algorithm): n2 transforms of length n1
// over the strided columns, a twiddle, then n1 transforms of length n2 over the rows; KissFFT's
// own recursion over a long array misses the cache at every stage, the short transforms do not.
// Immutable once built, so one plan serves several threads at once: KissFFT's const transform
// touches nothing but its arguments, except that its generic butterfly (a factor above 5) writes
// a scratch buffer inside the plan; such plans are copied for each call.
class KissFft {
 public:
  explicit KissFft(size_t n);

  // Replaces data[0..n) by Σ_j data[j] e^{-2πi jk/n}, using work[0..n) as scratch.
  void Transform(Complex* data, Complex* work) const;
  size_t Bytes() const { return (whole_ ? n_ : n1_ + n2_ + twiddles_.size()) * sizeof(Complex); }

 private:
  size_t n_, n1_ = 0, n2_ = 0;
  bool private_copies_;  // a factor above 5: each call transforms with its own copy of the plans
  std::optional<kissfft<double>> whole_, columns_, rows_;
  std::vector<Complex> twiddles_;  // e^{-2πi·j2·k1/n} at j2·n1 + k1
};

KissFft::KissFft(size_t n) : n_(n), private_copies_(!IsSmooth(n)) {
  assert(n > 1 && RoughFactorSum(n) <= kMaxRoughFactorSum);
  if (n <= kSplitAbove) {
    whole_.emplace(n, /*inverse=*/false);
    return;
  }
  n1_ = static_cast<size_t>(std::sqrt(static_cast<double>(n)));
  while (n % n1_ != 0) --n1_;
  n2_ = n / n1_;
  columns_.emplace(n1_, /*inverse=*/false);
  rows_.emplace(n2_, /*inverse=*/false);
  twiddles_.resize(n);
  for (size_t j2 = 0; j2 < n2_; ++j2) {
    for (size_t k1 = 0; k1 < n1_; ++k1) twiddles_[j2 * n1_ + k1] = UnitRoot(uint64_t{j2} * k1, n);
  }
}

// With j = n2·j1 + j2 and k = k1 + n1·k2:
// X[k] = Σ_j2 e^{-2πi j2 k2/n2} · e^{-2πi j2 k1/n} · Σ_j1 x[n2·j1 + j2] e^{-2πi j1 k1/n1}.
void KissFft::Transform(Complex* data, Complex* work) const {
  std::optional<kissfft<double>> own_whole, own_columns, own_rows;
  if (whole_) {
    const kissfft<double>& whole = private_copies_ ? own_whole.emplace(*whole_) : *whole_;
    whole.transform(data, work);
    std::copy(work, work + n_, data);
    return;
  }
  const kissfft<double>& columns = private_copies_ ? own_columns.emplace(*columns_) : *columns_;
  const kissfft<double>& rows = private_copies_ ? own_rows.emplace(*rows_) : *rows_;
  std::vector<Complex> column(n1_), row(n2_);
  for (size_t j2 = 0; j2 < n2_; ++j2) {  // work[k1·n2 + j2]: the twiddled column transforms
    columns.transform(data + j2, column.data(), 0, 1, /*in_stride=*/n2_);
    const Complex* twiddle = &twiddles_[j2 * n1_];
    for (size_t k1 = 0; k1 < n1_; ++k1) work[k1 * n2_ + j2] = column[k1] * twiddle[k1];
  }
  for (size_t k1 = 0; k1 < n1_; ++k1) {
    rows.transform(work + k1 * n2_, row.data());
    for (size_t k2 = 0; k2 < n2_; ++k2) data[k1 + n1_ * k2] = row[k2];
  }
}

// The forward DFT of any length n >= 1: KissFft where its factors allow, Bluestein otherwise.
// Immutable once built, like KissFft.
class ComplexFftPlan {
 public:
  explicit ComplexFftPlan(size_t n);

  // Replaces the n values of *data by Σ_j data[j] e^{-2πi jk/n}.
  void Transform(std::vector<Complex>* data) const;
  size_t Bytes() const;

 private:
  void Bluestein(std::vector<Complex>* data) const;

  size_t n_;
  std::optional<KissFft> direct_;  // n > 1 with small factors
  // Bluestein (other n): with w_k = e^{-iπk²/n}, X_k = w_k · Σ_j (x_j w_j) conj(w_{k-j}),
  // a circular convolution of smooth length m >= 2n - 1 done with three length-m transforms
  // (one of them, the chirp's, here at build time).
  size_t m_ = 0;
  std::vector<Complex> chirp_;      // w_k, k < n
  std::vector<Complex> chirp_dft_;  // DFT_m of conj(w) wrapped around index 0, divided by m
  std::optional<KissFft> conv_;    // length m
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
  chirp_.resize(n);
  // k² mod 2n keeps the chirp's angle exact in integers.
  for (uint64_t k = 0; k < n; ++k) chirp_[k] = UnitRoot(k * k % (2 * n), 2 * n);
  chirp_dft_.assign(m_, Complex(0.0, 0.0));
  for (size_t k = 0; k < n; ++k) {
    chirp_dft_[k] = std::conj(chirp_[k]);
    if (k > 0) chirp_dft_[m_ - k] = chirp_dft_[k];
  }
  std::vector<Complex> work(m_);
  conv_->Transform(chirp_dft_.data(), work.data());
  const double inv_m = 1.0 / static_cast<double>(m_);
  for (Complex& c : chirp_dft_) c *= inv_m;
}

void ComplexFftPlan::Transform(std::vector<Complex>* data) const {
  assert(data->size() == n_);
  if (direct_) {
    std::vector<Complex> work(n_);
    direct_->Transform(data->data(), work.data());
  } else if (conv_) {
    Bluestein(data);
  }  // n = 1: the DFT is the identity
}

void ComplexFftPlan::Bluestein(std::vector<Complex>* data) const {
  std::vector<Complex> a(m_, Complex(0.0, 0.0)), work(m_);
  for (size_t j = 0; j < n_; ++j) a[j] = (*data)[j] * chirp_[j];
  conv_->Transform(a.data(), work.data());
  // The inverse DFT through the forward one: idft(Y) = conj(dft(conj(Y))).
  for (size_t k = 0; k < m_; ++k) a[k] = std::conj(a[k] * chirp_dft_[k]);
  conv_->Transform(a.data(), work.data());
  for (size_t k = 0; k < n_; ++k) (*data)[k] = chirp_[k] * std::conj(a[k]);
}

size_t ComplexFftPlan::Bytes() const {
  const size_t chirps = (chirp_.size() + chirp_dft_.size()) * sizeof(Complex);
  return (direct_ ? direct_->Bytes() : 0) + (conv_ ? conv_->Bytes() : 0) + chirps;
}

// Everything a real transform of length n needs: for even n = 2h, a complex plan of h (the even
// and odd samples as real and imaginary parts) and the twiddles e^{-2πik/n}, k <= h/2, that
// separate the two halves; for odd n, a complex plan of n applied to the real samples.
struct RealFftPlan {
  explicit RealFftPlan(size_t n) : complex(n % 2 == 0 ? n / 2 : n) {
    if (n % 2 != 0) return;
    twiddles.resize(n / 4 + 1);
    for (size_t k = 0; k < twiddles.size(); ++k) twiddles[k] = UnitRoot(k, n);
  }
  size_t Bytes() const { return complex.Bytes() + twiddles.size() * sizeof(Complex); }

  ComplexFftPlan complex;
  std::vector<Complex> twiddles;
};

// The plans of recently used lengths (the resampler repeats the same few: a station's segment
// length and its resampled length); measured, the cache halves the time of a transform pair.
// Bounded in bytes (room for the Bluestein plan of an hour at 250 Hz, about 73 MB, or dozens of
// smaller ones), least recently used out first; a plan above the bound is not kept.
constexpr size_t kPlanCacheBytes = size_t{128} << 20;

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
  if (bytes > kPlanCacheBytes) return plan;
  std::lock_guard<std::mutex> lock(mu);
  for (const auto& [length, cached] : cache) {
    if (length == n) return cached;  // another thread built it meanwhile
  }
  while (cached_bytes + bytes > kPlanCacheBytes) {
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
  for (size_t j = 0; j < h; ++j) z.emplace_back(x[2 * j], x[2 * j + 1]);
  plan.complex.Transform(&z);
  for (size_t k = 1; 2 * k <= h; ++k) {
    const Complex zk = z[k], zc = std::conj(z[h - k]);
    const Complex even = 0.5 * (zk + zc), odd = Complex(0.0, -0.5) * (zk - zc);
    z[k] = even + plan.twiddles[k] * odd;
    z[h - k] = std::conj(even - plan.twiddles[k] * odd);
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
  for (size_t k = 1; 2 * k <= h; ++k) {
    const Complex xk = bins[k], xc = std::conj(bins[h - k]);
    const Complex even = xk + xc, odd = (xk - xc) * std::conj(plan.twiddles[k]);
    z[k] = Complex(even.real() - odd.imag(), -even.imag() - odd.real());  // conj(even + i·odd)
    z[h - k] = Complex(even.real() + odd.imag(), even.imag() - odd.real());  // even - i·odd
  }
  plan.complex.Transform(&z);
  const double scale = 1.0 / static_cast<double>(2 * h);
  std::vector<double> out(2 * h);
  for (size_t j = 0; j < h; ++j) {
    out[2 * j] = z[j].real() * scale;
    out[2 * j + 1] = -z[j].imag() * scale;  // the imaginary part of conj(z_j)
  }
  return out;
}

}  // namespace

std::vector<std::complex<double>> RealFft(const std::vector<double>& samples) {
  const size_t n = samples.size();
  assert(n > 0);
  std::shared_ptr<const RealFftPlan> plan = PlanFor(n);
  if (n % 2 == 0) return RealFftEven(*plan, samples);
  std::vector<Complex> spectrum(samples.begin(), samples.end());
  plan->complex.Transform(&spectrum);
  spectrum.resize(n / 2 + 1);
  return spectrum;
}

std::vector<double> InverseRealFft(const std::vector<std::complex<double>>& spectrum, int64_t n) {
  assert(n > 0 && static_cast<int64_t>(spectrum.size()) == n / 2 + 1);
  const size_t size = static_cast<size_t>(n);
  std::shared_ptr<const RealFftPlan> plan = PlanFor(size);
  if (size % 2 == 0) return InverseRealFftEven(*plan, spectrum);
  // Odd n: the whole Hermitian spectrum, conjugated so that the forward DFT gives n times the
  // signal; bin 0 contributes its real part only.
  std::vector<Complex> full(size);
  full[0] = spectrum[0].real();
  for (size_t k = 1; k < spectrum.size(); ++k) {
    full[k] = std::conj(spectrum[k]);
    full[size - k] = spectrum[k];
  }
  plan->complex.Transform(&full);
  std::vector<double> out(size);
  for (size_t j = 0; j < size; ++j) out[j] = full[j].real() / static_cast<double>(n);
  return out;
}

}  // namespace rapid
