#include "models/cred.h"

#include <utility>

#include "models/lstm_layer.h"
#include "models/strict_params.h"
#include "models/weights_metadata.h"

namespace rapid {

namespace {

constexpr int64_t kInChannels = 3;
constexpr int64_t kInSamples = 3000;
constexpr int64_t kFftSize = 80, kHop = 40;
constexpr double kSpectrogramScale = 0.025;
constexpr double kBatchNormEps = 1e-3;
// Two stride-2 convolutions: 76 × 41 → 38 × 21 → 19 × 11, 16 filters → 19 steps of 11·16 features.
constexpr int64_t kSteps = 19;
constexpr int64_t kLstmHidden = 64;

// 2-D convolution `prefix` (weight out × in × k × k, bias) over *x, zero padding k/2 on each side
// of both axes; *x becomes its output.
Status Conv2d(StrictParams* p, Graph* g, const std::string& prefix, int64_t out, int64_t kernel, int64_t stride,
              int* x) {
  RAPID_RETURN_IF_ERROR(g->status());
  WeightTensor w, b;
  RAPID_RETURN_IF_ERROR(p->Take(prefix + ".weight", {out, g->Node(*x).channels, kernel, kernel}, &w));
  RAPID_RETURN_IF_ERROR(p->Take(prefix + ".bias", {out}, &b));
  *x = g->Conv2d(*x, std::move(w), std::move(b), stride, kernel / 2);
  return g->status();
}

// SeisBench's pre-activation residual block: x + conv1(relu(bn1(conv0(relu(bn0(x)))))), both
// convolutions keeping the size (stride 1).
Status CnnBlock(StrictParams* p, Graph* g, const std::string& prefix, int64_t kernel, int* x) {
  RAPID_RETURN_IF_ERROR(g->status());
  const int64_t channels = g->Node(*x).channels;
  int y = *x;
  RAPID_RETURN_IF_ERROR(p->TakeBatchNorm(prefix + ".norms.0", kBatchNormEps, g, y, &y));
  y = g->Relu(y);
  RAPID_RETURN_IF_ERROR(Conv2d(p, g, prefix + ".convs.0", channels, kernel, 1, &y));
  RAPID_RETURN_IF_ERROR(p->TakeBatchNorm(prefix + ".norms.1", kBatchNormEps, g, y, &y));
  y = g->Relu(y);
  RAPID_RETURN_IF_ERROR(Conv2d(p, g, prefix + ".convs.1", channels, kernel, 1, &y));
  *x = g->Add(y, *x);
  return g->status();
}

// nn.Linear `name` (weight out × in, bias) applied at every step of *x (in × steps), as the 1×1
// convolution it equals.
Status Dense(StrictParams* p, Graph* g, const std::string& name, int64_t out, int* x) {
  RAPID_RETURN_IF_ERROR(g->status());
  WeightTensor w, b;
  RAPID_RETURN_IF_ERROR(p->Take(name + ".weight", {out, g->Node(*x).channels}, &w));
  RAPID_RETURN_IF_ERROR(p->Take(name + ".bias", {out}, &b));
  w.shape.push_back(1);
  *x = g->Conv1d(*x, std::move(w), std::move(b), 1, 0, 0);
  return g->status();
}

}  // namespace

Status DescribeCred(const NamedStoredTensors& tensors, const std::string& source, const std::string& metadata_json,
                    const std::string& metadata_source, const ModelSpec& spec, Graph* graph) {
  bool original_compatible = false;
  RAPID_RETURN_IF_ERROR(ReadOriginalCompatible(metadata_json, metadata_source, &original_compatible));
  if (original_compatible) {
    return Status::InvalidArgument(metadata_source + ": CRED's original_compatible variant (Keras-converted weights) "
                                   "is not supported, only SeisBench's default");
  }
  if (spec.Channels() != kInChannels || spec.in_samples != kInSamples || spec.Labels() != 1 ||
      spec.OutSamples() != kSteps) {
    return Status::InvalidArgument(source + ": CRED takes 3 components of 3000 samples and gives 1 label at 19 steps");
  }
  StrictParams p(tensors, source);
  Graph& g = *graph;
  int x = g.Spectrogram(g.Input(kInChannels, kInSamples), kFftSize, kHop, kSpectrogramScale);  // 3 × 76 × 41
  RAPID_RETURN_IF_ERROR(Conv2d(&p, &g, "conv1", 8, 9, 2, &x));
  x = g.Relu(x);
  RAPID_RETURN_IF_ERROR(CnnBlock(&p, &g, "cnn_block1", 7, &x));
  RAPID_RETURN_IF_ERROR(Conv2d(&p, &g, "conv2", 16, 5, 2, &x));
  x = g.Relu(x);
  RAPID_RETURN_IF_ERROR(CnnBlock(&p, &g, "cnn_block2", 3, &x));
  // (filters, steps, frequencies) → the features of a step frequency-major (w·16 + c), as
  // SeisBench's permute(0, 2, 3, 1) + reshape: 176 × 19.
  int first = g.FlattenWidth(x);
  auto lstm = [&](const std::string& prefix, bool bidirectional, int* y) {
    return TakeLstm(&p, &g, prefix, LstmKeys::kTorch, kLstmHidden, bidirectional, GateActivation::kSigmoid, y);
  };
  RAPID_RETURN_IF_ERROR(lstm("lstm_block.lstms.0", /*bidirectional=*/true, &first));
  int second = first;
  RAPID_RETURN_IF_ERROR(lstm("lstm_block.lstms.1", /*bidirectional=*/true, &second));
  x = g.Add(second, first);
  RAPID_RETURN_IF_ERROR(lstm("lstm", /*bidirectional=*/false, &x));
  // Dropout is inactive at inference.
  RAPID_RETURN_IF_ERROR(p.TakeBatchNorm("norm1", kBatchNormEps, &g, x, &x));
  RAPID_RETURN_IF_ERROR(Dense(&p, &g, "fc1", kLstmHidden, &x));
  x = g.Relu(x);
  RAPID_RETURN_IF_ERROR(p.TakeBatchNorm("norm2", kBatchNormEps, &g, x, &x));
  RAPID_RETURN_IF_ERROR(Dense(&p, &g, "fc2", 1, &x));
  g.SetOutput(x, OutputActivation::kSigmoid);
  RAPID_RETURN_IF_ERROR(p.CheckAllUsed());
  return g.status();
}

}  // namespace rapid
