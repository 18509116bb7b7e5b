#include "models/cred.h"

#include <ATen/ATen.h>

#include "models/eqtransformer_layers.h"
#include "models/strict_params.h"
#include "models/torch_model.h"
#include "models/weights_metadata.h"

namespace rapid {

namespace {

constexpr double kBatchNormEps = 1e-3;
constexpr int64_t kInChannels = 3;
// Two stride-2 convolutions: 76 × 41 → 38 × 21 → 19 × 11, 16 filters → 19 steps of 11·16 features.
constexpr int64_t kSteps = 19, kLstmIn = 11 * 16;
constexpr int64_t kLstmHidden = 64;

struct Conv2d {
  at::Tensor weight, bias;
  Status Load(TorchParams* p, const std::string& prefix, int64_t out, int64_t in, int64_t kernel) {
    RAPID_RETURN_IF_ERROR(p->Take(prefix + ".weight", {out, in, kernel, kernel}, &weight));
    return p->Take(prefix + ".bias", {out}, &bias);
  }
  at::Tensor operator()(const at::Tensor& x, int64_t stride) const {
    const int64_t pad = weight.size(2) / 2;
    return at::conv2d(x, weight, bias, {stride, stride}, {pad, pad});
  }
};

// Pre-activation residual branch: BN, ReLU, conv, BN, ReLU, conv ("same" padding, stride 1).
struct CnnBlock {
  BatchNorm norm0, norm1;
  Conv2d conv0, conv1;
  Status Load(TorchParams* p, const std::string& prefix, int64_t channels, int64_t kernel) {
    RAPID_RETURN_IF_ERROR(norm0.Load(p, prefix + ".norms.0", channels, kBatchNormEps));
    RAPID_RETURN_IF_ERROR(norm1.Load(p, prefix + ".norms.1", channels, kBatchNormEps));
    RAPID_RETURN_IF_ERROR(conv0.Load(p, prefix + ".convs.0", channels, channels, kernel));
    return conv1.Load(p, prefix + ".convs.1", channels, channels, kernel);
  }
  at::Tensor operator()(const at::Tensor& x) const {
    return conv1(at::relu(norm1(conv0(at::relu(norm0(x)), 1))), 1);
  }
};

struct Dense {
  at::Tensor weight, bias;
  Status Load(TorchParams* p, const std::string& prefix, int64_t out, int64_t in) {
    RAPID_RETURN_IF_ERROR(p->Take(prefix + ".weight", {out, in}, &weight));
    return p->Take(prefix + ".bias", {out}, &bias);
  }
};

constexpr int64_t kInSamples = 3000;
constexpr int64_t kFftSize = 80, kHop = 40;
constexpr double kSpectrogramScale = 0.025;

class Cred : public TorchModel {
 public:
  explicit Cred(ModelSpec spec) : TorchModel(std::move(spec), OutputActivation::kSigmoid) {}

  Status Load(const NamedStoredTensors& tensors, const std::string& source, const at::Device& device) {
    if (spec_.Channels() != kInChannels || spec_.in_samples != kInSamples || spec_.Labels() != 1 ||
        spec_.OutSamples() != kSteps) {
      return Status::InvalidArgument(source + ": CRED takes 3 components of 3000 samples and gives 1 label at 19 steps");
    }
    TorchParams p(tensors, source, device);
    RAPID_RETURN_IF_ERROR(conv1_.Load(&p, "conv1", 8, kInChannels, 9));
    RAPID_RETURN_IF_ERROR(block1_.Load(&p, "cnn_block1", 8, 7));
    RAPID_RETURN_IF_ERROR(conv2_.Load(&p, "conv2", 16, 8, 5));
    RAPID_RETURN_IF_ERROR(block2_.Load(&p, "cnn_block2", 16, 3));
    RAPID_RETURN_IF_ERROR(lstm0_.Load(&p, "lstm_block.lstms.0", eqt::LstmKeys::kTorch, kLstmIn, kLstmHidden,
                                      /*bidirectional=*/true, eqt::GateActivation::kSigmoid));
    RAPID_RETURN_IF_ERROR(lstm1_.Load(&p, "lstm_block.lstms.1", eqt::LstmKeys::kTorch, 2 * kLstmHidden, kLstmHidden,
                                      /*bidirectional=*/true, eqt::GateActivation::kSigmoid));
    RAPID_RETURN_IF_ERROR(lstm_.Load(&p, "lstm", eqt::LstmKeys::kTorch, 2 * kLstmHidden, kLstmHidden,
                                     /*bidirectional=*/false, eqt::GateActivation::kSigmoid));
    RAPID_RETURN_IF_ERROR(norm1_.Load(&p, "norm1", kLstmHidden, kBatchNormEps));
    RAPID_RETURN_IF_ERROR(fc1_.Load(&p, "fc1", kLstmHidden, kLstmHidden));
    RAPID_RETURN_IF_ERROR(norm2_.Load(&p, "norm2", kLstmHidden, kBatchNormEps));
    RAPID_RETURN_IF_ERROR(fc2_.Load(&p, "fc2", 1, kLstmHidden));
    RAPID_RETURN_IF_ERROR(p.CheckAllUsed());
    CountWeights(tensors, device);
    return Status::OK();
  }

 private:
  // batch × 1 × 19 detection scores of normalised windows (batch × 3 × 3000).
  at::Tensor Logits(const at::Tensor& windows) const override {
    at::Tensor x = at::relu(conv1_(CredSpectrogram(windows), 2));
    x = block1_(x) + x;
    x = at::relu(conv2_(x, 2));
    x = block2_(x) + x;
    // (batch, filters, steps, frequencies) → features of one step ordered frequency-major, as
    // SeisBench's permute(0, 2, 3, 1) + reshape; the LSTMs take (batch, features, steps).
    const int64_t batch = x.size(0);
    x = x.permute({0, 2, 3, 1}).reshape({batch, kSteps, kLstmIn}).transpose(1, 2);
    const at::Tensor first = lstm0_(x);
    x = lstm1_(first) + first;
    x = norm1_(lstm_(x));  // (batch, 64, steps); dropout is inactive at inference
    x = at::relu(at::linear(x.transpose(1, 2), fc1_.weight, fc1_.bias));
    x = norm2_(x.transpose(1, 2)).transpose(1, 2);
    return at::linear(x, fc2_.weight, fc2_.bias).transpose(1, 2);  // (batch, 1, steps)
  }

  Conv2d conv1_, conv2_;
  CnnBlock block1_, block2_;
  eqt::Lstm lstm0_, lstm1_, lstm_;
  BatchNorm norm1_, norm2_;
  Dense fc1_, fc2_;
};

}  // namespace

at::Tensor CredSpectrogram(const at::Tensor& windows) {
  const int64_t batch = windows.size(0), channels = windows.size(1);
  const at::Tensor hann = at::hann_window(kFftSize, /*periodic=*/true, windows.options());
  // (batch·channels, 41 frequencies, 76 frames), complex.
  const at::Tensor z = at::stft(windows.reshape({batch * channels, windows.size(2)}), kFftSize, kHop, kFftSize, hann,
                                /*center=*/true, "constant", /*normalized=*/false, /*onesided=*/true,
                                /*return_complex=*/true);
  const at::Tensor magnitude = at::abs(z * kSpectrogramScale);
  return magnitude.reshape({batch, channels, magnitude.size(1), magnitude.size(2)}).transpose(2, 3).contiguous();
}

Status BuildCred(const NamedStoredTensors& tensors, const std::string& source, const std::string& metadata_json,
                 const std::string& metadata_source, const ModelSpec& spec, const std::string& device,
                 std::unique_ptr<Model>* out) {
  bool original_compatible = false;
  RAPID_RETURN_IF_ERROR(ReadOriginalCompatible(metadata_json, metadata_source, &original_compatible));
  if (original_compatible) {
    return Status::InvalidArgument(metadata_source + ": CRED's original_compatible variant (Keras-converted weights) "
                                   "is not supported, only SeisBench's default");
  }
  at::Device torch_device = at::kCPU;
  RAPID_RETURN_IF_ERROR(ParseTorchDevice(device, &torch_device));
  auto model = std::make_unique<Cred>(spec);
  RAPID_RETURN_IF_ERROR(model->Load(tensors, source, torch_device));
  *out = std::move(model);
  return Status::OK();
}

}  // namespace rapid
