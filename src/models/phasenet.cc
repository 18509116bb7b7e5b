#include "models/phasenet.h"

#include <array>

#include "models/strict_params.h"

namespace rapid {

namespace {

constexpr int kDepth = 5;
constexpr int64_t kKernel = 7;
constexpr int64_t kStride = 4;
constexpr int64_t kRootFilters = 8;
constexpr int64_t kSamePad = kKernel / 2;
constexpr double kBatchNormEps = 1e-3;

// relu(bn(conv(x))) with weight `conv_key` (bias `conv_key`.bias when has_bias) and batch norm
// `bn_prefix`; *x becomes the result.
Status ConvBnRelu(StrictParams* p, Graph* g, const std::string& conv_key, bool has_bias, int64_t filters,
                  int64_t stride, int64_t pad_left, int64_t pad_right, const std::string& bn_prefix, int* x) {
  RAPID_RETURN_IF_ERROR(g->status());
  WeightTensor w, b;
  RAPID_RETURN_IF_ERROR(p->Take(conv_key + ".weight", {filters, g->Node(*x).channels, kKernel}, &w));
  if (has_bias) RAPID_RETURN_IF_ERROR(p->Take(conv_key + ".bias", {filters}, &b));
  int y = g->Conv1d(*x, std::move(w), std::move(b), stride, pad_left, pad_right);
  RAPID_RETURN_IF_ERROR(p->TakeBatchNorm(bn_prefix, kBatchNormEps, g, y, &y));
  *x = g->Relu(y);
  return g->status();
}

// Decoder stage i over x, joined to `skip`: transposed conv + BN + ReLU; SeisBench then drops the
// first and the last two samples of the upsampled signal and centres what remains on the skip;
// the skip and that crop, concatenated, go through conv (same) + BN + ReLU.
Status UpStage(StrictParams* p, Graph* g, int i, int skip, int* x) {
  RAPID_RETURN_IF_ERROR(g->status());
  const int64_t filters = kRootFilters << (kDepth - 2 - i);
  const std::string pre = "up_branch." + std::to_string(i) + ".";
  WeightTensor w;
  RAPID_RETURN_IF_ERROR(p->Take(pre + "0.weight", {g->Node(*x).channels, filters, kKernel}, &w));
  int y = g->ConvTranspose1d(*x, std::move(w), {}, kStride, 0, 0);
  RAPID_RETURN_IF_ERROR(p->TakeBatchNorm(pre + "1", kBatchNormEps, g, y, &y));
  y = g->Relu(y);
  RAPID_RETURN_IF_ERROR(g->status());
  const int64_t skip_length = g->Node(skip).length;
  const int64_t centre = (g->Node(y).length - 3 - skip_length) / 2;
  y = g->Concat({skip, g->Crop(y, 1 + centre, skip_length)});
  RAPID_RETURN_IF_ERROR(g->status());
  RAPID_RETURN_IF_ERROR(ConvBnRelu(p, g, pre + "2", false, filters, 1, kSamePad, kSamePad, pre + "3", &y));
  *x = y;
  return Status::OK();
}

}  // namespace

Status DescribePhaseNet(const NamedStoredTensors& tensors, const std::string& source, const ModelSpec& spec,
                        Graph* graph) {
  StrictParams p(tensors, source);
  Graph& g = *graph;
  int x = g.Input(spec.Channels(), spec.in_samples);
  RAPID_RETURN_IF_ERROR(ConvBnRelu(&p, &g, "inc", true, kRootFilters, 1, kSamePad, kSamePad, "in_bn", &x));
  std::array<int, kDepth - 1> skips{};
  for (int i = 0; i < kDepth; ++i) {
    const std::string pre = "down_branch." + std::to_string(i) + ".";
    const int64_t filters = kRootFilters << i;
    RAPID_RETURN_IF_ERROR(ConvBnRelu(&p, &g, pre + "0", false, filters, 1, kSamePad, kSamePad, pre + "1", &x));
    if (i == kDepth - 1) break;
    skips[i] = x;
    // SeisBench pads stages 1–3 asymmetrically by hand (TensorFlow "same" for stride 4).
    const int64_t pad_left = i == 0 ? kSamePad : i == 2 ? 1 : 2;
    const int64_t pad_right = i == 0 ? kSamePad : 3;
    RAPID_RETURN_IF_ERROR(ConvBnRelu(&p, &g, pre + "2", false, filters, kStride, pad_left, pad_right, pre + "3", &x));
  }
  for (int i = 0; i < kDepth - 1; ++i) RAPID_RETURN_IF_ERROR(UpStage(&p, &g, i, skips[kDepth - 2 - i], &x));
  WeightTensor w, b;
  RAPID_RETURN_IF_ERROR(p.Take("out.weight", {spec.Labels(), g.Node(x).channels, 1}, &w));
  RAPID_RETURN_IF_ERROR(p.Take("out.bias", {spec.Labels()}, &b));
  g.SetOutput(g.Conv1d(x, std::move(w), std::move(b), 1, 0, 0), OutputActivation::kSoftmaxOverLabels);
  RAPID_RETURN_IF_ERROR(p.CheckAllUsed());
  return g.status();
}

}  // namespace rapid
