#include "dispatch/model_probe.h"

#include <gtest/gtest.h>
#include <sys/mman.h>

#include <chrono>
#include <cstring>
#include <iostream>
#include <thread>
#include <vector>

#include "models/registry.h"
#include "test_util.h"

namespace rapid {
namespace {

constexpr int64_t kMiB = int64_t{1} << 20;

// A model whose costs are known: it touches `bytes_per_window` × batch bytes of scratch for the
// length of each call (held for a few milliseconds so the RSS sampler sees it), and can fail
// for batches above `fail_above_batch`.
class FakeModel : public Model {
 public:
  FakeModel(int64_t bytes_per_window, int64_t weight_bytes)
      : bytes_per_window_(bytes_per_window), weight_bytes_(weight_bytes) {
    spec_.class_name = "Fake";
    spec_.labels = {"N", "P", "S"};
    spec_.in_samples = 100;
  }
  const ModelSpec& Spec() const override { return spec_; }
  Status Forward(const float* input, int64_t batch, float* output) override {
    if (batch > fail_above_batch) return Status::ResourceExhausted("fake: batch too large");
    batches.push_back(batch);
    // Fresh pages from mmap, not the heap: memory an earlier test freed into the heap (glibc
    // raises its mmap threshold after large frees) would be reused without any RSS growth.
    const size_t scratch_bytes = static_cast<size_t>(bytes_per_window_ * batch);
    void* scratch = scratch_bytes == 0 ? MAP_FAILED
                                       : mmap(nullptr, scratch_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (scratch != MAP_FAILED) std::memset(scratch, 1, scratch_bytes);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (scratch != MAP_FAILED) munmap(scratch, scratch_bytes);
    const int64_t n = batch * spec_.Labels() * spec_.OutSamples();
    for (int64_t i = 0; i < n; ++i) output[i] = 0.5f + 0.0f * input[i % (batch * spec_.Channels() * spec_.in_samples)];
    return Status::OK();
  }
  Status ForwardLogits(const float* input, int64_t batch, float* output) override {
    return Forward(input, batch, output);
  }
  int64_t WeightBytes() const override { return weight_bytes_; }

  std::vector<int64_t> batches;
  int64_t fail_above_batch = INT64_MAX;

 private:
  ModelSpec spec_;
  int64_t bytes_per_window_;
  int64_t weight_bytes_;
};

TEST(ModelProbeTest, FakeModelArithmetic) {
  FakeModel model(1 * kMiB, 12345);
  ModelMeasurement m;
  ASSERT_TRUE(MeasureModel(&model, 16, &m).ok());
  EXPECT_EQ(model.batches, (std::vector<int64_t>{1, 16, 16}));  // warm-up, probe, timed
  EXPECT_EQ(m.probe_batch, 16);
  EXPECT_EQ(m.weight_bytes, 12345);
  EXPECT_EQ(m.window_input_bytes, 3 * 100 * 4);
  EXPECT_EQ(m.window_output_bytes, 3 * 100 * 4);
  EXPECT_FALSE(m.activation_clamped);
  // 16 MiB of scratch touched by the probe: growth is that plus a little sampler-thread noise.
  EXPECT_GE(m.measured_growth_bytes, 16 * kMiB - 64 * 1024);
  EXPECT_EQ(m.activation_bytes_per_window, m.measured_growth_bytes / 16);
  EXPECT_GE(m.activation_bytes_per_window, kMiB - 4 * 1024);
  // ASan's shadow memory and allocator overhead inflate the growth (2.35 MiB a window measured).
  if (!testing::kAddressSanitizer) EXPECT_LE(m.activation_bytes_per_window, kMiB + kMiB / 2);
  EXPECT_GE(m.forward_s_per_window, 0.010 / 16);  // each call sleeps 10 ms
  EXPECT_GT(m.rss_before_bytes, 0);

  const ModelFootprint f = FootprintOf(m);
  EXPECT_EQ(f.weight_bytes, 12345);
  EXPECT_EQ(f.activation_bytes_per_window, m.activation_bytes_per_window);
  EXPECT_EQ(f.window_input_bytes, 1200);
  EXPECT_EQ(f.window_output_bytes, 1200);
}

TEST(ModelProbeTest, TinyGrowthIsClampedToTheMinimum) {
  FakeModel model(0, 0);
  ModelMeasurement m;
  ASSERT_TRUE(MeasureModel(&model, 64, &m).ok());
  EXPECT_TRUE(m.activation_clamped);
  EXPECT_EQ(m.activation_bytes_per_window, kMinActivationFactor * (1200 + 1200));
  EXPECT_LT(m.measured_growth_bytes / 64, m.activation_bytes_per_window);
}

TEST(ModelProbeTest, ReportsModelFailuresAndBadArguments) {
  FakeModel model(0, 0);
  ModelMeasurement m;
  EXPECT_EQ(MeasureModel(&model, 0, &m).code(), Status::Code::kInvalidArgument);
  model.fail_above_batch = 1;  // warm-up passes, the probe batch does not
  const Status s = MeasureModel(&model, 8, &m);
  EXPECT_EQ(s.code(), Status::Code::kResourceExhausted);
  EXPECT_EQ(s.message(), "fake: batch too large");
}

TEST(ModelProbeTest, RealPhaseNetHasPlausibleFootprint) {
  LoadedModel loaded;
  ASSERT_TRUE(LoadModel("phasenet", "", &loaded).ok());
  ModelMeasurement m;
  ASSERT_TRUE(MeasureModel(loaded.model.get(), 32, &m).ok());
  std::cout << "PhaseNet probe (batch 32): weights " << m.weight_bytes << " B, activations "
            << m.activation_bytes_per_window << " B/window (raw growth " << m.measured_growth_bytes << " B, clamped "
            << m.activation_clamped << "), " << m.forward_s_per_window * 1e3 << " ms/window, RSS before "
            << m.rss_before_bytes << " B\n";
  EXPECT_GT(m.weight_bytes, 1'000'000);  // ~1.08 MB of float32 parameters
  EXPECT_LT(m.weight_bytes, 1'200'000);
  EXPECT_EQ(m.window_input_bytes, 3 * 3001 * 4);
  EXPECT_EQ(m.window_output_bytes, 3 * 3001 * 4);
  EXPECT_GT(m.activation_bytes_per_window, m.window_input_bytes);
  EXPECT_LT(m.activation_bytes_per_window, 256 * kMiB);  // far below; catches unit mistakes
  EXPECT_GT(m.forward_s_per_window, 0);
  EXPECT_LT(m.forward_s_per_window, 1.0);
}

}  // namespace
}  // namespace rapid
