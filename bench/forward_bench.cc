// Raw batched forward throughput of a model (no I/O, no preprocessing): the ceiling the pipeline is
// measured against. Prints windows/s per (batch, intra-op threads[, benchmark threads]) as a counter.
//   build/forward_bench [--benchmark_filter=...]   (RAPID_BENCH_MODEL=phasenet by default;
//   RAPID_BENCH_WEIGHTS=FILE for a model without bundled weights, e.g. eqtransformer)
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <vector>

#include "bench_input.h"
#include "core/allocator.h"
#include "models/registry.h"

namespace rapid {
namespace {

// Loads RAPID_BENCH_MODEL with RAPID_BENCH_WEIGHTS (its bundled weights when unset); aborts on error.
void LoadBenchModel(LoadedModel* loaded) {
  const char* name = std::getenv("RAPID_BENCH_MODEL");
  const char* weights = std::getenv("RAPID_BENCH_WEIGHTS");
  if (!LoadModel(name != nullptr ? name : "phasenet", weights != nullptr ? weights : "", loaded).ok()) std::abort();
}

LoadedModel& SharedModel() {
  static LoadedModel* m = [] {
    auto* loaded = new LoadedModel();
    LoadBenchModel(loaded);
    return loaded;
  }();
  return *m;
}

// One model instance per benchmark thread, as the executor runs them.
LoadedModel& ThreadModel() {
  thread_local LoadedModel* m = [] {
    auto* loaded = new LoadedModel();
    LoadBenchModel(loaded);
    return loaded;
  }();
  return *m;
}

void BM_Forward(benchmark::State& state) {
  const int64_t batch = state.range(0);
  Model* model = state.threads() == 1 ? SharedModel().model.get() : ThreadModel().model.get();
  model->UseIntraOpThreads(static_cast<int>(state.range(1)));
  const ModelSpec& spec = model->Spec();
  const std::vector<float> input = NoiseWindows(spec, batch);
  std::vector<float> output(static_cast<size_t>(batch * spec.Labels() * spec.OutSamples()));
  for (auto _ : state) {
    if (!model->Forward(input.data(), batch, output.data()).ok()) state.SkipWithError("forward failed");
    benchmark::DoNotOptimize(output.data());
  }
  state.counters["windows_per_s"] = benchmark::Counter(static_cast<double>(batch * state.iterations()),
                                                       benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Forward)
    ->ArgNames({"batch", "threads"})
    ->ArgsProduct({{1, 8, 32, 64, 128, 256}, {1, 2}})
    ->UseRealTime()
    ->MinTime(1.0);
// Two instances × one intra-op thread each (the executor's default shape on two cores); the rate
// counter sums both threads.
BENCHMARK(BM_Forward)->ArgNames({"batch", "threads"})->ArgsProduct({{8, 16, 32}, {1}})->Threads(2)->UseRealTime()->MinTime(1.0);

}  // namespace
}  // namespace rapid

// As the rapid binary does, so raw and end-to-end figures are comparable.
int main(int argc, char** argv) {
  rapid::TuneAllocatorForLargeBuffers();
  ::benchmark::Initialize(&argc, argv);
  if (::benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  ::benchmark::RunSpecifiedBenchmarks();
  ::benchmark::Shutdown();
  return 0;
}
