#include "models/eqcct.h"

#include <ATen/ATen.h>

#include <array>
#include <cmath>

#include "models/strict_params.h"
#include "models/torch_model.h"

namespace rapid {

namespace {

constexpr int64_t kSamples = 6000;
constexpr int64_t kChannels = 3;
constexpr int64_t kConvKernel = 11;
constexpr int64_t kHeadKernel = 15;
constexpr int64_t kPatch = 40;                     // samples per patch
constexpr int64_t kPatches = kSamples / kPatch;    // 150
constexpr int64_t kFeatures = 40;                  // conv channels = embedding width
constexpr int64_t kHeads = 4;
constexpr int64_t kKeyDim = 40;                    // per head, so attention is 160 wide inside
constexpr int kTransformerBlocks = 4;
constexpr double kBatchNormEps = 1e-3;
constexpr double kLayerNormEps = 1e-6;
constexpr const char* kPrefix = "_eqcct_backbone.";

struct Linear {
  at::Tensor weight, bias;
  Status Load(TorchParams* p, const std::string& prefix, int64_t out_features, int64_t in_features) {
    RAPID_RETURN_IF_ERROR(p->Take(prefix + ".weight", {out_features, in_features}, &weight));
    return p->Take(prefix + ".bias", {out_features}, &bias);
  }
  at::Tensor operator()(const at::Tensor& x) const { return at::linear(x, weight, bias); }
};

struct LayerNorm {
  at::Tensor weight, bias;
  Status Load(TorchParams* p, const std::string& prefix) {
    RAPID_RETURN_IF_ERROR(p->Take(prefix + ".weight", {kFeatures}, &weight));
    return p->Take(prefix + ".bias", {kFeatures}, &bias);
  }
  at::Tensor operator()(const at::Tensor& x) const { return at::layer_norm(x, {kFeatures}, weight, bias, kLayerNormEps); }
};

// Convolution (kernel 11, "same") + batch norm.
struct ConvBn {
  at::Tensor weight, bias;
  BatchNorm bn;
  Status Load(TorchParams* p, const std::string& conv, const std::string& bn_prefix, int64_t out_ch, int64_t in_ch) {
    RAPID_RETURN_IF_ERROR(p->Take(conv + ".weight", {out_ch, in_ch, kConvKernel}, &weight));
    RAPID_RETURN_IF_ERROR(p->Take(conv + ".bias", {out_ch}, &bias));
    return bn.Load(p, bn_prefix, out_ch, kBatchNormEps);
  }
  at::Tensor operator()(const at::Tensor& x) const { return bn(at::conv1d(x, weight, bias, 1, kConvKernel / 2)); }
};

// SeisBench's ConvF1Block on (batch, channels, length): two width-keeping conv+BN+GELU layers
// with a residual connection around them, then a conv+BN+GELU that changes the width.
struct ConvBlock {
  std::array<ConvBn, 3> layers;
  Status Load(TorchParams* p, const std::string& prefix, int64_t in_ch, int64_t out_ch) {
    for (int i = 0; i < 3; ++i) {
      const std::string n = std::to_string(i + 1);
      RAPID_RETURN_IF_ERROR(
          layers[i].Load(p, prefix + ".conv" + n, prefix + ".bn" + n, i == 2 ? out_ch : in_ch, in_ch));
    }
    return Status::OK();
  }
  at::Tensor operator()(const at::Tensor& x) const {
    at::Tensor y = at::gelu(layers[1](at::gelu(layers[0](x)))) + x;
    return at::gelu(layers[2](y));
  }
};

// Keras MultiHeadAttention (self-attention, 4 heads of 40) on (batch, patches, features).
struct Attention {
  Linear q, k, v, o;
  Status Load(TorchParams* p, const std::string& prefix) {
    RAPID_RETURN_IF_ERROR(q.Load(p, prefix + ".q", kHeads * kKeyDim, kFeatures));
    RAPID_RETURN_IF_ERROR(k.Load(p, prefix + ".k", kHeads * kKeyDim, kFeatures));
    RAPID_RETURN_IF_ERROR(v.Load(p, prefix + ".v", kHeads * kKeyDim, kFeatures));
    return o.Load(p, prefix + ".o", kFeatures, kHeads * kKeyDim);
  }
  at::Tensor operator()(const at::Tensor& x) const {
    const int64_t batch = x.size(0), tokens = x.size(1);
    auto heads = [&](const at::Tensor& t) { return t.view({batch, tokens, kHeads, kKeyDim}).transpose(1, 2); };
    // The scale multiplies the scores (not the queries), as SeisBench does.
    at::Tensor scores = at::matmul(heads(q(x)), heads(k(x)).transpose(-2, -1)) * (1.0 / std::sqrt(double(kKeyDim)));
    at::Tensor context = at::matmul(at::softmax(scores, -1), heads(v(x)));
    return o(context.transpose(1, 2).reshape({batch, tokens, kHeads * kKeyDim}));
  }
};

struct TransformerBlock {
  LayerNorm norm1, norm2;
  Attention attn;
  Linear fc1, fc2;
  Status Load(TorchParams* p, const std::string& prefix) {
    RAPID_RETURN_IF_ERROR(norm1.Load(p, prefix + ".norm1"));
    RAPID_RETURN_IF_ERROR(attn.Load(p, prefix + ".attn"));
    RAPID_RETURN_IF_ERROR(norm2.Load(p, prefix + ".norm2"));
    RAPID_RETURN_IF_ERROR(fc1.Load(p, prefix + ".mlp.fc1", kFeatures, kFeatures));
    return fc2.Load(p, prefix + ".mlp.fc2", kFeatures, kFeatures);
  }
  at::Tensor Mlp(const at::Tensor& x) const { return at::gelu(fc2(at::gelu(fc1(x)))); }
};

// Applies a ConvBlock to (batch, patches, features) along the patch axis.
at::Tensor AlongPatches(const ConvBlock& block, const at::Tensor& x) {
  return block(x.transpose(1, 2)).transpose(1, 2);
}

// One EQCCT network (P or S). `with_extra_convs` selects the S variant.
class Network {
 public:
  explicit Network(bool with_extra_convs) : extra_(with_extra_convs) {}

  Status Load(const NamedStoredTensors& tensors, const std::string& source, const at::Device& device) {
    TorchParams p(tensors, source, device);
    const std::string pre = kPrefix;
    RAPID_RETURN_IF_ERROR(stem_[0].Load(&p, pre + "conv1", kChannels, 10));
    RAPID_RETURN_IF_ERROR(stem_[1].Load(&p, pre + "conv2", 10, 20));
    RAPID_RETURN_IF_ERROR(stem_[2].Load(&p, pre + "conv3", 20, kFeatures));
    RAPID_RETURN_IF_ERROR(projection_.Load(&p, pre + "encoder.projection", kFeatures, kPatch * kFeatures));
    RAPID_RETURN_IF_ERROR(p.Take(pre + "encoder.position_embedding.weight", {kPatches, kFeatures}, &positions_));
    // SeisBench names the P network's blocks `transformer.<i>` and the S network's `transformers.<i>`.
    const std::string blocks = pre + (extra_ ? "transformers." : "transformer.");
    for (int i = 0; i < kTransformerBlocks; ++i) {
      RAPID_RETURN_IF_ERROR(blocks_[i].Load(&p, blocks + std::to_string(i)));
      if (extra_) {
        RAPID_RETURN_IF_ERROR(pre_convs_[i].Load(&p, pre + "extra_pre." + std::to_string(i), kFeatures, kFeatures));
        RAPID_RETURN_IF_ERROR(post_convs_[i].Load(&p, pre + "extra_post." + std::to_string(i), kFeatures, kFeatures));
      }
    }
    RAPID_RETURN_IF_ERROR(norm_.Load(&p, pre + "norm"));
    RAPID_RETURN_IF_ERROR(p.Take(pre + "head.conv.weight", {1, 1, kHeadKernel}, &head_weight_));
    RAPID_RETURN_IF_ERROR(p.Take(pre + "head.conv.bias", {1}, &head_bias_));
    return p.CheckAllUsed();
  }

  // (batch, 3, 6000) normalised windows → (batch, 6000) pre-sigmoid scores.
  at::Tensor Logits(const at::Tensor& input) const {
    const int64_t batch = input.size(0);
    at::Tensor x = input;
    for (const ConvBlock& block : stem_) x = block(x);
    // Patch p holds samples [40p, 40p + 40) of all 40 channels, flattened as sample·40 + channel.
    x = x.view({batch, kFeatures, kPatches, kPatch}).permute({0, 2, 3, 1}).reshape({batch, kPatches, kPatch * kFeatures});
    x = projection_(x) + positions_;
    for (int i = 0; i < kTransformerBlocks; ++i) {
      const TransformerBlock& b = blocks_[i];
      if (extra_) x = AlongPatches(pre_convs_[i], x);  // replaces x: no residual around it
      at::Tensor attended = b.attn(b.norm1(x));
      if (extra_) attended = AlongPatches(post_convs_[i], attended);
      x = x + attended;
      x = x + b.Mlp(b.norm2(x));
    }
    // The 150 × 40 features are read back as one 6000-sample trace (patch-major).
    x = norm_(x).reshape({batch, 1, kSamples});
    return at::conv1d(x, head_weight_, head_bias_, 1, kHeadKernel / 2).reshape({batch, kSamples});
  }

 private:
  bool extra_;
  std::array<ConvBlock, 3> stem_;
  Linear projection_;
  at::Tensor positions_;
  std::array<TransformerBlock, kTransformerBlocks> blocks_;
  std::array<ConvBlock, kTransformerBlocks> pre_convs_, post_convs_;  // S network only
  LayerNorm norm_;
  at::Tensor head_weight_, head_bias_;
};

class EqcctModel : public TorchModel {
 public:
  explicit EqcctModel(ModelSpec spec) : TorchModel(std::move(spec), OutputActivation::kSigmoid) {}

  Status Load(const NamedStoredTensors& p_tensors, const std::string& p_source, const NamedStoredTensors& s_tensors,
              const std::string& s_source, const at::Device& device) {
    RAPID_RETURN_IF_ERROR(p_net_.Load(p_tensors, p_source, device));
    RAPID_RETURN_IF_ERROR(s_net_.Load(s_tensors, s_source, device));
    // The spec comes from the weights' JSON files, which may not be EQCCT's.
    const std::string sources = p_source + ", " + s_source;
    if (spec_.Channels() != kChannels || spec_.in_samples != kSamples ||
        spec_.labels != std::vector<std::string>{"P", "S"}) {
      return Status::InvalidArgument(sources + ": EQCCT needs 3 components, 6000 samples and labels P,S");
    }
    // SeisBench tapers EQCCT's windows whatever the norm; RAPID has the taper only with "std".
    if (spec_.norm != WindowNorm::kStdAllChannelsTapered) {
      return Status::InvalidArgument(sources + ": EQCCT runs only with norm \"std\" (one std over all components)");
    }
    CountWeights(p_tensors, device);
    CountWeights(s_tensors, device);
    return Status::OK();
  }

 private:
  at::Tensor Logits(const at::Tensor& x) const override {
    return at::stack({p_net_.Logits(x), s_net_.Logits(x)}, 1);  // batch × {P, S} × samples
  }

  Network p_net_{/*with_extra_convs=*/false};
  Network s_net_{/*with_extra_convs=*/true};
};

}  // namespace

Status BuildEqcct(const NamedStoredTensors& p_tensors, const std::string& p_source, const NamedStoredTensors& s_tensors,
                  const std::string& s_source, const ModelSpec& spec, const std::string& device,
                  std::unique_ptr<Model>* out) {
  at::Device torch_device = at::kCPU;
  RAPID_RETURN_IF_ERROR(ParseTorchDevice(device, &torch_device));
  auto model = std::make_unique<EqcctModel>(spec);
  RAPID_RETURN_IF_ERROR(model->Load(p_tensors, p_source, s_tensors, s_source, torch_device));
  *out = std::move(model);
  return Status::OK();
}

}  // namespace rapid
