#include "models/registry.h"

#include <openssl/evp.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "models/eqtransformer.h"
#include "models/phasenet.h"
#include "models/state_dict_reader.h"
#include "models/weights_metadata.h"

namespace rapid {

namespace {

namespace fs = std::filesystem;

// What a builder gets: the weights, their file, their JSON (text and path; empty when there is
// none) and the spec with the JSON already applied.
struct BuildInput {
  const StateDict& state;
  const std::string& weights_path;
  const std::string& metadata_json;
  const std::string& metadata_path;
  const ModelSpec& spec;
};

using Builder = std::function<Status(const BuildInput&, std::unique_ptr<Model>*)>;

struct Entry {
  std::string name;
  std::string bundled_weights;  // file name inside BundledModelsDir(); empty: none shipped
  ModelSpec spec;               // defaults before the weights' JSON
  Builder build;
};

ModelSpec PhaseNetSpec() {
  ModelSpec s;
  s.class_name = "PhaseNet";
  s.component_order = "ZNE";
  s.labels = {"N", "P", "S"};
  s.in_samples = 3001;
  s.overlap_samples = 1500;
  s.stacking = Stacking::kAvg;
  s.norm = WindowNorm::kStdPerChannel;
  s.thresholds = {{"P", 0.3}, {"S", 0.3}};
  return s;
}

// SeisBench's EQTransformer defaults (its default_args and _annotate_args).
ModelSpec EqTransformerSpec() {
  ModelSpec s;
  s.class_name = "EQTransformer";
  s.component_order = "ZNE";
  s.labels = {"Detection", "P", "S"};
  s.noise_label = "";
  s.detection_label = "Detection";
  s.in_samples = 6000;
  s.overlap_samples = 3000;
  s.blinding_pre_samples = 500;
  s.blinding_post_samples = 500;
  s.stacking = Stacking::kMax;
  s.norm = WindowNorm::kStdAllChannels;
  s.thresholds = {{"Detection", 0.3}, {"P", 0.1}, {"S", 0.1}};
  return s;
}

const std::vector<Entry>& Registry() {
  static const std::vector<Entry> entries = {
      {"phasenet", "phasenet_original.pt", PhaseNetSpec(),
       [](const BuildInput& in, std::unique_ptr<Model>* out) {
         return BuildPhaseNet(in.state.entries, in.weights_path, in.spec, out);
       }},
      {"eqtransformer", "", EqTransformerSpec(),
       [](const BuildInput& in, std::unique_ptr<Model>* out) {
         return BuildEqTransformer(in.state.entries, in.weights_path, in.metadata_json, in.metadata_path, in.spec,
                                   out);
       }},
  };
  return entries;
}

Status ReadText(const std::string& path, std::string* text) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IOError(path + ": cannot open");
  std::ostringstream ss;
  ss << in.rdbuf();
  *text = ss.str();
  return Status::OK();
}

}  // namespace

std::vector<std::string> KnownModels() {
  std::vector<std::string> names;
  for (const Entry& e : Registry()) names.push_back(e.name);
  return names;
}

std::string BundledModelsDir() {
  if (const char* env = std::getenv("RAPID_MODELS_DIR"); env != nullptr && *env != '\0') return env;
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    fs::path candidate = exe.parent_path().parent_path() / "models";
    if (fs::is_directory(candidate, ec)) return candidate.string();
  }
  return std::string(RAPID_SOURCE_DIR) + "/models";
}

Status Sha256File(const std::string& path, std::string* hex) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IOError(path + ": cannot open");
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
  std::vector<char> buf(1 << 16);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<size_t>(in.gcount()));
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), digest, &len);
  static const char* kHex = "0123456789abcdef";
  hex->clear();
  for (unsigned int i = 0; i < len; ++i) {
    hex->push_back(kHex[digest[i] >> 4]);
    hex->push_back(kHex[digest[i] & 15]);
  }
  return Status::OK();
}

Status LoadModel(const std::string& name, const std::string& weights_path, LoadedModel* out) {
  const Entry* entry = nullptr;
  std::string known;
  for (const Entry& e : Registry()) {
    if (e.name == name) entry = &e;
    known += (known.empty() ? "" : ", ") + e.name;
  }
  if (entry == nullptr) return Status::InvalidArgument("unknown model '" + name + "' (known: " + known + ")");

  if (weights_path.empty() && entry->bundled_weights.empty()) {
    return Status::InvalidArgument(name + " has no bundled weights; pass --weights FILE");
  }
  out->name = name;
  out->weights_path = weights_path.empty() ? BundledModelsDir() + "/" + entry->bundled_weights : weights_path;
  std::error_code ec;
  if (!fs::is_regular_file(out->weights_path, ec)) {
    return Status::NotFound(out->weights_path + ": weight file not found");
  }
  ModelSpec spec = entry->spec;
  const std::string meta = MetadataPathFor(out->weights_path);
  out->metadata_path.clear();
  std::string meta_text;
  if (fs::is_regular_file(meta, ec)) {
    RAPID_RETURN_IF_ERROR(ReadText(meta, &meta_text));
    RAPID_RETURN_IF_ERROR(ApplyWeightsMetadata(meta_text, meta, &spec));
    out->metadata_path = meta;
  }
  StateDict state;
  RAPID_RETURN_IF_ERROR(ReadStateDict(out->weights_path, &state));
  const BuildInput input{state, out->weights_path, meta_text, out->metadata_path, spec};
  RAPID_RETURN_IF_ERROR(entry->build(input, &out->model));
  return Sha256File(out->weights_path, &out->weights_sha256);
}

}  // namespace rapid
