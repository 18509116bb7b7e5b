#include "models/phasenetlight.h"

#include <ATen/ATen.h>

#include <array>

#include "models/strict_params.h"
#include "models/torch_model.h"

namespace rapid {

namespace {

constexpr int kLevels = 4;  // stride-4 stages below the input resolution
constexpr int64_t kKernel = 7;
constexpr int64_t kStride = 4;
constexpr int64_t kInFilters = 8;
constexpr std::array<int64_t, kLevels> kFilters = {11, 16, 22, 32};
constexpr double kBatchNormEps = 1e-5;

struct Conv {
  at::Tensor weight, bias;
};

// Decoder level i (0 = deepest): SeisBench gives each transposed convolution the padding of the
// encoder convolution it mirrors (TensorFlow-style "same" = 2 at stride 4, kernel 7), except the
// last (3) and adds one output sample at level 1, so every output meets its skip's length exactly
// for 3001-sample windows (12 → 47 → 188 → 751 → 3001).
constexpr std::array<int64_t, kLevels> kUpPadding = {2, 2, 2, 3};
constexpr std::array<int64_t, kLevels> kUpOutputPadding = {0, 1, 0, 0};

class PhaseNetLightModel : public TorchModel {
 public:
  explicit PhaseNetLightModel(ModelSpec spec)
      : TorchModel(std::move(spec), OutputActivation::kSoftmaxOverLabels) {}

  Status Load(const std::vector<std::pair<std::string, at::Tensor>>& tensors, const std::string& source) {
    StrictParams p(tensors, source);
    RAPID_RETURN_IF_ERROR(p.Take("inc.weight", {kInFilters, spec_.Channels(), 1}, &inc_.weight));
    RAPID_RETURN_IF_ERROR(p.Take("inc.bias", {kInFilters}, &inc_.bias));
    RAPID_RETURN_IF_ERROR(in_bn_.Load(&p, "in_bn", kInFilters, kBatchNormEps));
    int64_t last = kInFilters;
    for (int i = 0; i < kLevels; ++i) {
      const std::string n = std::to_string(i + 1);
      RAPID_RETURN_IF_ERROR(p.Take("conv" + n + ".conv.weight", {kFilters[i], last, kKernel}, &down_[i].weight));
      RAPID_RETURN_IF_ERROR(p.Take("conv" + n + ".conv.bias", {kFilters[i]}, &down_[i].bias));
      RAPID_RETURN_IF_ERROR(bn_down_[i].Load(&p, "bnd" + n, kFilters[i], kBatchNormEps));
      last = kFilters[i];
    }
    // Decoder level i reads the previous level's output (concatenated with its skip, except at
    // the deepest level) and produces the width of the skip it is joined to next.
    for (int i = 0; i < kLevels; ++i) {
      const std::string n = std::to_string(i + 1);
      const int64_t out_filters = i + 1 < kLevels ? kFilters[kLevels - 2 - i] : kInFilters;
      const int64_t in_filters = i == 0 ? kFilters[kLevels - 1] : 2 * kFilters[kLevels - 1 - i];
      RAPID_RETURN_IF_ERROR(p.Take("up" + n + ".weight", {in_filters, out_filters, kKernel}, &up_[i].weight));
      RAPID_RETURN_IF_ERROR(p.Take("up" + n + ".bias", {out_filters}, &up_[i].bias));
      RAPID_RETURN_IF_ERROR(bn_up_[i].Load(&p, "bnu" + n, out_filters, kBatchNormEps));
    }
    RAPID_RETURN_IF_ERROR(p.Take("out.weight", {2 * kInFilters, spec_.Labels(), 1}, &out_.weight));
    RAPID_RETURN_IF_ERROR(p.Take("out.bias", {spec_.Labels()}, &out_.bias));
    RAPID_RETURN_IF_ERROR(p.CheckAllUsed());
    CountWeights(tensors);
    return Status::OK();
  }

 private:
  at::Tensor Logits(const at::Tensor& input) const override {
    std::array<at::Tensor, kLevels + 1> skips;  // skips[0] = input level, skips[i] = encoder level i
    skips[0] = at::relu(in_bn_(at::conv1d(input, inc_.weight, inc_.bias)));
    for (int i = 0; i < kLevels; ++i) {
      // SeisBench's Conv1dSame pads 3 on both sides at stride 4, kernel 7.
      skips[i + 1] = at::relu(bn_down_[i](at::conv1d(skips[i], down_[i].weight, down_[i].bias, kStride, 3)));
    }
    at::Tensor x = skips[kLevels];
    for (int i = 0; i < kLevels; ++i) {
      at::Tensor up = at::relu(bn_up_[i](
          at::conv_transpose1d(x, up_[i].weight, up_[i].bias, kStride, kUpPadding[i], kUpOutputPadding[i])));
      x = at::cat({up, skips[kLevels - 1 - i]}, 1);
    }
    return at::conv_transpose1d(x, out_.weight, out_.bias);
  }

  Conv inc_, out_;
  BatchNorm in_bn_;
  std::array<Conv, kLevels> down_, up_;
  std::array<BatchNorm, kLevels> bn_down_, bn_up_;
};

}  // namespace

Status BuildPhaseNetLight(const std::vector<std::pair<std::string, at::Tensor>>& tensors, const std::string& source,
                          const ModelSpec& spec, std::unique_ptr<Model>* out) {
  auto model = std::make_unique<PhaseNetLightModel>(spec);
  RAPID_RETURN_IF_ERROR(model->Load(tensors, source));
  *out = std::move(model);
  return Status::OK();
}

}  // namespace rapid
