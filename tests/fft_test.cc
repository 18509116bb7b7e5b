// RealFft and InverseRealFft (src/dsp/fft.cc) against a naive DFT summed in long double, for every
// length up to 64, 2,3,5-smooth lengths, lengths whose factors above 5 sum to at most 128 (direct,
// with generic butterflies for those factors), primes and other lengths past that bound
// (Bluestein), and even lengths whose half is prime (Bluestein under the half-length real
// transform).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <complex>
#include <numbers>
#include <random>
#include <thread>
#include <vector>

#include "dsp/column_fft.h"
#include "dsp/fft.h"

namespace rapid {
namespace {

using Bins = std::vector<std::complex<double>>;

// Errors are measured relative to the l2 norm of the signal (forward) or of the exact output
// (inverse). Double-precision FFTs of these lengths stay below 5e-15 (measured); a wrong twiddle,
// chirp or index gives errors of order 1.
constexpr double kTolerance = 1e-13;

std::vector<double> RandomSignal(int64_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> uniform(-1.0, 1.0);
  std::vector<double> x(static_cast<size_t>(n));
  for (double& v : x) v = uniform(rng);
  return x;
}

double Norm(const std::vector<double>& x) {
  long double sum = 0.0L;
  for (double v : x) sum += static_cast<long double>(v) * v;
  return static_cast<double>(std::sqrt(sum));
}

// cos and sin of 2πr/n for r < n, in long double: the naive DFT's twiddles, indexed by jk mod n.
struct UnitCircle {
  explicit UnitCircle(int64_t n) : cos(static_cast<size_t>(n)), sin(static_cast<size_t>(n)) {
    const long double pi = std::numbers::pi_v<long double>;
    for (int64_t r = 0; r < n; ++r) {
      cos[static_cast<size_t>(r)] = std::cos(2.0L * pi * static_cast<long double>(r) / static_cast<long double>(n));
      sin[static_cast<size_t>(r)] = std::sin(2.0L * pi * static_cast<long double>(r) / static_cast<long double>(n));
    }
  }
  std::vector<long double> cos, sin;
};

// Σ_j x_j e^{-2πi jk/n}, in long double.
std::complex<long double> NaiveBin(const std::vector<double>& x, const UnitCircle& unit, int64_t k) {
  const int64_t n = static_cast<int64_t>(x.size());
  long double re = 0.0L, im = 0.0L;
  for (int64_t j = 0; j < n; ++j) {
    const size_t r = static_cast<size_t>(j * k % n);
    re += x[static_cast<size_t>(j)] * unit.cos[r];
    im -= x[static_cast<size_t>(j)] * unit.sin[r];
  }
  return {re, im};
}

// Checks RealFft(x) at the given bins against NaiveBin.
void ExpectForwardMatchesNaive(const std::vector<double>& x, const std::vector<int64_t>& bins) {
  const int64_t n = static_cast<int64_t>(x.size());
  const Bins spectrum = RealFft(x);
  ASSERT_EQ(spectrum.size(), static_cast<size_t>(n / 2 + 1)) << "n=" << n;
  const UnitCircle unit(n);
  const double bound = kTolerance * Norm(x);
  for (int64_t k : bins) {
    const std::complex<long double> exact = NaiveBin(x, unit, k);
    const std::complex<double> got = spectrum[static_cast<size_t>(k)];
    ASSERT_NEAR(got.real(), static_cast<double>(exact.real()), bound) << "n=" << n << " k=" << k;
    ASSERT_NEAR(got.imag(), static_cast<double>(exact.imag()), bound) << "n=" << n << " k=" << k;
  }
}

std::vector<int64_t> AllBins(int64_t n) {
  std::vector<int64_t> bins;
  for (int64_t k = 0; k <= n / 2; ++k) bins.push_back(k);
  return bins;
}

// x_j = (1/n) Σ_{k <= n/2} c_k Re(X_k e^{2πi jk/n}) with c_k = 2, except c_0 = 1 and, for even n,
// c_{n/2} = 1; of those two bins only the real parts count.
std::vector<double> NaiveInverse(const Bins& bins, int64_t n) {
  const UnitCircle unit(n);
  std::vector<double> x(static_cast<size_t>(n));
  for (int64_t j = 0; j < n; ++j) {
    long double sum = bins[0].real();
    for (int64_t k = 1; k <= n / 2; ++k) {
      const size_t r = static_cast<size_t>(j * k % n);
      const std::complex<double> b = bins[static_cast<size_t>(k)];
      if (2 * k == n) {
        sum += b.real() * unit.cos[r];
      } else {
        sum += 2.0L * (b.real() * unit.cos[r] - b.imag() * unit.sin[r]);
      }
    }
    x[static_cast<size_t>(j)] = static_cast<double>(sum / static_cast<long double>(n));
  }
  return x;
}

// InverseRealFft of random bins (imaginary parts of bin 0 and Nyquist included) against NaiveInverse.
void ExpectInverseMatchesNaive(int64_t n, uint64_t seed) {
  std::vector<double> parts = RandomSignal(2 * (n / 2 + 1), seed);
  Bins bins(static_cast<size_t>(n / 2 + 1));
  for (size_t k = 0; k < bins.size(); ++k) bins[k] = {parts[2 * k], parts[2 * k + 1]};
  const std::vector<double> got = InverseRealFft(bins, n);
  const std::vector<double> exact = NaiveInverse(bins, n);
  ASSERT_EQ(got.size(), exact.size()) << "n=" << n;
  const double bound = kTolerance * Norm(exact);
  for (size_t j = 0; j < got.size(); ++j) ASSERT_NEAR(got[j], exact[j], bound) << "n=" << n << " j=" << j;
}

void ExpectRoundTrip(const std::vector<double>& x) {
  const int64_t n = static_cast<int64_t>(x.size());
  const std::vector<double> y = InverseRealFft(RealFft(x), n);
  ASSERT_EQ(y.size(), x.size()) << "n=" << n;
  const double bound = kTolerance * Norm(x);
  for (size_t j = 0; j < x.size(); ++j) ASSERT_NEAR(y[j], x[j], bound) << "n=" << n << " j=" << j;
}

TEST(FftTest, EveryLengthUpTo64MatchesNaiveDft) {
  for (int64_t n = 1; n <= 64; ++n) {
    const std::vector<double> x = RandomSignal(n, static_cast<uint64_t>(n));
    ExpectForwardMatchesNaive(x, AllBins(n));
    ExpectInverseMatchesNaive(n, static_cast<uint64_t>(1000 + n));
    ExpectRoundTrip(x);
  }
}

TEST(FftTest, PrimeAndPrimeTimesTwoLengthsMatchNaiveDft) {
  // Primes above 128 go through Bluestein, 97 and 101 through one generic butterfly; twice a prime
  // through either under the half-length transform.
  for (int64_t n : {97, 101, 997, 2999, 3001, 7919, 2 * 3001, 2 * 7919}) {
    const std::vector<double> x = RandomSignal(n, static_cast<uint64_t>(n));
    ExpectForwardMatchesNaive(x, AllBins(n));
    ExpectInverseMatchesNaive(n, static_cast<uint64_t>(1000 + n));
    ExpectRoundTrip(x);
  }
}

TEST(FftTest, SmoothLengthsMatchNaiveDft) {
  for (int64_t n : {3000, 4096, 6000, 3375}) {
    const std::vector<double> x = RandomSignal(n, static_cast<uint64_t>(n));
    ExpectForwardMatchesNaive(x, AllBins(n));
    ExpectInverseMatchesNaive(n, static_cast<uint64_t>(1000 + n));
    ExpectRoundTrip(x);
  }
}

TEST(FftTest, LengthsWithSmallOddFactorsMatchNaiveDft) {
  // Generic butterflies (factors above 5 summing to at most 128): 1155 = 3·5·7·11,
  // 2464 = 2·(2^4·7·11), 3712 = 2·(2^6·29), 8174 = 2·(61·67) at the bound; 8378 = 2·(59·71) is
  // just past it (Bluestein).
  for (int64_t n : {1155, 2464, 3712, 8174, 8378}) {
    const std::vector<double> x = RandomSignal(n, static_cast<uint64_t>(n));
    ExpectForwardMatchesNaive(x, AllBins(n));
    ExpectInverseMatchesNaive(n, static_cast<uint64_t>(1000 + n));
    ExpectRoundTrip(x);
  }
}

TEST(FftTest, OddLengthsSplitBySmallFactorMatchNaiveDft) {
  // Odd lengths with a factor 3, 5 or 7 and a large prime go through f real subsequences paired
  // into (f + 1)/2 complex transforms: 3027 = 3·1009, 5045 = 5·1009, 7063 = 7·1009 (Bluestein
  // subsequences), 3·3·5·7·131 = 41265 (f = 3, its subsequence 13755 Bluestein too), 3·131 = 393
  // (the sum of factors just past the bound); 1009·1013 has none of the small factors.
  for (int64_t n : {393, 3027, 5045, 7063, 1009 * 1013}) {
    const std::vector<double> x = RandomSignal(n, static_cast<uint64_t>(n));
    ExpectForwardMatchesNaive(x, n < 10000 ? AllBins(n) : std::vector<int64_t>{0, 1, 2, 1009, n / 3, n / 2});
    if (n < 10000) ExpectInverseMatchesNaive(n, static_cast<uint64_t>(1000 + n));
    ExpectRoundTrip(x);
  }
  const int64_t n = 41265;
  const std::vector<double> x = RandomSignal(n, 7);
  std::vector<int64_t> bins = {0, 1, 2, 3, 7, 13754, 13755, 13756, n / 2 - 1, n / 2};
  for (int64_t k = 100; k < n / 2; k += 997) bins.push_back(k);
  ExpectForwardMatchesNaive(x, bins);
  ExpectRoundTrip(x);
}

TEST(FftTest, LongLengthsMatchNaiveDftOnSampledBins) {
  // 144000: an hour at 40 Hz (smooth); 144001 (= 11·13·19·53, odd, four generic butterflies) and
  // 144038 (= 2·72019, prime half, Bluestein): lengths a gap or a late record give;
  // 504000 = 2·(2^5·3^2·5^3·7): a long half with a generic butterfly.
  for (int64_t n : {144000, 144001, 144038, 504000}) {
    const std::vector<double> x = RandomSignal(n, static_cast<uint64_t>(n));
    std::vector<int64_t> bins = {0, 1, 2, 3, 7, 100, 1234, n / 4, n / 3, n / 2 - 1, n / 2};
    std::mt19937_64 rng(static_cast<uint64_t>(n));
    for (int i = 0; i < 20; ++i) bins.push_back(static_cast<int64_t>(rng() % static_cast<uint64_t>(n / 2 + 1)));
    ExpectForwardMatchesNaive(x, bins);
    ExpectRoundTrip(x);
  }
}

TEST(FftTest, InverseIgnoresImaginaryPartsOfZeroAndNyquistBins) {
  for (int64_t n : {6, 7, 3000, 3001, 2 * 3001, 3027}) {
    Bins clean = RealFft(RandomSignal(n, static_cast<uint64_t>(n)));
    clean.front().imag(0.0);
    if (n % 2 == 0) clean.back().imag(0.0);
    Bins noisy = clean;
    noisy.front().imag(123.0);
    if (n % 2 == 0) noisy.back().imag(-45.0);
    const std::vector<double> want = InverseRealFft(clean, n);
    const std::vector<double> got = InverseRealFft(noisy, n);
    ASSERT_EQ(got.size(), want.size());
    for (size_t j = 0; j < got.size(); ++j) ASSERT_EQ(got[j], want[j]) << "n=" << n << " j=" << j;
  }
}

TEST(FftTest, ColumnFftTransformsEachColumnOnItsOwn) {
  // The building block itself, complex input, every column a different signal: lengths of one
  // pass or none (1, 4), mixed radices 2·3 and 4·4·5 (6, 80), a generic butterfly alone (97) and
  // among others (2·3·5·7 = 210).
  for (size_t rows : {1, 4, 6, 80, 97, 210}) {
    const ColumnFft fft(rows);
    std::vector<double> values(4 * rows * kFftColumns);
    const SplitBlock data{values.data(), values.data() + rows * kFftColumns};
    const SplitBlock spare{data.im + rows * kFftColumns, data.im + 2 * rows * kFftColumns};
    const std::vector<double> input = RandomSignal(static_cast<int64_t>(2 * rows * kFftColumns), rows);
    std::copy(input.begin(), input.end(), values.begin());
    const SplitBlock out = fft.Run(data, spare);
    const UnitCircle unit(static_cast<int64_t>(rows));
    for (size_t c = 0; c < kFftColumns; ++c) {
      long double norm = 0.0L;
      for (size_t j = 0; j < rows; ++j) {
        const long double a = input[j * kFftColumns + c], b = input[(rows + j) * kFftColumns + c];
        norm += a * a + b * b;
      }
      const double bound = kTolerance * static_cast<double>(std::sqrt(norm));
      for (size_t k = 0; k < rows; ++k) {
        long double re = 0.0L, im = 0.0L;  // Σ_j x_j e^{-2πi jk/rows}, x_j = a + ib
        for (size_t j = 0; j < rows; ++j) {
          const size_t r = j * k % rows;
          const long double a = input[j * kFftColumns + c], b = input[(rows + j) * kFftColumns + c];
          re += a * unit.cos[r] + b * unit.sin[r];
          im += b * unit.cos[r] - a * unit.sin[r];
        }
        ASSERT_NEAR(out.re[k * kFftColumns + c], static_cast<double>(re), bound) << rows << " rows, column " << c;
        ASSERT_NEAR(out.im[k * kFftColumns + c], static_cast<double>(im), bound) << rows << " rows, column " << c;
      }
    }
  }
}

TEST(FftTest, ConcurrentCallsGiveTheSingleThreadedResult) {
  // Lengths no other test uses, so the threads also race to build and cache their plans: Bluestein
  // (3011, 2062 = 2·1031), smooth (5000), generic butterflies (3010, 3080, 3465, 4100) and a long
  // transform with a generic butterfly (2·7·2^15).
  const std::vector<int64_t> lengths = {3010, 3011, 2062, 4100, 5000, 3080, 3465, 458752};
  constexpr size_t kThreads = 4;
  std::vector<std::vector<Bins>> got(kThreads, std::vector<Bins>(lengths.size()));
  std::vector<std::thread> threads;
  for (size_t t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (size_t i = 0; i < lengths.size(); ++i) got[t][i] = RealFft(RandomSignal(lengths[i], 7));
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (size_t i = 0; i < lengths.size(); ++i) {
    const std::vector<double> x = RandomSignal(lengths[i], 7);
    ExpectForwardMatchesNaive(x, {0, 1, 17, lengths[i] / 3, lengths[i] / 2});
    const Bins want = RealFft(x);
    for (size_t t = 0; t < kThreads; ++t) EXPECT_EQ(got[t][i], want) << "n=" << lengths[i] << " thread " << t;
  }
}

}  // namespace
}  // namespace rapid
