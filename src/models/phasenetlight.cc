#include "models/phasenetlight.h"

#include <array>

#include "models/strict_params.h"

namespace rapid {

namespace {

constexpr int kLevels = 4;  // stride-4 stages below the input resolution
constexpr int64_t kKernel = 7;
constexpr int64_t kStride = 4;
constexpr int64_t kInFilters = 8;
constexpr std::array<int64_t, kLevels> kFilters = {11, 16, 22, 32};
constexpr double kBatchNormEps = 1e-5;

// Decoder level i (0 = deepest): SeisBench gives each transposed convolution the padding of the
// encoder convolution it mirrors (TensorFlow-style "same" = 2 at stride 4, kernel 7), except the
// last (3) and adds one output sample at level 1, so every output meets its skip's length exactly
// for 3001-sample windows (12 → 47 → 188 → 751 → 3001).
constexpr std::array<int64_t, kLevels> kUpPadding = {2, 2, 2, 3};
constexpr std::array<int64_t, kLevels> kUpOutputPadding = {0, 1, 0, 0};

// Weight `key`.weight of `shape` and its bias (shape[bias_dim] values) from *p.
Status TakeConv(StrictParams* p, const std::string& key, const std::vector<int64_t>& shape, size_t bias_dim,
                WeightTensor* w, WeightTensor* b) {
  RAPID_RETURN_IF_ERROR(p->Take(key + ".weight", shape, w));
  return p->Take(key + ".bias", {shape[bias_dim]}, b);
}

}  // namespace

Status DescribePhaseNetLight(const NamedStoredTensors& tensors, const std::string& source, const ModelSpec& spec,
                             Graph* graph) {
  StrictParams p(tensors, source);
  Graph& g = *graph;
  WeightTensor w, b;
  std::array<int, kLevels + 1> skips{};  // skips[0] = input level, skips[i] = encoder level i
  RAPID_RETURN_IF_ERROR(TakeConv(&p, "inc", {kInFilters, spec.Channels(), 1}, 0, &w, &b));
  int x = g.Conv1d(g.Input(spec.Channels(), spec.in_samples), std::move(w), std::move(b), 1, 0, 0);
  RAPID_RETURN_IF_ERROR(p.TakeBatchNorm("in_bn", kBatchNormEps, &g, x, &x));
  skips[0] = g.Relu(x);
  for (int i = 0; i < kLevels; ++i) {
    // SeisBench's Conv1dSame pads 3 on both sides at stride 4, kernel 7.
    const std::string n = std::to_string(i + 1);
    RAPID_RETURN_IF_ERROR(g.status());
    const int64_t in_channels = g.Node(skips[i]).channels;
    RAPID_RETURN_IF_ERROR(TakeConv(&p, "conv" + n + ".conv", {kFilters[i], in_channels, kKernel}, 0, &w, &b));
    x = g.Conv1d(skips[i], std::move(w), std::move(b), kStride, 3, 3);
    RAPID_RETURN_IF_ERROR(p.TakeBatchNorm("bnd" + n, kBatchNormEps, &g, x, &x));
    skips[i + 1] = g.Relu(x);
  }
  // Decoder level i reads the previous level's output (concatenated with its skip, except at the
  // deepest level) and produces the width of the skip it is joined to next: [upsampled, skip].
  x = skips[kLevels];
  for (int i = 0; i < kLevels; ++i) {
    const std::string n = std::to_string(i + 1);
    const int64_t out_filters = i + 1 < kLevels ? kFilters[kLevels - 2 - i] : kInFilters;
    RAPID_RETURN_IF_ERROR(g.status());
    RAPID_RETURN_IF_ERROR(TakeConv(&p, "up" + n, {g.Node(x).channels, out_filters, kKernel}, 1, &w, &b));
    int up = g.ConvTranspose1d(x, std::move(w), std::move(b), kStride, kUpPadding[i],
                               kUpPadding[i] - kUpOutputPadding[i]);
    RAPID_RETURN_IF_ERROR(p.TakeBatchNorm("bnu" + n, kBatchNormEps, &g, up, &up));
    x = g.Concat({g.Relu(up), skips[kLevels - 1 - i]});
  }
  RAPID_RETURN_IF_ERROR(g.status());
  RAPID_RETURN_IF_ERROR(TakeConv(&p, "out", {g.Node(x).channels, spec.Labels(), 1}, 1, &w, &b));
  g.SetOutput(g.ConvTranspose1d(x, std::move(w), std::move(b), 1, 0, 0), OutputActivation::kSoftmaxOverLabels);
  RAPID_RETURN_IF_ERROR(p.CheckAllUsed());
  return g.status();
}

}  // namespace rapid
