#include "models/gpd.h"

#include <ATen/ATen.h>

#include <array>

#include "models/strict_params.h"
#include "models/torch_model.h"
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

struct ConvStage {
  at::Tensor weight, bias;
  int64_t pad = 0;
  BatchNorm bn;
};

struct Dense {
  at::Tensor weight, bias;
};

class GpdModel : public TorchModel {
 public:
  GpdModel(ModelSpec spec, bool original_compatible)
      : TorchModel(std::move(spec), OutputActivation::kSoftmaxOverLabels), original_compatible_(original_compatible) {}

  Status Load(const NamedStoredTensors& tensors, const std::string& source, const at::Device& device) {
    if (spec_.in_samples != kInSamples || spec_.OutSamples() != 1) {
      return Status::InvalidArgument(source + ": GPD needs in_samples " + std::to_string(kInSamples) +
                                     " and out_samples 1 (its fc1 takes a fixed " + std::to_string(kFlat) +
                                     " features)");
    }
    TorchParams p(tensors, source, device);
    int64_t last = spec_.Channels();
    for (size_t i = 0; i < kConvs.size(); ++i) {
      const std::string n = std::to_string(i + 1);
      ConvStage& s = convs_[i];
      RAPID_RETURN_IF_ERROR(p.Take("conv" + n + ".weight", {kConvs[i].filters, last, kConvs[i].kernel}, &s.weight));
      RAPID_RETURN_IF_ERROR(p.Take("conv" + n + ".bias", {kConvs[i].filters}, &s.bias));
      RAPID_RETURN_IF_ERROR(s.bn.Load(&p, "bn" + n, kConvs[i].filters, kBatchNormEps));
      s.pad = kConvs[i].kernel / 2;
      last = kConvs[i].filters;
    }
    RAPID_RETURN_IF_ERROR(TakeDense(&p, "fc1", kHidden, kFlat, &fc1_));
    RAPID_RETURN_IF_ERROR(bn5_.Load(&p, "bn5", kHidden, kBatchNormEps));
    RAPID_RETURN_IF_ERROR(TakeDense(&p, "fc2", kHidden, kHidden, &fc2_));
    RAPID_RETURN_IF_ERROR(bn6_.Load(&p, "bn6", kHidden, kBatchNormEps));
    RAPID_RETURN_IF_ERROR(TakeDense(&p, "fc3", spec_.Labels(), kHidden, &fc3_));
    RAPID_RETURN_IF_ERROR(p.CheckAllUsed());
    CountWeights(tensors, device);
    return Status::OK();
  }

 private:
  static Status TakeDense(TorchParams* p, const std::string& name, int64_t out, int64_t in, Dense* d) {
    RAPID_RETURN_IF_ERROR(p->Take(name + ".weight", {out, in}, &d->weight));
    return p->Take(name + ".bias", {out}, &d->bias);
  }

  // Returns batch × Labels (one point per window; same memory layout as batch × Labels × 1).
  at::Tensor Logits(const at::Tensor& input) const override {
    const at::Tensor peak = at::amax(at::abs(input), {1, 2}, /*keepdim=*/true);
    at::Tensor x = input / (peak + kPeakEps);
    for (const ConvStage& s : convs_) {
      x = at::max_pool1d(at::relu(s.bn(at::conv1d(x, s.weight, s.bias, 1, s.pad))), {2}, {2});
    }
    if (original_compatible_) x = x.permute({0, 2, 1});
    x = x.flatten(1);
    x = at::relu(bn5_(at::linear(x, fc1_.weight, fc1_.bias)));
    x = at::relu(bn6_(at::linear(x, fc2_.weight, fc2_.bias)));
    return at::linear(x, fc3_.weight, fc3_.bias);
  }

  bool original_compatible_;
  std::array<ConvStage, kConvs.size()> convs_;
  Dense fc1_, fc2_, fc3_;
  BatchNorm bn5_, bn6_;
};

}  // namespace

Status BuildGpd(const NamedStoredTensors& tensors, const std::string& source, const std::string& metadata_json,
                const std::string& metadata_source, const ModelSpec& spec, const std::string& device,
                std::unique_ptr<Model>* out) {
  bool original_compatible = false;
  RAPID_RETURN_IF_ERROR(ReadOriginalCompatible(metadata_json, metadata_source, &original_compatible));
  at::Device torch_device = at::kCPU;
  RAPID_RETURN_IF_ERROR(ParseTorchDevice(device, &torch_device));
  auto model = std::make_unique<GpdModel>(spec, original_compatible);
  RAPID_RETURN_IF_ERROR(model->Load(tensors, source, torch_device));
  *out = std::move(model);
  return Status::OK();
}

}  // namespace rapid
