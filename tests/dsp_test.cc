// Butterworth design and resampling against independent references: scipy's published
// butter(4, 0.5) coefficients, analytic sinusoids, and the length rules of ObsPy's resample.
#include <gtest/gtest.h>
#include <malloc.h>

#include <cmath>
#include <complex>
#include <cstdio>
#include <fstream>
#include <numbers>
#include <random>
#include <string>

#include "core/allocator.h"
#include "dsp/butterworth.h"
#include "dsp/fft.h"
#include "dsp/resample.h"
#include "test_util.h"

namespace rapid {
namespace {

constexpr double kPi = std::numbers::pi;

// Multiplies the sections into one transfer function (b, a).
void Expand(const std::vector<Biquad>& sections, std::vector<double>* b, std::vector<double>* a) {
  *b = {1.0};
  *a = {1.0};
  for (const Biquad& s : sections) {
    std::vector<double> nb(b->size() + 2, 0.0), na(a->size() + 2, 0.0);
    const double sb[3] = {s.b0, s.b1, s.b2}, sa[3] = {1.0, s.a1, s.a2};
    for (size_t i = 0; i < b->size(); ++i)
      for (int j = 0; j < 3; ++j) nb[i + j] += (*b)[i] * sb[j], na[i + j] += (*a)[i] * sa[j];
    *b = nb;
    *a = na;
  }
}

TEST(ButterworthTest, MatchesScipyButter4HalfNyquist) {
  // scipy.signal.butter(4, 0.5): the textbook 4th-order half-band low-pass.
  const double kB[5] = {0.0939808514, 0.3759234057, 0.5638851086, 0.3759234057, 0.0939808514};
  const double kA[5] = {1.0, 0.0, 0.4860288220, 0.0, 0.0176648009};
  std::vector<double> b, a;
  Expand(DesignButterworthLowpass(4, 50.0, 200.0), &b, &a);
  ASSERT_EQ(b.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_NEAR(b[i], kB[i], 1e-9) << i;
    EXPECT_NEAR(a[i], kA[i], 1e-9) << i;
  }
}

TEST(ButterworthTest, ZeroPhaseKeepsLowFrequencyAndKillsHighFrequency) {
  const double rate = 250.0;
  std::vector<double> x(5000);
  for (size_t i = 0; i < x.size(); ++i) {
    double t = static_cast<double>(i) / rate;
    x[i] = std::sin(2 * kPi * 2.0 * t) + std::sin(2 * kPi * 100.0 * t);
  }
  FilterSectionsZeroPhase(DesignButterworthLowpass(4, 50.0, rate), &x);
  double worst = 0.0;
  for (size_t i = 1000; i < 4000; ++i) {  // away from the edges
    double t = static_cast<double>(i) / rate;
    worst = std::max(worst, std::abs(x[i] - std::sin(2 * kPi * 2.0 * t)));
  }
  // 2 Hz passes untouched and in phase; 100 Hz (2× cutoff) is down by |H|^2 = 1/(1+2^8)^1 ≈ 0.004.
  EXPECT_LT(worst, 5e-3);
}

TEST(ButterworthTest, SeveralSignalsAtOnceEqualEachFilteredAlone) {
  // Lengths unequal (right-aligned in the lanes), 1 to 17 signals (one group, a full group of 8,
  // groups plus a single one left), a band-pass of four sections and a low-pass of two; the rows
  // where every lane has begun a multiple of the four read at a time, and three past one.
  const std::vector<std::vector<Biquad>> filters = {DesignButterworthLowpass(4, 50.0, 200.0),
                                                    DesignButterworthBandpass(4, 1.0, 20.0, 100.0)};
  for (const std::vector<Biquad>& sections : filters) {
    for (size_t count : {1, 2, 8, 9, 17}) {
      for (size_t shortest : {500, 503}) {
        std::vector<std::vector<double>> signals(count), alone(count);
        std::vector<std::vector<double>*> pointers;
        for (size_t s = 0; s < count; ++s) {
          signals[s].resize(shortest + 37 * s);
          for (size_t i = 0; i < signals[s].size(); ++i) signals[s][i] = std::sin(0.01 * (s + 1) * i) + 1e-3 * i;
          alone[s] = signals[s];
          FilterSectionsZeroPhase(sections, &alone[s]);
          pointers.push_back(&signals[s]);
        }
        FilterSectionsZeroPhase(sections, pointers);
        for (size_t s = 0; s < count; ++s) {
          EXPECT_EQ(signals[s], alone[s]) << count << " signals, signal " << s << ", shortest " << shortest;
        }
      }
    }
  }
}

TEST(FftTest, RoundTripAnyLength) {
  for (int64_t n : {1, 2, 7, 1000, 18001, 45001}) {
    std::vector<double> x(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) x[static_cast<size_t>(i)] = std::sin(0.37 * static_cast<double>(i)) + 0.1 * i;
    std::vector<double> y = InverseRealFft(RealFft(x), n);
    ASSERT_EQ(y.size(), x.size());
    for (int64_t i = 0; i < n; ++i) ASSERT_NEAR(y[static_cast<size_t>(i)], x[static_cast<size_t>(i)], 1e-6 * (1 + 0.1 * i));
  }
}

TEST(ResampleTest, ChoosesSeisBenchRule) {
  EXPECT_EQ(ChooseResampleMethod(100, 100), ResampleMethod::kNone);
  EXPECT_EQ(ChooseResampleMethod(200, 100), ResampleMethod::kDecimate);
  EXPECT_EQ(ChooseResampleMethod(500, 100), ResampleMethod::kDecimate);
  EXPECT_EQ(ChooseResampleMethod(250, 100), ResampleMethod::kFourier);
  EXPECT_EQ(ChooseResampleMethod(40, 100), ResampleMethod::kFourier);
  EXPECT_EQ(ChooseResampleMethod(50, 100), ResampleMethod::kFourier);
}

TEST(ResampleTest, FourierLengthFollowsObspyTruncation) {
  EXPECT_EQ(FourierResampledLength(45001, 250, 100), 18000);  // int(45001 / 2.5)
  EXPECT_EQ(FourierResampledLength(7201, 40, 100), 18002);    // int(7201 / 0.4)
  EXPECT_EQ(FourierResampledLength(3, 40, 100), 7);
}

// ObsPy's Fourier resampling tapers the spectrum with a Hann window centred on 0 Hz, so a sinusoid
// at bin k of n comes out scaled by 0.5 + 0.5 cos(2πk/n); decimation keeps it (up to the
// Butterworth's ~1 in the pass band).
void ExpectSinusoidAfterResample(double from_hz, double to_hz, size_t n_in) {
  const double f = 1.5;  // Hz, far below every Nyquist involved
  double gain = 1.0;
  if (ChooseResampleMethod(from_hz, to_hz) == ResampleMethod::kFourier) {
    const double k = f * static_cast<double>(n_in) / from_hz;
    gain = 0.5 + 0.5 * std::cos(2 * kPi * k / static_cast<double>(n_in));
  }
  std::vector<double> x(n_in);
  for (size_t i = 0; i < n_in; ++i) x[i] = 1000.0 * std::cos(2 * kPi * f * static_cast<double>(i) / from_hz);
  ASSERT_TRUE(ResampleSegment(from_hz, to_hz, &x).ok());
  double worst = 0.0;
  for (size_t i = x.size() / 4; i < 3 * x.size() / 4; ++i) {
    worst = std::max(worst, std::abs(x[i] - gain * 1000.0 * std::cos(2 * kPi * f * static_cast<double>(i) / to_hz)));
  }
  EXPECT_LT(worst, 0.01) << from_hz << " -> " << to_hz;  // 1e-5 of the amplitude
}

TEST(ResampleTest, DecimateKeepsStartAndWaveform) {
  ExpectSinusoidAfterResample(200, 100, 20000);
  std::vector<double> x(201, 3.0);
  ASSERT_TRUE(ResampleSegment(200, 100, &x).ok());
  EXPECT_EQ(x.size(), 101u);  // every second sample, the first kept
}

TEST(ResampleTest, FourierDownAndUpKeepWaveform) {
  // A whole number of periods keeps the periodic assumption of the FFT exact.
  ExpectSinusoidAfterResample(250, 100, 25000);  // gain 0.99965
  ExpectSinusoidAfterResample(40, 100, 4000);    // gain 0.98618
}

TEST(ResampleTest, FourierPeakMemoryStaysWithinItsBound) {
  if (!testing::ResetPeakRss() || testing::PeakRss() == 0) GTEST_SKIP() << "no peak resident memory to read here";
  TuneAllocatorForLargeBuffers();  // the allocator as `rapid` sets it: freed buffers stay for reuse
  // 40 Hz → 100 Hz: 400 051 (prime) → 1 000 127 = 17·58 831, both through Bluestein as complex
  // transforms of real data, the bound's worst case; 400 003 = 269·1 487 → 1 000 007 = 29·34 483
  // likewise; 250 Hz → 100 Hz 1 000 003 (prime, the forward transform the larger) → 400 001; a
  // smooth hour, 144 000 → 360 000, far below the bound.
  struct Case {
    double rate_hz;
    int64_t n;
    bool worst;
  };
  for (const Case c :
       {Case{40, 400051, true}, Case{40, 400003, true}, Case{250, 1000003, true}, Case{40, 144000, false}}) {
    std::mt19937_64 rng(static_cast<uint64_t>(c.n));
    std::normal_distribution<double> noise(0.0, 1000.0);
    std::vector<double> samples(static_cast<size_t>(c.n));
    for (double& v : samples) v = noise(rng);
    const int64_t n_out = FourierResampledLength(c.n, c.rate_hz, 100.0);
    malloc_trim(0);  // memory freed by an earlier case, still resident, would hide this one's
    ASSERT_TRUE(testing::ResetPeakRss());
    const int64_t before = testing::PeakRss();
    ASSERT_TRUE(ResampleSegment(c.rate_hz, 100.0, &samples).ok());
    const int64_t held = testing::PeakRss() - before;
    const int64_t bound = FourierResampleBytesBound(c.n, n_out);
    std::printf("%g Hz, %lld → %lld samples: peak %.1f MB above the start, bound %.1f MB\n", c.rate_hz,
                static_cast<long long>(c.n), static_cast<long long>(n_out), held / 1e6, bound / 1e6);
    // Under ASan, shadow memory adds an eighth and freed blocks wait in its quarantine (256 MiB).
    const int64_t allowed = testing::kAddressSanitizer ? bound + bound / 8 + (int64_t{256} << 20) : bound;
    EXPECT_LE(held, allowed) << c.n;
    if (c.worst) EXPECT_GE(held, bound / 2) << c.n << ": the bound is far from the worst case";
  }
}

TEST(ResampleTest, RejectsBadRates) {
  std::vector<double> x(10, 1.0);
  EXPECT_FALSE(ResampleSegment(0, 100, &x).ok());
  EXPECT_FALSE(ResampleSegment(100, -1, &x).ok());
}

}  // namespace
}  // namespace rapid
