// The FFT of dsp/fft.h: RAPID's mixed-radix transform (dsp/complex_fft.h) for lengths whose prime
// factors are small (2, 3, 5, and others summing to at most 128), Bluestein's chirp-z algorithm (a
// convolution of a 2,3,5-smooth length) for lengths with a larger prime factor, and the usual
// half-length complex transform for real data of even length. Plans are cached per length
// (building one costs about as much as a transform).
#include "dsp/fft.h"

#include "dsp/complex_fft.h"


#include <cassert>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>

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
  std::vector<Complex> chirp_;      // w_k, k < n
  std::vector<Complex> chirp_dft_;  // DFT_m of conj(w) wrapped around index 0, divided by m
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
  chirp_.resize(n);
  // k² mod 2n keeps the chirp's angle exact in integers.
  for (uint64_t k = 0; k < n; ++k) chirp_[k] = UnitRoot(k * k % (2 * n), 2 * n);
  chirp_dft_.assign(m_, Complex(0.0, 0.0));
  for (size_t k = 0; k < n; ++k) {
    chirp_dft_[k] = std::conj(chirp_[k]);
    if (k > 0) chirp_dft_[m_ - k] = chirp_dft_[k];
  }
  conv_->Transform(chirp_dft_.data(), chirp_dft_.data(), Scratch(m_).get());
  const double inv_m = 1.0 / static_cast<double>(m_);
  for (Complex& c : chirp_dft_) c *= inv_m;
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
  std::vector<Complex> a(m_, Complex(0.0, 0.0));
  Scratch work(m_);
  for (size_t j = 0; j < n_; ++j) a[j] = in[j] * chirp_[j];
  conv_->Transform(a.data(), a.data(), work.get());
  // The inverse DFT through the forward one: idft(Y) = conj(dft(conj(Y))).
  for (size_t k = 0; k < m_; ++k) a[k] = std::conj(a[k] * chirp_dft_[k]);
  conv_->Transform(a.data(), a.data(), work.get());
  for (size_t k = 0; k < n_; ++k) out[k] = chirp_[k] * std::conj(a[k]);
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
// Bounded in bytes (a Bluestein plan holds chirps of about 48 bytes per complex value, 22 MB for
// an hour at 250 Hz; a direct one about 2 bytes per value), least recently used out first; a plan
// above the bound is not kept.
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
