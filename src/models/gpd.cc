#include "models/gpd.h"

#include <array>

#include "models/strict_params.h"
#include "models/weights_metadata.h"

namespace rapid {

namespace {

constexpr int64_t kInSamples = 400;
constexpr double kBatchNormEps = 1e-3;
constexpr double kPeakEps = 1e-10;
constexpr int64_t kHidden = 200;  // width of fc1 and fc2

// The four conv stages: filters and (odd) kernel length; each keeps the length ("same" padding)
// and is followed by batch norm, ReLU and max-pooling by 2.
struct ConvShape {
  int64_t filters, kernel;
};
constexpr std::array<ConvShape, 4> kConvs = {{{32, 21}, {64, 15}, {128, 11}, {256, 9}}};

// 400 samples halved four times: 25 per filter of the last stage.
constexpr int64_t kFinalSamples = kInSamples >> kConvs.size();
constexpr int64_t kFlat = kConvs.back().filters * kFinalSamples;  // 6400

// Dense layer `name` (weight out × in, bias) over node x (channels × length, in = channels ·
// length) as a convolution whose kernel covers x: weight[o][c][t] is the dense weight of feature
// c·length + t (channel-major flattening) or t·channels + c (time-major).
Status Dense(StrictParams* p, Graph* g, const std::string& name, int64_t out, bool time_major, int* x) {
  RAPID_RETURN_IF_ERROR(g->status());
  const int64_t channels = g->Node(*x).channels, length = g->Node(*x).length;
  WeightTensor dense, bias;
  RAPID_RETURN_IF_ERROR(p->Take(name + ".weight", {out, channels * length}, &dense));
  RAPID_RETURN_IF_ERROR(p->Take(name + ".bias", {out}, &bias));
  WeightTensor conv;
  conv.shape = {out, channels, length};
  conv.values.resize(dense.values.size());
  for (int64_t o = 0; o < out; ++o) {
    for (int64_t c = 0; c < channels; ++c) {
      for (int64_t t = 0; t < length; ++t) {
        const int64_t feature = time_major ? t * channels + c : c * length + t;
        conv.values[static_cast<size_t>((o * channels + c) * length + t)] =
            dense.values[static_cast<size_t>(o * channels * length + feature)];
      }
    }
  }
  *x = g->Conv1d(*x, std::move(conv), std::move(bias), 1, 0, 0);
  return g->status();
}

}  // namespace

Status DescribeGpd(const NamedStoredTensors& tensors, const std::string& source,
                   const std::string& metadata_json, const std::string& metadata_source, const ModelSpec& spec,
                   Graph* graph) {
  bool original_compatible = false;
  RAPID_RETURN_IF_ERROR(ReadOriginalCompatible(metadata_json, metadata_source, &original_compatible));
  if (spec.in_samples != kInSamples || spec.OutSamples() != 1) {
    return Status::InvalidArgument(source + ": GPD needs in_samples " + std::to_string(kInSamples) +
                                   " and out_samples 1 (its fc1 takes a fixed " + std::to_string(kFlat) +
                                   " features)");
  }
  StrictParams p(tensors, source);
  Graph& g = *graph;
  // SeisBench's forward divides each window by its peak over channels and time first.
  int x = g.ScaleByPeak(g.Input(spec.Channels(), spec.in_samples), kPeakEps);
  for (size_t i = 0; i < kConvs.size(); ++i) {
    const std::string n = std::to_string(i + 1);
    WeightTensor w, b;
    RAPID_RETURN_IF_ERROR(g.status());
    const int64_t in_channels = g.Node(x).channels;
    RAPID_RETURN_IF_ERROR(p.Take("conv" + n + ".weight", {kConvs[i].filters, in_channels, kConvs[i].kernel}, &w));
    RAPID_RETURN_IF_ERROR(p.Take("conv" + n + ".bias", {kConvs[i].filters}, &b));
    const int64_t pad = kConvs[i].kernel / 2;
    x = g.Conv1d(x, std::move(w), std::move(b), 1, pad, pad);
    RAPID_RETURN_IF_ERROR(p.TakeBatchNorm("bn" + n, kBatchNormEps, &g, x, &x));
    x = g.MaxPool(g.Relu(x), 2, 2);
  }
  RAPID_RETURN_IF_ERROR(Dense(&p, &g, "fc1", kHidden, original_compatible, &x));
  RAPID_RETURN_IF_ERROR(p.TakeBatchNorm("bn5", kBatchNormEps, &g, x, &x));
  x = g.Relu(x);
  RAPID_RETURN_IF_ERROR(Dense(&p, &g, "fc2", kHidden, false, &x));
  RAPID_RETURN_IF_ERROR(p.TakeBatchNorm("bn6", kBatchNormEps, &g, x, &x));
  x = g.Relu(x);
  RAPID_RETURN_IF_ERROR(Dense(&p, &g, "fc3", spec.Labels(), false, &x));
  g.SetOutput(x, OutputActivation::kSoftmaxOverLabels);
  RAPID_RETURN_IF_ERROR(p.CheckAllUsed());
  return g.status();
}

}  // namespace rapid
