// Device handling: --devices parsing and the clear errors of a CPU-only libtorch; the tensor-step
// LSTM recurrence a CUDA device uses, against the CPU loop and torch's own LSTM; and, where this
// libtorch sees a CUDA device, every model and a whole run on it against the CPU (skipped
// otherwise: Debian's libtorch is CPU-only).
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <random>

#include "engine/picking_run.h"
#include "models/device.h"
#include "backends/torch/torch_graph_ops.h"
#include "models/registry.h"
#include "models/stored_tensor.h"
#include "test_util.h"

namespace rapid {
namespace {

const std::string kModels = std::string(RAPID_TEST_DATA_DIR) + "/models/";

TEST(DeviceTest, ParsesAndChecksDeviceNames) {
  std::vector<std::string> devices;
  ASSERT_TRUE(ParseDeviceList("cpu", &devices).ok());
  EXPECT_EQ(devices, (std::vector<std::string>{"cpu"}));
  EXPECT_EQ(ParseDeviceList("", &devices).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(ParseDeviceList("cpu,cpu", &devices).code(), Status::Code::kInvalidArgument);
  for (const char* bad : {"gpu", "cuda", "cuda:", "cuda:x", "cuda:-1", "CPU"}) {
    EXPECT_EQ(CheckDevice(bad).code(), Status::Code::kInvalidArgument) << bad;
  }
  const int count = CudaDeviceCount();
  Status s = CheckDevice("cuda:" + std::to_string(count));  // one past the last
  EXPECT_EQ(s.code(), Status::Code::kNotFound);
  EXPECT_NE(s.message().find("this libtorch sees " + std::to_string(count) + " CUDA device(s)"), std::string::npos)
      << s.ToString();
  if (count >= 2) {  // "cuda:0,1" continues the CUDA list
    ASSERT_TRUE(ParseDeviceList("cpu,cuda:0,1", &devices).ok());
    EXPECT_EQ(devices, (std::vector<std::string>{"cpu", "cuda:0", "cuda:1"}));
  }
}

TEST(DeviceTest, MissingCudaDeviceIsAConfigErrorBeforeAnyWork) {
  if (CudaDeviceCount() > 0) GTEST_SKIP() << "this libtorch sees a CUDA device";
  LoadedModel m;
  Status s = LoadModel("phasenet", "", &m, "cuda:0");
  EXPECT_EQ(s.code(), Status::Code::kNotFound);
  EXPECT_NE(s.message().find("cuda:0"), std::string::npos) << s.ToString();
  testing::TempDir dir;
  std::string log;
  EXPECT_EQ(testing::RunRapid({"run", "--devices", "cuda:0", "--output", dir.Path("out")}, &log), 1);
  EXPECT_NE(log.find("--devices cuda:0: device 'cuda:0': this libtorch sees 0 CUDA device(s)"), std::string::npos)
      << log;
  EXPECT_FALSE(std::filesystem::exists(dir.Path("out/run.json")));
}

// The recurrence off the CPU is tensor steps; on the CPU a loop. Both must compute the same LSTM,
// and with logistic gates the same as torch's own LSTM.
TEST(DeviceTest, TensorStepLstmEqualsTheCpuLoopAndTorchsLstm) {
  for (auto gate : {GateActivation::kSigmoid, GateActivation::kHardSigmoid}) {
    const int64_t hidden = 16, steps = 47, batch = 3, in = 12;
    at::manual_seed(7);
    const at::Tensor w_ih = at::randn({2, 4 * hidden, in}) * 0.5, w_hh = at::randn({2, 4 * hidden, hidden}) * 0.5;
    const at::Tensor b_ih = at::randn({2, 4 * hidden}) * 0.5, b_hh = at::randn({2, 4 * hidden}) * 0.5;
    const at::Tensor x = at::randn({batch, in, steps});
    // The gates: W_ih·x + b_ih + b_hh, forward direction's channels first.
    const at::Tensor gates =
        (at::matmul(w_ih.reshape({8 * hidden, in}), x) + (b_ih + b_hh).reshape({8 * hidden, 1})).contiguous();
    Graph g;
    const at::Tensor w = w_hh.contiguous();
    const int node = g.Lstm(g.Input(8 * hidden, steps),
                            {{2, 4 * hidden, hidden}, std::vector<float>(w.data_ptr<float>(), w.data_ptr<float>() + w.numel())},
                            gate);
    ASSERT_TRUE(g.status().ok()) << g.status().ToString();
    const GraphNode& n = g.Node(node);
    const at::Tensor loop = RunNode(n, {&gates}, PrepareNode(n, at::kCPU), gates);
    const at::Tensor stepped = LstmTensorSteps(n, gates, w_hh);
    ASSERT_EQ(loop.sizes(), (at::IntArrayRef{batch, 2 * hidden, steps}));
    ASSERT_EQ(stepped.sizes(), loop.sizes());
    EXPECT_LE((loop - stepped).abs().max().item<float>(), 1e-5f);
    EXPECT_GT(loop.abs().max().item<float>(), 0.1f);  // not a trivial output
    if (gate == GateActivation::kSigmoid) {
      const std::vector<at::Tensor> params = {w_ih[0], w_hh[0], b_ih[0], b_hh[0], w_ih[1], w_hh[1], b_ih[1], b_hh[1]};
      const at::Tensor zeros = at::zeros({2, batch, hidden});
      const at::Tensor torchs = std::get<0>(at::lstm(x.transpose(1, 2), {zeros, zeros}, params, /*has_biases=*/true,
                                                     1, 0.0, /*train=*/false, /*bidirectional=*/true,
                                                     /*batch_first=*/true));
      EXPECT_LE((loop - torchs.transpose(1, 2)).abs().max().item<float>(), 1e-5f);
    }
  }
}

// On a CUDA libtorch with a GPU: each model on cuda:0 against the same model on the CPU.
TEST(DeviceTest, EveryModelOnCudaMatchesTheCpu) {
  if (CudaDeviceCount() == 0) GTEST_SKIP() << "no CUDA device (CPU-only libtorch): GPU path not exercised";
  const std::vector<std::pair<std::string, std::string>> models = {
      {"phasenet", ""},
      {"phasenetlight", kModels + "phasenetlight_ethz.pt.v2"},
      {"eqtransformer", kModels + "eqtransformer_random.pt"},
      {"eqtransformer", kModels + "eqtransformer_original_compatible_random.pt"},
      {"eqcct", ""},
      {"gpd", kModels + "gpd_random.pt"},
      {"cred", kModels + "cred_random.pt"}};
  for (const auto& [name, weights] : models) {
    SCOPED_TRACE(name + " " + weights);
    LoadedModel cpu, gpu;
    ASSERT_TRUE(LoadModel(name, weights, &cpu).ok());
    Status s = LoadModel(name, weights, &gpu, "cuda:0");
    ASSERT_TRUE(s.ok()) << s.ToString();
    const ModelSpec& spec = cpu.model->Spec();
    const int64_t batch = 4;
    std::vector<float> input(static_cast<size_t>(batch * spec.Channels() * spec.in_samples));
    std::mt19937 rng(3);
    std::normal_distribution<float> noise;
    for (float& v : input) v = noise(rng);
    std::vector<float> a(static_cast<size_t>(batch * spec.Labels() * spec.OutSamples())), b(a.size());
    ASSERT_TRUE(cpu.model->Forward(input.data(), batch, a.data()).ok());
    ASSERT_TRUE(gpu.model->Forward(input.data(), batch, b.data()).ok());
    float worst = 0.0f;
    for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(a[i] - b[i]));
    std::printf("%s on cuda:0 vs cpu: max |dprob| %.3g\n", name.c_str(), worst);
    EXPECT_LE(worst, 1e-4f);
  }
}

// On a CUDA libtorch with a GPU: a run on cpu,cuda:0 gives the CPU run's picks.
TEST(DeviceTest, RunOnCudaGivesTheCpuPicks) {
  if (CudaDeviceCount() == 0) GTEST_SKIP() << "no CUDA device (CPU-only libtorch): GPU path not exercised";
  testing::TempDir dir;
  std::string log;
  ASSERT_EQ(testing::RunRapid({"run", "--output", dir.Path("cpu"), "--progress", "off"}, &log), 0) << log;
  ASSERT_EQ(testing::RunRapid({"run", "--devices", "cuda:0", "--output", dir.Path("gpu"), "--progress", "off"}, &log), 0)
      << log;
  const auto cpu = testing::ReadCsv(dir.Path("cpu/picks.csv"));
  const auto gpu = testing::ReadCsv(dir.Path("gpu/picks.csv"));
  ASSERT_EQ(gpu.size(), cpu.size());
  for (size_t i = 1; i < cpu.size(); ++i) {
    EXPECT_EQ(gpu[i][0], cpu[i][0]);
    EXPECT_EQ(gpu[i][1], cpu[i][1]);
    EXPECT_LE(std::llabs(testing::Iso(gpu[i][2].c_str()) - testing::Iso(cpu[i][2].c_str())), 10'000'000);
    EXPECT_NEAR(std::stod(gpu[i][3]), std::stod(cpu[i][3]), 1e-3);
  }
  const std::string run = testing::ReadFileText(dir.Path("gpu/run.json"));
  EXPECT_NE(run.find("\"name\": \"cuda:0\""), std::string::npos);
}

}  // namespace
}  // namespace rapid
