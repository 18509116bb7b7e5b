// The preprocessing's resampling on one thread: a RealFft + InverseRealFft pair at the lengths an
// hour of real data gives (40 Hz: 144 000, 250 Hz: 900 000, both resampled to 360 000 at 100 Hz;
// a prime 360 007 goes through Bluestein), ResampleSegment of an hour at 40 and 250 Hz to 100 Hz
// (Fourier), segments of the lengths real data has (any: mostly through Bluestein) and an hour at
// 200 Hz through ResampleStream as `rapid run` does it (decimation in pieces). The mixed-rate
// ceiling's dominant preprocessing. Time per call, in ms.
//   build/resample_bench [--benchmark_filter=...]
#include <benchmark/benchmark.h>

#include <complex>
#include <random>
#include <vector>

#include "core/allocator.h"
#include "dsp/fft.h"
#include "dsp/resample.h"
#include "dsp/resample_stream.h"

namespace rapid {
namespace {

std::vector<double> Noise(size_t n) {
  std::mt19937_64 rng(n);
  std::normal_distribution<double> normal(0.0, 1000.0);
  std::vector<double> x(n);
  for (double& v : x) v = normal(rng);
  return x;
}

void BM_RealFftPair(benchmark::State& state) {
  const std::vector<double> x = Noise(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    std::vector<double> y = InverseRealFft(RealFft(x), static_cast<int64_t>(x.size()));
    benchmark::DoNotOptimize(y.data());
  }
}
BENCHMARK(BM_RealFftPair)->Arg(3001)->Arg(144000)->Arg(360000)->Arg(900000)->Arg(360007)
    ->Unit(benchmark::kMillisecond);

void BM_ResampleHourTo100Hz(benchmark::State& state) {
  const double rate_hz = static_cast<double>(state.range(0));
  const std::vector<double> hour = Noise(static_cast<size_t>(3600.0 * rate_hz));
  for (auto _ : state) {
    std::vector<double> samples = hour;
    if (!ResampleSegment(rate_hz, 100.0, &samples).ok()) state.SkipWithError("resample failed");
    benchmark::DoNotOptimize(samples.data());
  }
}
BENCHMARK(BM_ResampleHourTo100Hz)->Arg(40)->Arg(250)->Unit(benchmark::kMillisecond);

// ResampleSegment of a segment of real data's length: whole hours and days (2,3,5-smooth lengths)
// are the synthetic archives' case; real segments have any length, and nearly every length near
// a day at 40 Hz sends its forward or inverse transform (or both) through Bluestein.
// Args: rate in Hz, samples.
void BM_ResampleSegmentOfLength(benchmark::State& state) {
  const double rate_hz = static_cast<double>(state.range(0));
  const std::vector<double> segment = Noise(static_cast<size_t>(state.range(1)));
  for (auto _ : state) {
    std::vector<double> samples = segment;
    if (!ResampleSegment(rate_hz, 100.0, &samples).ok()) state.SkipWithError("resample failed");
    benchmark::DoNotOptimize(samples.data());
  }
}
BENCHMARK(BM_ResampleSegmentOfLength)
    ->Args({40, 144000})    // an hour: smooth both ways (→ 360 000)
    ->Args({40, 143999})    // prime; → 359 997 = 3·11·10 909
    ->Args({40, 144001})    // 11·13·19·53, direct; → 360 002 = 2·180 001
    ->Args({250, 899999})   // an hour at 250 Hz less one sample: 397·2 267; → 359 999 = 599·601
    ->Args({40, 3456000})   // a day: smooth
    ->Args({40, 3455999})   // a day less one sample: prime; → 8 639 997 = 3·2 879 999
    ->Args({40, 3455998})   // even, its half 7·13·17·1 117 (Bluestein); → 8 639 995 = 5·1 727 999
    ->Args({40, 3413011})   // 7·61·7 993 (split by 7); → 8 532 527 = 1 609·5 303 (no small factor)
    ->Unit(benchmark::kMillisecond);

void BM_ResampleStreamHourTo100Hz(benchmark::State& state) {
  const double rate_hz = static_cast<double>(state.range(0));
  const std::vector<double> hour = Noise(static_cast<size_t>(3600.0 * rate_hz));
  for (auto _ : state) {
    state.PauseTiming();  // the reader hands over a segment it no longer needs
    std::vector<double> samples = hour;
    state.ResumeTiming();
    ResampleStream stream(rate_hz, 100.0);
    std::vector<float> out;
    if (!stream.Feed(&samples, 0, &out).ok() || !stream.Drain(true, &out).ok()) {
      state.SkipWithError("resample failed");
    }
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_ResampleStreamHourTo100Hz)->Arg(200)->Arg(250)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace rapid

int main(int argc, char** argv) {
  rapid::TuneAllocatorForLargeBuffers();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
