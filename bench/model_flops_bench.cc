// Per model and CPU backend: MFLOP per window (counted, not estimated), raw forward windows/s at the
// best batch on one thread, and the GFLOP/s that implies against this machine's best one-thread
// OpenBLAS GEMM rate (a practical peak oneDNN's kernels can beat) and against one core's measured
// multiply-add peak (FMA chains in 512-bit and 256-bit vectors; the wider is not always faster: Zen 4
// runs a 512-bit FMA as two 256-bit halves, so its AVX-512 peak is its AVX2 peak).
//   build/model_flops_bench [seconds per measurement, default 2] [peak GFLOP/s per core, default measured]
// FLOPs are counted by a libtorch RecordFunction observer on the GEMM-like operators every model's
// work reduces to: aten::convolution (incl. transposed) and aten::addmm / mm / bmm, at 2 FLOP per
// multiply-add. Elementwise work (activations, batch norm, softmax, the STFT) is not counted; it
// is a few percent of these models' arithmetic.
#include <ATen/Parallel.h>
#include <ATen/ATen.h>
#include <ATen/record_function.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench_input.h"
#include "core/allocator.h"
#include "backends/backend.h"
#include "models/registry.h"

namespace rapid {
namespace {

std::atomic<double> g_flops{0.0};
std::atomic<bool> g_counting{false};

int64_t Numel(const c10::IntArrayRef& sizes, size_t from) {
  int64_t n = 1;
  for (size_t i = from; i < sizes.size(); ++i) n *= sizes[i];
  return n;
}

// aten::convolution(input, weight, bias, stride, padding, dilation, transposed, output_padding, groups)
double ConvolutionFlops(c10::ArrayRef<const c10::IValue> in) {
  if (in.size() < 9 || !in[0].isTensor() || !in[1].isTensor()) return 0.0;
  const auto x = in[0].toTensor().sizes();
  const auto w = in[1].toTensor().sizes();
  const auto stride = in[3].toIntVector(), padding = in[4].toIntVector(), dilation = in[5].toIntVector();
  const bool transposed = in[6].toBool();
  const int64_t groups = in[8].toInt();
  const int64_t kernel = Numel(w, 2);
  if (transposed) {  // every input position scatters a kernel into Cout/groups outputs
    const int64_t cout = w[1] * groups;
    return 2.0 * static_cast<double>(x[0]) * static_cast<double>(Numel(x, 1)) * static_cast<double>(cout / groups) *
           static_cast<double>(kernel);
  }
  int64_t out_positions = 1;
  for (size_t d = 2; d < x.size(); ++d) {
    const int64_t k = w[d];
    const int64_t extent = x[d] + 2 * padding[d - 2] - dilation[d - 2] * (k - 1) - 1;
    out_positions *= extent / stride[d - 2] + 1;
  }
  return 2.0 * static_cast<double>(x[0]) * static_cast<double>(w[0]) * static_cast<double>(out_positions) *
         static_cast<double>(w[1]) * static_cast<double>(kernel);
}

std::unique_ptr<at::ObserverContext> CountFlops(const at::RecordFunction& fn) {
  if (!g_counting.load()) return nullptr;
  const std::string name = fn.name();
  const auto in = fn.inputs();
  double flops = 0.0;
  if (name == "aten::convolution") {
    flops = ConvolutionFlops(in);
  } else if (name == "aten::addmm" && in.size() >= 3) {  // (bias, a, b)
    const auto a = in[1].toTensor().sizes(), b = in[2].toTensor().sizes();
    flops = 2.0 * static_cast<double>(a[0]) * static_cast<double>(a[1]) * static_cast<double>(b[1]);
  } else if (name == "aten::mm" && in.size() >= 2) {
    const auto a = in[0].toTensor().sizes(), b = in[1].toTensor().sizes();
    flops = 2.0 * static_cast<double>(a[0]) * static_cast<double>(a[1]) * static_cast<double>(b[1]);
  } else if (name == "aten::bmm" && in.size() >= 2) {
    const auto a = in[0].toTensor().sizes(), b = in[1].toTensor().sizes();
    flops = 2.0 * static_cast<double>(a[0]) * static_cast<double>(a[1]) * static_cast<double>(a[2]) *
            static_cast<double>(b[2]);
  }
  if (flops > 0.0) g_flops.fetch_add(flops);
  return nullptr;
}

double Seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Windows/s of `model` at `batch` over about `seconds`.
double WindowsPerSecond(Model* model, int64_t batch, double seconds) {
  const ModelSpec& spec = model->Spec();
  const std::vector<float> input = NoiseWindows(spec, batch);
  std::vector<float> output(static_cast<size_t>(batch * spec.Labels() * spec.OutSamples()));
  if (!model->Forward(input.data(), batch, output.data()).ok()) return 0.0;  // warm-up
  const auto t0 = std::chrono::steady_clock::now();
  int64_t windows = 0;
  while (Seconds(t0) < seconds) {
    if (!model->Forward(input.data(), batch, output.data()).ok()) return 0.0;
    windows += batch;
  }
  return static_cast<double>(windows) / Seconds(t0);
}

// Best one-thread float32 GEMM rate over square sizes 256…2048: the measured practical peak.
double GemmPeakGflops(double seconds) {
  double best = 0.0;
  for (int64_t n : {256, 512, 1024, 2048}) {
    const at::Tensor a = at::randn({n, n}), b = at::randn({n, n});
    at::Tensor c = at::mm(a, b);
    const auto t0 = std::chrono::steady_clock::now();
    int64_t calls = 0;
    while (Seconds(t0) < seconds / 4) {
      c = at::mm(a, b);
      ++calls;
    }
    best = std::max(best, 2.0 * static_cast<double>(n * n * n) * static_cast<double>(calls) / Seconds(t0) / 1e9);
  }
  return best;
}

#if defined(__x86_64__)
// kChains independent multiply-add chains, more than FMA latency × FMA units, so the units never
// wait on a result: `rounds` × kChains FMAs of one vector each. Returns a sum so nothing is elided.
constexpr int kChains = 12;

__attribute__((target("avx512f"))) float FmaChains512(int64_t rounds) {
  __m512 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm512_set1_ps(0.001f * static_cast<float>(i));
  const __m512 scale = _mm512_set1_ps(0.9999f), shift = _mm512_set1_ps(1e-5f);
  for (int64_t r = 0; r < rounds; ++r) {
#pragma GCC unroll 12
    for (int i = 0; i < kChains; ++i) acc[i] = _mm512_fmadd_ps(acc[i], scale, shift);
  }
  float sum = 0.0f;
  for (int i = 0; i < kChains; ++i) sum += _mm512_reduce_add_ps(acc[i]);
  return sum;
}

__attribute__((target("avx2,fma"))) float FmaChains256(int64_t rounds) {
  __m256 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm256_set1_ps(0.001f * static_cast<float>(i));
  const __m256 scale = _mm256_set1_ps(0.9999f), shift = _mm256_set1_ps(1e-5f);
  for (int64_t r = 0; r < rounds; ++r) {
#pragma GCC unroll 12
    for (int i = 0; i < kChains; ++i) acc[i] = _mm256_fmadd_ps(acc[i], scale, shift);
  }
  float lanes[8];
  float sum = 0.0f;
  for (int i = 0; i < kChains; ++i) {
    _mm256_storeu_ps(lanes, acc[i]);
    sum += lanes[0];
  }
  return sum;
}
#endif

// One core's float32 multiply-add rate in GFLOP/s with vectors of `floats` lanes (16: AVX-512,
// 8: AVX2 + FMA), best of a few tries of about seconds / 4 each; 0 where the CPU lacks them.
double FmaPeakGflops(int floats, double seconds) {
#if defined(__x86_64__)
  const bool supported = floats == 16 ? __builtin_cpu_supports("avx512f")
                                      : __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (!supported) return 0.0;
  double best = 0.0;
  volatile float sink = 0.0f;
  for (int attempt = 0; attempt < 4; ++attempt) {
    int64_t rounds = 0;
    const auto t0 = std::chrono::steady_clock::now();
    while (Seconds(t0) < seconds / 16) {
      sink = sink + (floats == 16 ? FmaChains512(1 << 20) : FmaChains256(1 << 20));
      rounds += 1 << 20;
    }
    const double flop = 2.0 * floats * kChains * static_cast<double>(rounds);
    best = std::max(best, flop / Seconds(t0) / 1e9);
  }
  return best;
#else
  (void)floats;
  (void)seconds;
  return 0.0;
#endif
}

struct BenchModel {
  const char* name;
  std::string weights;  // empty: bundled
};

}  // namespace
}  // namespace rapid

int main(int argc, char** argv) {
  using namespace rapid;
  TuneAllocatorForLargeBuffers();
  at::set_num_threads(1);  // one thread: GFLOP/s per core
  const double seconds = argc > 1 ? std::atof(argv[1]) : 2.0;
  const double fma512 = FmaPeakGflops(16, seconds), fma256 = FmaPeakGflops(8, seconds);
  const double peak = argc > 2 ? std::atof(argv[2]) : std::max(fma512, fma256);
  at::addGlobalCallback(at::RecordFunctionCallback(&CountFlops).needsInputs(true));
  const std::string test_models = std::string(RAPID_SOURCE_DIR) + "/tests/data/models/";
  const std::vector<BenchModel> models = {
      {"phasenet", ""},
      {"phasenetlight", test_models + "phasenetlight_ethz.pt.v2"},
      {"eqtransformer", test_models + "eqtransformer_random.pt"},
      {"eqtransformer", test_models + "eqtransformer_original_compatible_random.pt"},
      {"eqcct", ""},
      {"gpd", test_models + "gpd_random.pt"},
      {"cred", test_models + "cred_random.pt"},
  };
  const double gemm = GemmPeakGflops(seconds);
  std::printf("one-thread float32 GEMM peak (best of 256^3..2048^3): %.1f GFLOP/s\n", gemm);
  std::printf("FMA peak of one core, measured: %.1f GFLOP/s in 512-bit vectors, %.1f in 256-bit (0: not supported)\n",
              fma512, fma256);
  std::printf("peak per core taken as %.1f GFLOP/s (%s)\n", peak,
              argc > 2 ? "second argument" : "the better of the two");
  std::printf("%-16s %-45s %-7s %12s %6s %12s %10s %8s %8s\n", "model", "weights", "backend", "MFLOP/window", "batch",
              "windows/s", "GFLOP/s", "vs GEMM", "vs peak");
  for (const BenchModel& b : models) {
    // FLOPs are counted on the torch backend (the observer sees ATen's operators), once per model.
    LoadedModel counted;
    Status s = LoadModel(b.name, b.weights, &counted, "cpu", kTorchBackend);
    if (!s.ok()) {
      std::printf("%-16s %s\n", b.name, s.ToString().c_str());
      continue;
    }
    const ModelSpec& spec = counted.model->Spec();
    std::vector<float> input(static_cast<size_t>(spec.Channels() * spec.in_samples), 0.5f);
    std::vector<float> output(static_cast<size_t>(spec.Labels() * spec.OutSamples()));
    g_flops = 0.0;
    g_counting = true;
    const bool ok = counted.model->Forward(input.data(), 1, output.data()).ok();
    g_counting = false;
    const double mflop = g_flops.load() / 1e6;
    const std::string weights = b.weights.empty() ? "(bundled)" : b.weights.substr(test_models.size());
    for (const std::string& backend : CpuBackends()) {
      LoadedModel loaded;
      if (!ok || !LoadModel(b.name, b.weights, &loaded, "cpu", backend).ok()) continue;
      if (loaded.backend != backend) continue;  // not on this backend yet
      loaded.model->UseIntraOpThreads(1);
      double best = 0.0;
      int64_t best_batch = 0;
      for (int64_t batch : {1, 8, 32}) {
        const double rate = WindowsPerSecond(loaded.model.get(), batch, seconds);
        if (rate > best) {
          best = rate;
          best_batch = batch;
        }
      }
      const double gflops = best * mflop / 1e3;
      std::printf("%-16s %-45s %-7s %12.1f %6lld %12.1f %10.2f %7.0f%% %7.0f%%\n", b.name, weights.c_str(),
                  backend.c_str(), mflop, static_cast<long long>(best_batch), best, gflops, 100.0 * gflops / gemm,
                  100.0 * gflops / peak);
    }
  }
  return 0;
}
