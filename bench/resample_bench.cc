// The preprocessing's resampling on one thread: a RealFft + InverseRealFft pair at the lengths an
// hour of real data gives (40 Hz: 144 000, 250 Hz: 900 000, both resampled to 360 000 at 100 Hz;
// a prime 360 007 goes through Bluestein), ResampleSegment of an hour at 40 and 250 Hz to 100 Hz
// (Fourier) and an hour at 200 Hz through ResampleStream as `rapid run` does it (decimation in
// pieces). The mixed-rate ceiling's dominant preprocessing. Time per call, in ms.
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
