#include "models/cred.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <exception>

#include "models/eqtransformer_layers.h"
#include "models/strict_params.h"
#include "models/torch_model.h"

namespace rapid {

namespace {

constexpr double kBatchNormEps = 1e-3;
constexpr int64_t kInChannels = 3;
constexpr int64_t kTimeFrames = 76, kFrequencies = 41;
// Two stride-2 convolutions: 76 × 41 → 38 × 21 → 19 × 11, 16 filters → 19 steps of 11·16 features.
constexpr int64_t kSteps = 19, kLstmIn = 11 * 16;
constexpr int64_t kLstmHidden = 64;

struct Conv2d {
  at::Tensor weight, bias;
  Status Load(StrictParams* p, const std::string& prefix, int64_t out, int64_t in, int64_t kernel) {
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
  Status Load(StrictParams* p, const std::string& prefix, int64_t channels, int64_t kernel) {
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
  Status Load(StrictParams* p, const std::string& prefix, int64_t out, int64_t in) {
    RAPID_RETURN_IF_ERROR(p->Take(prefix + ".weight", {out, in}, &weight));
    return p->Take(prefix + ".bias", {out}, &bias);
  }
};

class Cred : public CredNetwork {
 public:
  Status Load(const std::vector<std::pair<std::string, at::Tensor>>& tensors, const std::string& source) {
    StrictParams p(tensors, source);
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
    return p.CheckAllUsed();
  }

  Status Detection(const at::Tensor& spectrogram, bool logits, at::Tensor* out) const override {
    if (spectrogram.dim() != 4 || spectrogram.size(1) != kInChannels || spectrogram.size(2) != kTimeFrames ||
        spectrogram.size(3) != kFrequencies) {
      return Status::InvalidArgument("CRED needs a (batch, 3, 76, 41) spectrogram");
    }
    try {
      c10::InferenceMode guard;
      at::Tensor x = at::relu(conv1_(spectrogram, 2));
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
      x = at::linear(x, fc2_.weight, fc2_.bias);
      *out = (logits ? x : at::sigmoid(x)).contiguous();
      return Status::OK();
    } catch (const std::exception& e) {
      return Status::Internal(std::string("CRED forward failed: ") + e.what());
    }
  }

 private:
  Conv2d conv1_, conv2_;
  CnnBlock block1_, block2_;
  eqt::Lstm lstm0_, lstm1_, lstm_;
  BatchNorm norm1_, norm2_;
  Dense fc1_, fc2_;
};

}  // namespace

Status BuildCredNetwork(const std::vector<std::pair<std::string, at::Tensor>>& tensors, const std::string& source,
                        std::unique_ptr<CredNetwork>* out) {
  auto network = std::make_unique<Cred>();
  RAPID_RETURN_IF_ERROR(network->Load(tensors, source));
  *out = std::move(network);
  return Status::OK();
}

}  // namespace rapid
