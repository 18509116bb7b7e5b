#include "models/eqtransformer.h"

#include <nlohmann/json.hpp>

#include <array>
#include <set>
#include <utility>

#include "models/lstm_layer.h"
#include "models/strict_params.h"
#include "models/upsampled_conv.h"

namespace rapid {

namespace {

constexpr int64_t kInSamples = 6000;
constexpr int64_t kLstmHidden = 16;
constexpr int64_t kResCnnFilters = 64;
constexpr int64_t kAttentionUnits = 32;
constexpr int64_t kFeedForwardHidden = 128;
constexpr int64_t kPickAttentionWidth = 3;
constexpr int64_t kOutKernel = 11;
constexpr double kBatchNormEps = 1e-3;
constexpr double kLayerNormEps = 1e-14;  // SeisBench's LayerNormalization
// SeqSelfAttention's normaliser eps: PyTorch's usual 1e-5, TensorFlow's 1e-7 for the converted
// original weights (SeisBench issue #96).
constexpr double kAttentionEps = 1e-5;
constexpr double kOriginalAttentionEps = 1e-7;

// SeisBench's EQTransformer constants: encoder filters and kernels (the decoder runs them in
// reverse), and the residual blocks' kernels.
constexpr std::array<int64_t, 7> kFilters = {8, 16, 16, 32, 32, 64, 64};
constexpr std::array<int64_t, 7> kKernels = {11, 9, 7, 7, 5, 5, 3};
constexpr std::array<int64_t, 7> kResCnnKernels = {3, 3, 3, 3, 2, 3, 2};
// The original's decoder drops one sample at each end after this stage (6000 → 47 → … → 752 → 750).
constexpr size_t kOriginalCropStage = 3;

using Compat = EqtArchitecture::Compat;

// What the variant changes, for the blocks below.
struct Variant {
  bool original = false;  // original_compatible (either kind): eps 1e-7, the original's decoder crop
  LstmKeys stack_keys = LstmKeys::kTorch, pick_keys = LstmKeys::kTorch;
  GateActivation gate = GateActivation::kSigmoid;
  double attention_eps = kAttentionEps;
  int lstm_blocks = 3;
};

Variant VariantOf(const EqtArchitecture& arch) {
  Variant v;
  v.original = arch.original_compatible != Compat::kNone;
  const bool conservative = arch.original_compatible == Compat::kConservative;
  v.stack_keys = v.original ? LstmKeys::kCustomCell : LstmKeys::kTorch;
  v.pick_keys = conservative ? LstmKeys::kCustomCell : LstmKeys::kTorch;
  v.gate = conservative ? GateActivation::kHardSigmoid : GateActivation::kSigmoid;
  v.attention_eps = v.original ? kOriginalAttentionEps : kAttentionEps;
  v.lstm_blocks = arch.lstm_blocks;
  return v;
}

bool HasKeyWithPrefix(const std::set<std::string>& keys, const std::string& prefix) {
  auto it = keys.lower_bound(prefix);
  return it != keys.end() && it->compare(0, prefix.size(), prefix) == 0;
}

std::string Index(const std::string& prefix, const char* list, size_t i) {
  return prefix + "." + list + "." + std::to_string(i);
}

// A tensor's values under another shape of as many values.
WeightTensor Reshaped(WeightTensor t, std::vector<int64_t> shape) {
  t.shape = std::move(shape);
  return t;
}

// rows × cols → cols × rows × 1: a dense (channels, units) matrix as the 1×1 convolution x ↦ Mᵀx.
WeightTensor TransposedAsConv(const WeightTensor& m) {
  const int64_t rows = m.shape[0], cols = m.shape[1];
  WeightTensor w;
  w.shape = {cols, rows, 1};
  w.values.resize(m.values.size());
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) {
      w.values[static_cast<size_t>(c * rows + r)] = m.values[static_cast<size_t>(r * cols + c)];
    }
  }
  return w;
}

// Conv1d `prefix` (weight out × in × kernel, bias) over *x with the given zero padding.
Status Conv(StrictParams* p, Graph* g, const std::string& prefix, int64_t out, int64_t kernel, int64_t pad_left,
            int64_t pad_right, int* x) {
  RAPID_RETURN_IF_ERROR(g->status());
  WeightTensor w, b;
  RAPID_RETURN_IF_ERROR(p->Take(prefix + ".weight", {out, g->Node(*x).channels, kernel}, &w));
  RAPID_RETURN_IF_ERROR(p->Take(prefix + ".bias", {out}, &b));
  *x = g->Conv1d(*x, std::move(w), std::move(b), 1, pad_left, pad_right);
  return g->status();
}

// Seven (conv "same" + ReLU + max-pool 2) stages. SeisBench pads an odd length with −1e10 before
// pooling, which after the ReLU pools the last sample alone, as pad_right = 1 does.
Status Encoder(StrictParams* p, Graph* g, int* x) {
  for (size_t i = 0; i < kFilters.size(); ++i) {
    const int64_t pad = kKernels[i] / 2;
    RAPID_RETURN_IF_ERROR(Conv(p, g, Index("encoder", "convs", i), kFilters[i], kKernels[i], pad, pad, x));
    const int64_t odd = g->Node(*x).length % 2;
    *x = g->MaxPool(g->Relu(*x), 2, 2, odd);
  }
  return g->status();
}

// Residual blocks x + conv(relu(bn(conv(relu(bn(x)))))) at 64 channels; kernel 3 pads one zero
// each side, kernel 2 one zero at the end only (TensorFlow "same").
Status ResCnnStack(StrictParams* p, Graph* g, int* x) {
  for (size_t i = 0; i < kResCnnKernels.size(); ++i) {
    const std::string pre = Index("res_cnn_stack", "members", i);
    const int64_t kernel = kResCnnKernels[i];
    const int64_t pad_left = kernel == 2 ? 0 : 1;
    int y = *x;
    RAPID_RETURN_IF_ERROR(p->TakeBatchNorm(pre + ".norm1", kBatchNormEps, g, y, &y));
    y = g->Relu(y);
    RAPID_RETURN_IF_ERROR(Conv(p, g, pre + ".conv1", kResCnnFilters, kernel, pad_left, 1, &y));
    RAPID_RETURN_IF_ERROR(p->TakeBatchNorm(pre + ".norm2", kBatchNormEps, g, y, &y));
    y = g->Relu(y);
    RAPID_RETURN_IF_ERROR(Conv(p, g, pre + ".conv2", kResCnnFilters, kernel, pad_left, 1, &y));
    *x = g->Add(*x, y);
  }
  return g->status();
}

// Bidirectional LSTM blocks (LSTM, 1×1 conv 32 → 16, batch norm).
Status BiLstmStack(StrictParams* p, Graph* g, const Variant& v, int* x) {
  for (size_t i = 0; i < static_cast<size_t>(v.lstm_blocks); ++i) {
    const std::string pre = Index("bi_lstm_stack", "members", i);
    RAPID_RETURN_IF_ERROR(TakeLstm(p, g, pre + ".lstm", v.stack_keys, kLstmHidden, /*bidirectional=*/true, v.gate, x));
    RAPID_RETURN_IF_ERROR(Conv(p, g, pre + ".conv", kLstmHidden, 1, 0, 0, x));
    RAPID_RETURN_IF_ERROR(p->TakeBatchNorm(pre + ".norm", kBatchNormEps, g, *x, x));
  }
  return g->status();
}

// SeisBench's SeqSelfAttention `prefix` over x (band 0: all steps); *out its output. Its Wx and Wt
// are stored (channels, units): the key and query projections are the 1×1 convolutions Wxᵀ and
// Wtᵀ + bh.
Status Attention(StrictParams* p, Graph* g, const std::string& prefix, int x, int64_t band, double eps, int* out) {
  RAPID_RETURN_IF_ERROR(g->status());
  const int64_t channels = g->Node(x).channels;
  WeightTensor wx, wt, bh, wa, ba;
  RAPID_RETURN_IF_ERROR(p->Take(prefix + ".Wx", {channels, kAttentionUnits}, &wx));
  RAPID_RETURN_IF_ERROR(p->Take(prefix + ".Wt", {channels, kAttentionUnits}, &wt));
  RAPID_RETURN_IF_ERROR(p->Take(prefix + ".bh", {kAttentionUnits}, &bh));
  RAPID_RETURN_IF_ERROR(p->Take(prefix + ".Wa", {kAttentionUnits, 1}, &wa));
  RAPID_RETURN_IF_ERROR(p->Take(prefix + ".ba", {1}, &ba));
  const int query = g->Conv1d(x, TransposedAsConv(wt), std::move(bh), 1, 0, 0);
  const int key = g->Conv1d(x, TransposedAsConv(wx), {}, 1, 0, 0);
  *out = g->AdditiveAttention(query, key, x, Reshaped(std::move(wa), {kAttentionUnits}), std::move(ba), band, eps);
  return g->status();
}

// SeisBench's LayerNormalization `prefix` (gamma, beta shaped (channels, 1)) over *x.
Status LayerNorm(StrictParams* p, Graph* g, const std::string& prefix, int* x) {
  RAPID_RETURN_IF_ERROR(g->status());
  const int64_t channels = g->Node(*x).channels;
  WeightTensor gamma, beta;
  RAPID_RETURN_IF_ERROR(p->Take(prefix + ".gamma", {channels, 1}, &gamma));
  RAPID_RETURN_IF_ERROR(p->Take(prefix + ".beta", {channels, 1}, &beta));
  *x = g->LayerNorm(*x, Reshaped(std::move(gamma), {channels}), Reshaped(std::move(beta), {channels}), kLayerNormEps);
  return g->status();
}

// y = norm1(x + attention(x)); norm2(y + lin2(relu(lin1(y)))), the linear layers as 1×1 convs.
Status TransformerBlock(StrictParams* p, Graph* g, const std::string& prefix, double eps, int* x) {
  int attended = -1;
  RAPID_RETURN_IF_ERROR(Attention(p, g, prefix + ".attention", *x, /*band=*/0, eps, &attended));
  int y = g->Add(*x, attended);
  RAPID_RETURN_IF_ERROR(LayerNorm(p, g, prefix + ".norm1", &y));
  const int64_t channels = g->Node(y).channels;
  WeightTensor w1, b1, w2, b2;
  RAPID_RETURN_IF_ERROR(p->Take(prefix + ".ff.lin1.weight", {kFeedForwardHidden, channels}, &w1));
  RAPID_RETURN_IF_ERROR(p->Take(prefix + ".ff.lin1.bias", {kFeedForwardHidden}, &b1));
  RAPID_RETURN_IF_ERROR(p->Take(prefix + ".ff.lin2.weight", {channels, kFeedForwardHidden}, &w2));
  RAPID_RETURN_IF_ERROR(p->Take(prefix + ".ff.lin2.bias", {channels}, &b2));
  int ff = g->Relu(g->Conv1d(y, Reshaped(std::move(w1), {kFeedForwardHidden, channels, 1}), std::move(b1), 1, 0, 0));
  ff = g->Conv1d(ff, Reshaped(std::move(w2), {channels, kFeedForwardHidden, 1}), std::move(b2), 1, 0, 0);
  *x = g->Add(y, ff);
  return LayerNorm(p, g, prefix + ".norm2", x);
}

// Per decoder stage, the samples its upsampled value is cropped to: {offset, length}, or length 0
// for none. SeisBench's default drops the last sample after the stages whose encoder counterpart
// padded an odd length; the original-compatible decoder drops the first and the last sample
// after stage 3 instead (valid for 6000 samples only).
std::array<std::pair<int64_t, int64_t>, kFilters.size()> DecoderCrops(int64_t out_samples, bool original) {
  const size_t stages = kFilters.size();
  std::array<bool, kFilters.size()> crop_last{};
  int64_t samples = out_samples;
  for (size_t i = 0; i < stages; ++i) {
    // The encoder rounded an odd length up at its stage i; decoder stage (stages − 1 − i) undoes it.
    if (!original && samples % 2 == 1) crop_last[stages - 1 - i] = true;
    samples = (samples + 1) / 2;
  }
  std::array<std::pair<int64_t, int64_t>, kFilters.size()> crops{};
  for (size_t i = 0; i < stages; ++i) {
    const int64_t upsampled = samples * 2;
    if (original && i == kOriginalCropStage) crops[i] = {1, upsampled - 2};
    else if (crop_last[i]) crops[i] = {0, upsampled - 1};
    samples = crops[i].second > 0 ? crops[i].second : upsampled;
  }
  return crops;
}

// Seven (nearest upsampling × 2, crop, conv "same" + ReLU) stages from 16 channels back to 8 at
// the input length. A stage without a crop is described as the one transposed convolution it
// equals (models/upsampled_conv.h).
Status Decoder(StrictParams* p, Graph* g, const std::string& prefix, int64_t out_samples, bool original, int* x) {
  const size_t stages = kFilters.size();
  const auto crops = DecoderCrops(out_samples, original);
  for (size_t i = 0; i < stages; ++i) {
    RAPID_RETURN_IF_ERROR(g->status());
    const int64_t out = kFilters[stages - 1 - i], kernel = kKernels[stages - 1 - i], pad = kernel / 2;
    const std::string key = Index(prefix, "convs", i);
    WeightTensor w, b;
    RAPID_RETURN_IF_ERROR(p->Take(key + ".weight", {out, g->Node(*x).channels, kernel}, &w));
    RAPID_RETURN_IF_ERROR(p->Take(key + ".bias", {out}, &b));
    const auto [offset, length] = crops[i];
    if (length == 0) {
      *x = UpsampledConv(g, *x, 2, std::move(w), std::move(b), pad, pad);
    } else {
      *x = g->Conv1d(g->Crop(g->Upsample(*x, 2), offset, length), std::move(w), std::move(b), 1, pad, pad);
    }
    *x = g->Relu(*x);
  }
  return g->status();
}

// A decoder `decoder` and the kernel-11 convolution `conv` to one trace over x; *out the trace.
Status DecodeTrace(StrictParams* p, Graph* g, const std::string& decoder, const std::string& conv,
                   int64_t out_samples, bool original, int x, int* out) {
  RAPID_RETURN_IF_ERROR(Decoder(p, g, decoder, out_samples, original, &x));
  RAPID_RETURN_IF_ERROR(Conv(p, g, conv, 1, kOutKernel, kOutKernel / 2, kOutKernel / 2, &x));
  *out = x;
  return Status::OK();
}

// model_args.original_compatible: false | true | "conservative" | "non-conservative".
Status ParseCompat(const nlohmann::json& value, const std::string& source, Compat* out) {
  if (value.is_boolean()) {
    // SeisBench turns True into "non-conservative" (with a warning).
    *out = value.get<bool>() ? Compat::kNonConservative : Compat::kNone;
    return Status::OK();
  }
  if (value.is_string() && value.get<std::string>() == "conservative") {
    *out = Compat::kConservative;
    return Status::OK();
  }
  if (value.is_string() && value.get<std::string>() == "non-conservative") {
    *out = Compat::kNonConservative;
    return Status::OK();
  }
  return Status::InvalidArgument(source + ": metadata 'model_args.original_compatible' must be false, true, "
                                          "\"conservative\" or \"non-conservative\", not " + value.dump());
}

// Overrides *arch with the settings `model_args` gives (see the header).
Status ApplyModelArgs(const std::string& metadata_json, const std::string& source, EqtArchitecture* arch) {
  const nlohmann::json doc = nlohmann::json::parse(metadata_json, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return Status::InvalidArgument(source + ": not a JSON object");
  if (!doc.contains("model_args") || !doc["model_args"].is_object()) return Status::OK();
  const nlohmann::json& args = doc["model_args"];
  if (args.contains("lstm_blocks")) {
    const nlohmann::json& blocks = args["lstm_blocks"];
    if (!blocks.is_number_integer() || blocks.get<int64_t>() < 1) {
      return Status::InvalidArgument(source + ": metadata 'model_args.lstm_blocks' must be a positive integer");
    }
    arch->lstm_blocks = blocks.get<int>();
  }
  if (args.contains("original_compatible")) {
    RAPID_RETURN_IF_ERROR(ParseCompat(args["original_compatible"], source, &arch->original_compatible));
  }
  if (args.contains("in_samples")) {
    const nlohmann::json& n = args["in_samples"];
    if (!n.is_number_integer() || n.get<int64_t>() != kInSamples) {
      return Status::InvalidArgument(source + ": metadata 'model_args.in_samples' is " + n.dump() +
                                     "; RAPID runs EQTransformer on " + std::to_string(kInSamples) +
                                     "-sample windows only");
    }
  }
  return Status::OK();
}

}  // namespace

Status DecideEqtArchitecture(const NamedStoredTensors& tensors, const std::string& metadata_json,
                             const std::string& metadata_source, EqtArchitecture* out) {
  std::set<std::string> keys;
  for (const auto& entry : tensors) keys.insert(entry.first);
  EqtArchitecture arch;
  arch.lstm_blocks = 0;
  while (HasKeyWithPrefix(keys, "bi_lstm_stack.members." + std::to_string(arch.lstm_blocks) + ".")) ++arch.lstm_blocks;
  if (arch.lstm_blocks == 0) arch.lstm_blocks = EqtArchitecture().lstm_blocks;
  if (keys.count("bi_lstm_stack.members.0.lstm.cell_f.weight_ih") > 0) {
    arch.original_compatible =
        keys.count("pick_lstms.0.cell_f.weight_ih") > 0 ? Compat::kConservative : Compat::kNonConservative;
  }

  if (!metadata_json.empty()) RAPID_RETURN_IF_ERROR(ApplyModelArgs(metadata_json, metadata_source, &arch));
  *out = arch;
  return Status::OK();
}

Status DescribeEqTransformer(const NamedStoredTensors& tensors, const std::string& source,
                             const std::string& metadata_json, const std::string& metadata_source,
                             const ModelSpec& spec, Graph* graph) {
  EqtArchitecture arch;
  RAPID_RETURN_IF_ERROR(DecideEqtArchitecture(tensors, metadata_json, metadata_source, &arch));
  if (spec.labels.size() < 2 || spec.labels.front() != spec.detection_label) {
    return Status::InvalidArgument(source + ": EQTransformer's labels must be the detection label followed by "
                                            "at least one phase");
  }
  const Variant v = VariantOf(arch);
  if (v.original && spec.in_samples != kInSamples) {
    return Status::InvalidArgument(source + ": original-compatible EQTransformer needs " +
                                   std::to_string(kInSamples) + " input samples, not " +
                                   std::to_string(spec.in_samples));
  }
  StrictParams p(tensors, source);
  Graph& g = *graph;
  int x = g.Input(spec.Channels(), spec.in_samples);
  RAPID_RETURN_IF_ERROR(Encoder(&p, &g, &x));
  RAPID_RETURN_IF_ERROR(ResCnnStack(&p, &g, &x));
  RAPID_RETURN_IF_ERROR(BiLstmStack(&p, &g, v, &x));
  RAPID_RETURN_IF_ERROR(TransformerBlock(&p, &g, "transformer_d0", v.attention_eps, &x));
  RAPID_RETURN_IF_ERROR(TransformerBlock(&p, &g, "transformer_d", v.attention_eps, &x));
  std::vector<int> traces(1);
  RAPID_RETURN_IF_ERROR(DecodeTrace(&p, &g, "decoder_d", "conv_d", spec.in_samples, v.original, x, &traces[0]));
  for (size_t i = 0; i + 1 < spec.labels.size(); ++i) {
    const std::string n = std::to_string(i);
    int y = x;
    RAPID_RETURN_IF_ERROR(
        TakeLstm(&p, &g, "pick_lstms." + n, v.pick_keys, kLstmHidden, /*bidirectional=*/false, v.gate, &y));
    RAPID_RETURN_IF_ERROR(Attention(&p, &g, "pick_attentions." + n, y, kPickAttentionWidth, v.attention_eps, &y));
    traces.emplace_back();
    RAPID_RETURN_IF_ERROR(DecodeTrace(&p, &g, "pick_decoders." + n, "pick_convs." + n, spec.in_samples, v.original,
                                      y, &traces.back()));
  }
  g.SetOutput(g.Concat(traces), OutputActivation::kSigmoid);
  RAPID_RETURN_IF_ERROR(p.CheckAllUsed());
  return g.status();
}

}  // namespace rapid
