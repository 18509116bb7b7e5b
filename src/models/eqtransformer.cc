#include "models/eqtransformer.h"

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <set>

#include "models/eqtransformer_layers.h"
#include "models/strict_params.h"
#include "models/torch_model.h"

namespace rapid {

namespace {

constexpr int64_t kInSamples = 6000;
constexpr int64_t kLatentChannels = 16;   // channels between the LSTM stack and the decoders
constexpr int64_t kPickAttentionWidth = 3;
constexpr int64_t kOutKernel = 11;
constexpr int64_t kDecoderOutChannels = 8;
// SeqSelfAttention's normaliser eps: PyTorch's usual 1e-5, TensorFlow's 1e-7 for the converted
// original weights (SeisBench issue #96).
constexpr double kAttentionEps = 1e-5;
constexpr double kOriginalAttentionEps = 1e-7;

using Compat = EqtArchitecture::Compat;

bool HasKeyWithPrefix(const std::set<std::string>& keys, const std::string& prefix) {
  auto it = keys.lower_bound(prefix);
  return it != keys.end() && it->compare(0, prefix.size(), prefix) == 0;
}

class EqTransformerModel : public TorchModel {
 public:
  explicit EqTransformerModel(ModelSpec spec) : TorchModel(std::move(spec), OutputActivation::kSigmoid) {}

  Status Load(const NamedStoredTensors& tensors, const std::string& source, const EqtArchitecture& arch,
              const at::Device& device) {
    if (spec_.labels.size() < 2 || spec_.labels.front() != spec_.detection_label) {
      return Status::InvalidArgument(source + ": EQTransformer's labels must be the detection label followed by "
                                              "at least one phase");
    }
    const bool original = arch.original_compatible != Compat::kNone;
    const bool conservative = arch.original_compatible == Compat::kConservative;
    const double eps = original ? kOriginalAttentionEps : kAttentionEps;
    const auto stack_gate = conservative ? eqt::GateActivation::kHardSigmoid : eqt::GateActivation::kSigmoid;
    const auto stack_keys = original ? eqt::LstmKeys::kCustomCell : eqt::LstmKeys::kTorch;
    const auto pick_keys = conservative ? eqt::LstmKeys::kCustomCell : eqt::LstmKeys::kTorch;

    TorchParams p(tensors, source, device);
    RAPID_RETURN_IF_ERROR(encoder_.Load(&p, "encoder", spec_.Channels()));
    RAPID_RETURN_IF_ERROR(res_cnn_.Load(&p, "res_cnn_stack"));
    RAPID_RETURN_IF_ERROR(bi_lstm_.Load(&p, "bi_lstm_stack", arch.lstm_blocks, stack_keys, stack_gate));
    RAPID_RETURN_IF_ERROR(transformer_d0_.Load(&p, "transformer_d0", kLatentChannels, eps));
    RAPID_RETURN_IF_ERROR(transformer_d_.Load(&p, "transformer_d", kLatentChannels, eps));
    RAPID_RETURN_IF_ERROR(decoder_d_.Load(&p, "decoder_d", spec_.in_samples, original));
    RAPID_RETURN_IF_ERROR(conv_d_.Load(&p, "conv_d", 1, kDecoderOutChannels, kOutKernel));
    picks_.assign(spec_.labels.size() - 1, PickBranch{});
    for (size_t i = 0; i < picks_.size(); ++i) {
      const std::string n = std::to_string(i);
      PickBranch& b = picks_[i];
      RAPID_RETURN_IF_ERROR(b.lstm.Load(&p, "pick_lstms." + n, pick_keys, kLatentChannels, kLatentChannels,
                                        /*bidirectional=*/false, stack_gate));
      RAPID_RETURN_IF_ERROR(b.attention.Load(&p, "pick_attentions." + n, kLatentChannels, kPickAttentionWidth, eps));
      RAPID_RETURN_IF_ERROR(b.decoder.Load(&p, "pick_decoders." + n, spec_.in_samples, original));
      RAPID_RETURN_IF_ERROR(b.conv.Load(&p, "pick_convs." + n, 1, kDecoderOutChannels, kOutKernel));
    }
    RAPID_RETURN_IF_ERROR(p.CheckAllUsed());
    CountWeights(tensors, device);
    return Status::OK();
  }

 private:
  struct PickBranch {
    eqt::Lstm lstm;
    eqt::SeqSelfAttention attention;
    eqt::Decoder decoder;
    eqt::Conv conv;
  };

  // Detection first, then one trace per phase, each (batch, 1, samples).
  at::Tensor Logits(const at::Tensor& input) const override {
    const at::Tensor x = transformer_d_(transformer_d0_(bi_lstm_(res_cnn_(encoder_(input)))));
    const int64_t pad = kOutKernel / 2;
    std::vector<at::Tensor> scores = {conv_d_(decoder_d_(x), pad)};
    for (const PickBranch& b : picks_) scores.push_back(b.conv(b.decoder(b.attention(b.lstm(x))), pad));
    return at::cat(scores, 1);
  }

  eqt::Encoder encoder_;
  eqt::ResCnnStack res_cnn_;
  eqt::BiLstmStack bi_lstm_;
  eqt::TransformerBlock transformer_d0_, transformer_d_;
  eqt::Decoder decoder_d_;
  eqt::Conv conv_d_;
  std::vector<PickBranch> picks_;
};

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

Status BuildEqTransformer(const NamedStoredTensors& tensors, const std::string& source,
                          const std::string& metadata_json, const std::string& metadata_source, const ModelSpec& spec,
                          const std::string& device, std::unique_ptr<Model>* out) {
  EqtArchitecture arch;
  RAPID_RETURN_IF_ERROR(DecideEqtArchitecture(tensors, metadata_json, metadata_source, &arch));
  at::Device torch_device = at::kCPU;
  RAPID_RETURN_IF_ERROR(ParseTorchDevice(device, &torch_device));
  auto model = std::make_unique<EqTransformerModel>(spec);
  RAPID_RETURN_IF_ERROR(model->Load(tensors, source, arch, torch_device));
  *out = std::move(model);
  return Status::OK();
}

}  // namespace rapid
