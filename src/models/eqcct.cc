#include "models/eqcct.h"

#include <cmath>
#include <utility>

#include "models/strict_params.h"

namespace rapid {

namespace {

constexpr int64_t kSamples = 6000;
constexpr int64_t kChannels = 3;
constexpr int64_t kConvKernel = 11;
constexpr int64_t kHeadKernel = 15;
constexpr int64_t kPatch = 40;                   // samples per patch
constexpr int64_t kPatches = kSamples / kPatch;  // 150
constexpr int64_t kFeatures = 40;                // conv channels = embedding width
constexpr int64_t kHeads = 4;
constexpr int64_t kKeyDim = 40;  // per head, so attention is 160 wide inside
constexpr int kTransformerBlocks = 4;
constexpr double kBatchNormEps = 1e-3;
constexpr double kLayerNormEps = 1e-6;
constexpr const char* kPrefix = "_eqcct_backbone.";

// Describes one network's layers over graph node *x (channels × samples or features × patches);
// each step replaces *x by its result. Errors are the first missing or mis-shaped key.
class NetworkBuilder {
 public:
  NetworkBuilder(StrictParams* p, Graph* g) : p_(*p), g_(*g) {}

  // Linear layer `prefix` (weight out × in, bias) on every sample: a 1×1 convolution.
  Status Linear(const std::string& prefix, int64_t out, int* x) {
    WeightTensor w, b;
    RAPID_RETURN_IF_ERROR(p_.Take(prefix + ".weight", {out, g_.Node(*x).channels}, &w));
    RAPID_RETURN_IF_ERROR(p_.Take(prefix + ".bias", {out}, &b));
    w.shape.push_back(1);
    *x = g_.Conv1d(*x, std::move(w), std::move(b), 1, 0, 0);
    return g_.status();
  }

  Status LayerNorm(const std::string& prefix, int* x) {
    WeightTensor w, b;
    RAPID_RETURN_IF_ERROR(p_.Take(prefix + ".weight", {kFeatures}, &w));
    RAPID_RETURN_IF_ERROR(p_.Take(prefix + ".bias", {kFeatures}, &b));
    *x = g_.LayerNorm(*x, std::move(w), std::move(b), kLayerNormEps);
    return g_.status();
  }

  // GELU(batch norm(convolution, kernel 11 "same")).
  Status ConvBnGelu(const std::string& conv, const std::string& bn, int64_t out, int* x) {
    WeightTensor w, b;
    RAPID_RETURN_IF_ERROR(p_.Take(conv + ".weight", {out, g_.Node(*x).channels, kConvKernel}, &w));
    RAPID_RETURN_IF_ERROR(p_.Take(conv + ".bias", {out}, &b));
    int y = g_.Conv1d(*x, std::move(w), std::move(b), 1, kConvKernel / 2, kConvKernel / 2);
    RAPID_RETURN_IF_ERROR(p_.TakeBatchNorm(bn, kBatchNormEps, &g_, y, &y));
    *x = g_.Gelu(y);
    return g_.status();
  }

  // SeisBench's ConvF1Block: two width-keeping conv+BN+GELU layers with a residual connection
  // around them, then a conv+BN+GELU to `out` channels.
  Status ConvBlock(const std::string& prefix, int64_t out, int* x) {
    const int64_t in = g_.Node(*x).channels;
    int y = *x;
    RAPID_RETURN_IF_ERROR(ConvBnGelu(prefix + ".conv1", prefix + ".bn1", in, &y));
    RAPID_RETURN_IF_ERROR(ConvBnGelu(prefix + ".conv2", prefix + ".bn2", in, &y));
    y = g_.Add(y, *x);
    RAPID_RETURN_IF_ERROR(ConvBnGelu(prefix + ".conv3", prefix + ".bn3", out, &y));
    *x = y;
    return Status::OK();
  }

  // Keras MultiHeadAttention (self-attention, 4 heads of 40); the scale multiplies the scores.
  Status Attention(const std::string& prefix, int* x) {
    int q = *x, k = *x, v = *x;
    RAPID_RETURN_IF_ERROR(Linear(prefix + ".q", kHeads * kKeyDim, &q));
    RAPID_RETURN_IF_ERROR(Linear(prefix + ".k", kHeads * kKeyDim, &k));
    RAPID_RETURN_IF_ERROR(Linear(prefix + ".v", kHeads * kKeyDim, &v));
    int context = g_.DotAttention(q, k, v, kHeads, 1.0 / std::sqrt(static_cast<double>(kKeyDim)));
    RAPID_RETURN_IF_ERROR(Linear(prefix + ".o", kFeatures, &context));
    *x = context;
    return Status::OK();
  }

  // One transformer block; the S network (`extra`) runs conv block `pre` on x first (replacing
  // it: no residual around it) and conv block `post` on the attention's output.
  Status TransformerBlock(const std::string& prefix, bool extra, const std::string& pre, const std::string& post,
                          int* x) {
    if (extra) RAPID_RETURN_IF_ERROR(ConvBlock(pre, kFeatures, x));
    int attended = *x;
    RAPID_RETURN_IF_ERROR(LayerNorm(prefix + ".norm1", &attended));
    RAPID_RETURN_IF_ERROR(Attention(prefix + ".attn", &attended));
    if (extra) RAPID_RETURN_IF_ERROR(ConvBlock(post, kFeatures, &attended));
    *x = g_.Add(*x, attended);
    int mlp = *x;
    RAPID_RETURN_IF_ERROR(LayerNorm(prefix + ".norm2", &mlp));
    RAPID_RETURN_IF_ERROR(Linear(prefix + ".mlp.fc1", kFeatures, &mlp));
    mlp = g_.Gelu(mlp);
    RAPID_RETURN_IF_ERROR(Linear(prefix + ".mlp.fc2", kFeatures, &mlp));
    *x = g_.Add(*x, g_.Gelu(mlp));
    return g_.status();
  }

  // The patch embedding: 150 patches of 40 samples × 40 channels, flattened time-major, projected
  // to 40 features, plus the learned position embedding (stored patches × features).
  Status Embed(int* x) {
    const std::string pre = kPrefix;
    int patches = g_.ToPatches(*x, kPatch);
    RAPID_RETURN_IF_ERROR(g_.status());
    RAPID_RETURN_IF_ERROR(Linear(pre + "encoder.projection", kFeatures, &patches));
    WeightTensor positions;
    RAPID_RETURN_IF_ERROR(p_.Take(pre + "encoder.position_embedding.weight", {kPatches, kFeatures}, &positions));
    WeightTensor by_feature{{kFeatures, kPatches}, std::vector<float>(positions.values.size())};
    for (int64_t p = 0; p < kPatches; ++p) {
      for (int64_t f = 0; f < kFeatures; ++f) {
        const size_t from = static_cast<size_t>(p * kFeatures + f), to = static_cast<size_t>(f * kPatches + p);
        by_feature.values[to] = positions.values[from];
      }
    }
    *x = g_.Add(patches, g_.Constant(std::move(by_feature)));
    return g_.status();
  }

  // The final layer norm, the 150 × 40 features read back as one 6000-sample trace (patch-major),
  // and the kernel-15 head: pre-sigmoid scores, 1 × 6000.
  Status Head(int* x) {
    const std::string pre = kPrefix;
    RAPID_RETURN_IF_ERROR(LayerNorm(pre + "norm", x));
    const int trace = g_.FromPatches(*x, kFeatures);
    WeightTensor w, b;
    RAPID_RETURN_IF_ERROR(p_.Take(pre + "head.conv.weight", {1, 1, kHeadKernel}, &w));
    RAPID_RETURN_IF_ERROR(p_.Take(pre + "head.conv.bias", {1}, &b));
    *x = g_.Conv1d(trace, std::move(w), std::move(b), 1, kHeadKernel / 2, kHeadKernel / 2);
    return g_.status();
  }

 private:
  StrictParams& p_;
  Graph& g_;
};

// One EQCCT network (P, or S with `extra` conv blocks) over `input`; *scores is its output node.
Status DescribeNetwork(const NamedStoredTensors& tensors, const std::string& source, bool extra, int input,
                       Graph* g, int* scores) {
  StrictParams p(tensors, source);
  NetworkBuilder b(&p, g);
  const std::string pre = kPrefix;
  int x = input;
  RAPID_RETURN_IF_ERROR(b.ConvBlock(pre + "conv1", 10, &x));
  RAPID_RETURN_IF_ERROR(b.ConvBlock(pre + "conv2", 20, &x));
  RAPID_RETURN_IF_ERROR(b.ConvBlock(pre + "conv3", kFeatures, &x));
  RAPID_RETURN_IF_ERROR(b.Embed(&x));
  // SeisBench names the P network's blocks `transformer.<i>` and the S network's `transformers.<i>`.
  const std::string blocks = pre + (extra ? "transformers." : "transformer.");
  for (int i = 0; i < kTransformerBlocks; ++i) {
    const std::string n = std::to_string(i);
    RAPID_RETURN_IF_ERROR(b.TransformerBlock(blocks + n, extra, pre + "extra_pre." + n, pre + "extra_post." + n, &x));
  }
  RAPID_RETURN_IF_ERROR(b.Head(&x));
  RAPID_RETURN_IF_ERROR(p.CheckAllUsed());
  *scores = x;
  return Status::OK();
}

}  // namespace

Status DescribeEqcct(const NamedStoredTensors& p_tensors, const std::string& p_source,
                     const NamedStoredTensors& s_tensors, const std::string& s_source, const ModelSpec& spec,
                     Graph* graph) {
  const int input = graph->Input(kChannels, kSamples);
  int p_scores = -1, s_scores = -1;
  RAPID_RETURN_IF_ERROR(DescribeNetwork(p_tensors, p_source, /*extra=*/false, input, graph, &p_scores));
  RAPID_RETURN_IF_ERROR(DescribeNetwork(s_tensors, s_source, /*extra=*/true, input, graph, &s_scores));
  // The spec comes from the weights' JSON files, which may not be EQCCT's.
  const std::string sources = p_source + ", " + s_source;
  if (spec.Channels() != kChannels || spec.in_samples != kSamples ||
      spec.labels != std::vector<std::string>{"P", "S"}) {
    return Status::InvalidArgument(sources + ": EQCCT needs 3 components, 6000 samples and labels P,S");
  }
  // SeisBench tapers EQCCT's windows whatever the norm; RAPID has the taper only with "std".
  if (spec.norm != WindowNorm::kStdAllChannelsTapered) {
    return Status::InvalidArgument(sources + ": EQCCT runs only with norm \"std\" (one std over all components)");
  }
  graph->SetOutput(graph->Concat({p_scores, s_scores}), OutputActivation::kSigmoid);
  return graph->status();
}

}  // namespace rapid
