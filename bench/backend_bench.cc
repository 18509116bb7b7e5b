// Raw forward of each model on each CPU backend, measured alongside in one run so the ratios hold
// on a noisy machine: windows/s on one thread (batch 1, 8, 32) and with one instance per core, each
// on one thread (batch 8; the executor's layout on a CPU), and the oneDNN / torch ratio of both.
//   build/backend_bench [seconds per measurement, default 2] [model ...]   (default: every model)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "backends/backend.h"
#include "bench_input.h"
#include "core/allocator.h"
#include "models/registry.h"

namespace rapid {
namespace {

struct BenchModel {
  std::string name;
  std::string weights;  // empty: bundled
};

double Seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Windows/s of `instances` model instances, each on its own thread with one intra-op thread, all
// forwarding batches of `batch` noise windows for about `seconds`. 0 when a forward fails.
double WindowsPerSecond(const BenchModel& m, const std::string& backend, int instances, int64_t batch,
                        double seconds) {
  std::vector<LoadedModel> models(static_cast<size_t>(instances));
  for (LoadedModel& loaded : models) {
    if (!LoadModel(m.name, m.weights, &loaded, "cpu", backend).ok()) return 0.0;
  }
  std::vector<int64_t> windows(static_cast<size_t>(instances), 0);
  std::vector<std::thread> threads;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < instances; ++i) {
    threads.emplace_back([&, i] {
      Model* model = models[static_cast<size_t>(i)].model.get();
      model->UseIntraOpThreads(1);
      const ModelSpec& spec = model->Spec();
      const std::vector<float> input = NoiseWindows(spec, batch);
      std::vector<float> output(static_cast<size_t>(batch * spec.Labels() * spec.OutSamples()));
      if (!model->Forward(input.data(), batch, output.data()).ok()) return;  // warm-up
      const auto start = std::chrono::steady_clock::now();
      while (Seconds(start) < seconds) {
        if (!model->Forward(input.data(), batch, output.data()).ok()) return;
        windows[static_cast<size_t>(i)] += batch;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  int64_t total = 0;
  for (int64_t w : windows) total += w;
  return static_cast<double>(total) / Seconds(t0);
}

}  // namespace
}  // namespace rapid

int main(int argc, char** argv) {
  using namespace rapid;
  TuneAllocatorForLargeBuffers();
  const double seconds = argc > 1 ? std::atof(argv[1]) : 2.0;
  const std::string test_models = std::string(RAPID_SOURCE_DIR) + "/tests/data/models/";
  std::vector<BenchModel> models = {
      {"phasenet", ""},
      {"phasenetlight", test_models + "phasenetlight_ethz.pt.v2"},
      {"eqtransformer", test_models + "eqtransformer_random.pt"},
      {"eqcct", ""},
      {"gpd", test_models + "gpd_random.pt"},
      {"cred", test_models + "cred_random.pt"},
  };
  if (argc > 2) {
    std::vector<std::string> wanted(argv + 2, argv + argc);
    std::erase_if(models, [&](const BenchModel& m) {
      return std::find(wanted.begin(), wanted.end(), m.name) == wanted.end();
    });
  }
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::printf("%-14s %-7s %10s %10s %10s %16s\n", "model", "backend", "b1 w/s", "b8 w/s", "b32 w/s",
              "per-core b8 w/s");
  for (const BenchModel& m : models) {
    double one[2] = {0, 0}, all[2] = {0, 0};
    for (int b = 0; b < 2; ++b) {
      const std::string backend = CpuBackends()[static_cast<size_t>(b)];
      LoadedModel probe;
      if (!LoadModel(m.name, m.weights, &probe, "cpu", backend).ok() || probe.backend != backend) {
        std::printf("%-14s %-7s (not available)\n", m.name.c_str(), backend.c_str());
        continue;
      }
      double rates[3];
      const int64_t batches[3] = {1, 8, 32};
      for (int i = 0; i < 3; ++i) rates[i] = WindowsPerSecond(m, backend, 1, batches[i], seconds);
      one[b] = *std::max_element(rates, rates + 3);
      all[b] = WindowsPerSecond(m, backend, cores, 8, seconds);
      std::printf("%-14s %-7s %10.0f %10.0f %10.0f %16.0f  (%d instances)\n", m.name.c_str(), backend.c_str(),
                  rates[0], rates[1], rates[2], all[b], cores);
    }
    if (one[1] > 0 && one[0] > 0) {
      std::printf("%-14s onednn/torch: %.2fx on one thread (best batch), %.2fx on %d cores\n", m.name.c_str(),
                  one[0] / one[1], all[0] / all[1], cores);
    }
  }
  return 0;
}
