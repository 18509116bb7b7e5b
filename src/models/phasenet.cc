#include "models/phasenet.h"

#include <ATen/ATen.h>

#include <array>

#include "models/strict_params.h"
#include "models/torch_model.h"

namespace rapid {

namespace {

constexpr int kDepth = 5;
constexpr int64_t kKernel = 7;
constexpr int64_t kStride = 4;
constexpr int64_t kRootFilters = 8;
constexpr double kBatchNormEps = 1e-3;

// Stage i of the encoder: conv (same) + BN, then (except the deepest) a strided conv + BN.
struct DownStage {
  at::Tensor conv_same, conv_down;
  BatchNorm bn1, bn2;
};

// Stage i of the decoder: transposed conv + BN, concatenation with the skip, conv (same) + BN.
struct UpStage {
  at::Tensor conv_up, conv_same;
  BatchNorm bn1, bn2;
};

class PhaseNetModel : public TorchModel {
 public:
  explicit PhaseNetModel(ModelSpec spec) : TorchModel(std::move(spec), OutputActivation::kSoftmaxOverLabels) {}

  Status Load(const std::vector<std::pair<std::string, at::Tensor>>& tensors, const std::string& source) {
    StrictParams p(tensors, source);
    const int64_t in_ch = spec_.Channels();
    RAPID_RETURN_IF_ERROR(p.Take("inc.weight", {kRootFilters, in_ch, kKernel}, &inc_w_));
    RAPID_RETURN_IF_ERROR(p.Take("inc.bias", {kRootFilters}, &inc_b_));
    RAPID_RETURN_IF_ERROR(in_bn_.Load(&p, "in_bn", kRootFilters, kBatchNormEps));
    int64_t last = kRootFilters;
    for (int i = 0; i < kDepth; ++i) {
      const int64_t filters = kRootFilters << i;
      const std::string pre = "down_branch." + std::to_string(i) + ".";
      DownStage& s = down_[i];
      RAPID_RETURN_IF_ERROR(p.Take(pre + "0.weight", {filters, last, kKernel}, &s.conv_same));
      RAPID_RETURN_IF_ERROR(s.bn1.Load(&p, pre + "1", filters, kBatchNormEps));
      if (i < kDepth - 1) {
        RAPID_RETURN_IF_ERROR(p.Take(pre + "2.weight", {filters, filters, kKernel}, &s.conv_down));
        RAPID_RETURN_IF_ERROR(s.bn2.Load(&p, pre + "3", filters, kBatchNormEps));
      }
      last = filters;
    }
    for (int i = 0; i < kDepth - 1; ++i) {
      const int64_t filters = kRootFilters << (kDepth - 2 - i);
      const std::string pre = "up_branch." + std::to_string(i) + ".";
      UpStage& s = up_[i];
      RAPID_RETURN_IF_ERROR(p.Take(pre + "0.weight", {last, filters, kKernel}, &s.conv_up));
      RAPID_RETURN_IF_ERROR(s.bn1.Load(&p, pre + "1", filters, kBatchNormEps));
      RAPID_RETURN_IF_ERROR(p.Take(pre + "2.weight", {filters, 2 * filters, kKernel}, &s.conv_same));
      RAPID_RETURN_IF_ERROR(s.bn2.Load(&p, pre + "3", filters, kBatchNormEps));
      last = filters;
    }
    RAPID_RETURN_IF_ERROR(p.Take("out.weight", {spec_.Labels(), last, 1}, &out_w_));
    RAPID_RETURN_IF_ERROR(p.Take("out.bias", {spec_.Labels()}, &out_b_));
    RAPID_RETURN_IF_ERROR(p.CheckAllUsed());
    CountWeights(tensors);
    return Status::OK();
  }

 private:
  at::Tensor Logits(const at::Tensor& input) const override {
    at::Tensor x = input;
    const int64_t same_pad = kKernel / 2;
    x = at::relu(in_bn_(at::conv1d(x, inc_w_, inc_b_, 1, same_pad)));
    std::array<at::Tensor, kDepth - 1> skips;
    for (int i = 0; i < kDepth; ++i) {
      const DownStage& s = down_[i];
      x = at::relu(s.bn1(at::conv1d(x, s.conv_same, {}, 1, same_pad)));
      if (i == kDepth - 1) break;
      skips[i] = x;
      // SeisBench pads stages 1–3 asymmetrically by hand (TensorFlow "same" for stride 4).
      int64_t pad = 0;
      if (i == 0) pad = same_pad;
      else if (i == 2) x = at::constant_pad_nd(x, {1, 3}, 0);
      else x = at::constant_pad_nd(x, {2, 3}, 0);
      x = at::relu(s.bn2(at::conv1d(x, s.conv_down, {}, kStride, pad)));
    }
    for (int i = 0; i < kDepth - 1; ++i) {
      const UpStage& s = up_[i];
      x = at::relu(s.bn1(at::conv_transpose1d(x, s.conv_up, {}, kStride)));
      // SeisBench drops the first and the last two samples of the upsampled signal, then centres
      // what remains on the skip connection.
      x = x.narrow(2, 1, x.size(2) - 3);
      const at::Tensor& skip = skips[kDepth - 2 - i];
      const int64_t offset = (x.size(2) - skip.size(2)) / 2;
      x = at::cat({skip, x.narrow(2, offset, skip.size(2))}, 1);
      x = at::relu(s.bn2(at::conv1d(x, s.conv_same, {}, 1, same_pad)));
    }
    return at::conv1d(x, out_w_, out_b_);
  }

  at::Tensor inc_w_, inc_b_, out_w_, out_b_;
  BatchNorm in_bn_;
  std::array<DownStage, kDepth> down_;
  std::array<UpStage, kDepth - 1> up_;
};

}  // namespace

Status BuildPhaseNet(const std::vector<std::pair<std::string, at::Tensor>>& tensors, const std::string& source,
                     const ModelSpec& spec, std::unique_ptr<Model>* out) {
  auto model = std::make_unique<PhaseNetModel>(spec);
  RAPID_RETURN_IF_ERROR(model->Load(tensors, source));
  *out = std::move(model);
  return Status::OK();
}

}  // namespace rapid
