#include "dispatch/model_probe.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#include "dispatch/resource_probe.h"
#include "models/device.h"

namespace rapid {
namespace {

using Clock = std::chrono::steady_clock;

// Samples the process's RSS on a background thread from construction until Stop().
// Thread safety: Stop() must be called by the constructing thread, once.
class RssSampler {
 public:
  RssSampler() : peak_bytes_(CurrentRssBytes()), rusage_before_bytes_(PeakRssBytes()) {
    thread_ = std::thread([this] {
      while (!stop_.load(std::memory_order_relaxed)) {
        const int64_t rss = CurrentRssBytes();
        if (rss > peak_bytes_.load(std::memory_order_relaxed)) peak_bytes_.store(rss, std::memory_order_relaxed);
        std::this_thread::sleep_for(std::chrono::microseconds(500));
      }
    });
  }
  ~RssSampler() {
    if (thread_.joinable()) Stop();
  }

  // Highest RSS seen while running. getrusage's lifetime peak counts too when it rose during the
  // sampling window: then the process peak happened inside it, possibly between two samples.
  int64_t Stop() {
    stop_.store(true);
    thread_.join();
    int64_t peak = std::max(peak_bytes_.load(), CurrentRssBytes());
    const int64_t rusage_after = PeakRssBytes();
    if (rusage_after > rusage_before_bytes_) peak = std::max(peak, rusage_after);
    return peak;
  }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> peak_bytes_;
  const int64_t rusage_before_bytes_;
  std::thread thread_;
};

// Deterministic noise in [-1, 1) (a zero batch could take data-dependent shortcuts).
void FillNoise(std::vector<float>* v) {
  uint32_t state = 12345u;
  for (float& x : *v) {
    state = state * 1664525u + 1013904223u;
    x = static_cast<float>(state >> 8) / static_cast<float>(1u << 23) - 1.0f;
  }
}

}  // namespace

Status MeasureModel(Model* model, int64_t probe_batch, ModelMeasurement* out) {
  if (probe_batch < 1) return Status::InvalidArgument("probe batch must be at least 1");
  const ModelSpec& spec = model->Spec();
  if (spec.Channels() < 1 || spec.Labels() < 1 || spec.in_samples < 1) {
    return Status::InvalidArgument("model spec has no channels, labels or samples");
  }
  ModelMeasurement m;
  m.probe_batch = probe_batch;
  m.weight_bytes = model->WeightBytes();
  m.window_input_bytes = spec.Channels() * spec.in_samples * static_cast<int64_t>(sizeof(float));
  m.window_output_bytes = spec.Labels() * spec.OutSamples() * static_cast<int64_t>(sizeof(float));

  // Buffers first, touched (FillNoise, assign), so their pages are in RSS before measuring.
  std::vector<float> input(static_cast<size_t>(probe_batch * spec.Channels() * spec.in_samples));
  std::vector<float> output(static_cast<size_t>(probe_batch * spec.Labels() * spec.OutSamples()), 0.0f);
  FillNoise(&input);

  RAPID_RETURN_IF_ERROR(model->Forward(input.data(), 1, output.data()));  // warm-up

  m.rss_before_bytes = CurrentRssBytes();
  int64_t peak_bytes = 0;
  {
    RssSampler sampler;
    Status s = model->Forward(input.data(), probe_batch, output.data());
    peak_bytes = sampler.Stop();
    RAPID_RETURN_IF_ERROR(s);
  }
  {
    // Not sampled: the sampler thread would steal time from the forward on small machines.
    const int64_t rusage_before = PeakRssBytes();
    const auto start = Clock::now();
    RAPID_RETURN_IF_ERROR(model->Forward(input.data(), probe_batch, output.data()));
    const double elapsed_s = std::chrono::duration<double>(Clock::now() - start).count();
    m.forward_s_per_window = elapsed_s / static_cast<double>(probe_batch);
    peak_bytes = std::max(peak_bytes, CurrentRssBytes());
    if (PeakRssBytes() > rusage_before) peak_bytes = std::max(peak_bytes, PeakRssBytes());
  }

  m.measured_growth_bytes = std::max<int64_t>(0, peak_bytes - m.rss_before_bytes);
  const int64_t raw_per_window = m.measured_growth_bytes / probe_batch;
  const int64_t floor_per_window = kMinActivationFactor * (m.window_input_bytes + m.window_output_bytes);
  m.activation_clamped = raw_per_window < floor_per_window;
  m.activation_bytes_per_window = std::max(raw_per_window, floor_per_window);
  *out = m;
  return Status::OK();
}

ModelFootprint FootprintOf(const ModelMeasurement& m) {
  ModelFootprint f;
  f.weight_bytes = m.weight_bytes;
  f.activation_bytes_per_window = m.activation_bytes_per_window;
  f.window_input_bytes = m.window_input_bytes;
  f.window_output_bytes = m.window_output_bytes;
  return f;
}

Status MeasureCudaActivation(Model* model, int device_index, int64_t probe_batch, int64_t* bytes_per_window) {
  const ModelSpec& spec = model->Spec();
  const int64_t in_bytes = spec.Channels() * spec.in_samples * static_cast<int64_t>(sizeof(float));
  const int64_t out_bytes = spec.Labels() * spec.OutSamples() * static_cast<int64_t>(sizeof(float));
  std::vector<float> input(static_cast<size_t>(probe_batch * spec.Channels() * spec.in_samples), 0.0f);
  std::vector<float> output(static_cast<size_t>(probe_batch * spec.Labels() * spec.OutSamples()));
  RAPID_RETURN_IF_ERROR(model->Forward(input.data(), 1, output.data()));  // warm-up
  int64_t free_before = 0, free_after = 0, total = 0;
  RAPID_RETURN_IF_ERROR(CudaMemoryInfo(device_index, &free_before, &total));
  RAPID_RETURN_IF_ERROR(model->Forward(input.data(), probe_batch, output.data()));
  RAPID_RETURN_IF_ERROR(CudaMemoryInfo(device_index, &free_after, &total));
  *bytes_per_window = std::max((free_before - free_after) / probe_batch, kMinActivationFactor * (in_bytes + out_bytes));
  return Status::OK();
}

}  // namespace rapid
