#include "models/registry.h"

#include <openssl/evp.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>

#include "backends/backend.h"
#include "core/read_file.h"
#include "models/cred.h"
#include "models/device.h"
#include "models/eqcct.h"
#include "models/eqtransformer.h"
#include "models/gpd.h"
#include "models/phasenet.h"
#include "models/phasenetlight.h"
#include "models/state_dict_reader.h"
#include "models/weights_cache.h"
#include "models/weight_file.h"
#include "models/weights_metadata.h"

namespace rapid {

namespace {

namespace fs = std::filesystem;

// Describes the model as a Graph (models/graph.h) from its weight files, in the order the entry
// lists them, and the spec with the JSON already applied, for a backend to compile.
using Describer = std::function<Status(const std::vector<WeightFile>&, const ModelSpec&, Graph*)>;

struct Entry {
  std::string name;
  // Weight file names inside BundledModelsDir(), comma-separated, one per network in the model's
  // order; empty when no weights may ship with RAPID (then --weights is required).
  std::string bundled_weights;
  ModelSpec spec;  // defaults before the weights' JSON
  // SeisBench cache folder of each network, comma-separated in the model's order: the lower-case
  // SeisBench class name (weights_cache.h).
  std::string cache_folders;
  // A model runs on every backend through its description.
  Describer describe;
  size_t weight_files = 1;  // networks the model runs, each from its own file
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

ModelSpec PhaseNetLightSpec() {
  ModelSpec s = PhaseNetSpec();
  s.class_name = "PhaseNetLight";
  return s;
}

// EQCCT's P and S networks run as one model; SeisBench names their traces EQCCTP_P and EQCCTS_S,
// RAPID names them EQCCT_P and EQCCT_S (one class per model).
ModelSpec EqcctSpec() {
  ModelSpec s;
  s.class_name = "EQCCT";
  s.component_order = "ENZ";
  s.labels = {"P", "S"};
  s.noise_label = "";
  s.in_samples = 6000;
  s.overlap_samples = 3000;
  s.blinding_pre_samples = 500;
  s.blinding_post_samples = 500;
  s.stacking = Stacking::kMax;
  s.norm = WindowNorm::kStdAllChannelsTapered;
  s.thresholds = {{"P", 0.3}, {"S", 0.5}};
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
  s.norm = WindowNorm::kStdAllChannelsTapered;
  s.thresholds = {{"Detection", 0.3}, {"P", 0.1}, {"S", 0.1}};
  return s;
}

// SeisBench's GPD defaults: 400-sample windows every 10 samples (default_args stride 10), one output
// per window. Without `phases` SeisBench names the classes by index (traces GPD_0…GPD_2) and picks all
// of them; RAPID uses the same names, and the weights' JSON `phases` (real GPD weights: "PSN")
// replaces them, N then being the unpicked noise class. Every class triggers at 0.7
// (SeisBench's "*_threshold"), listed for both namings.
ModelSpec GpdSpec() {
  ModelSpec s;
  s.class_name = "GPD";
  s.component_order = "ZNE";
  s.labels = {"0", "1", "2"};
  s.noise_label = "N";
  s.in_samples = 400;
  s.overlap_samples = 390;
  s.out_samples = 1;
  s.stacking = Stacking::kAvg;
  s.norm = WindowNorm::kDemeanOnly;
  s.thresholds = {{"0", 0.7}, {"1", 0.7}, {"2", 0.7}, {"P", 0.7}, {"S", 0.7}};
  return s;
}

// SeisBench's CRED: 3000-sample windows at 100 Hz with overlap 1500, demeaned and divided by one
// std over all channels, one Detection trace of 19 steps per window (0.633 Hz after stitching),
// detection threshold 0.5.
ModelSpec CredSpec() {
  ModelSpec s;
  s.class_name = "CRED";
  s.component_order = "ZNE";
  s.labels = {"Detection"};
  s.noise_label = "";
  s.detection_label = "Detection";
  s.in_samples = 3000;
  s.overlap_samples = 1500;
  s.out_samples = 19;
  s.stacking = Stacking::kAvg;
  s.norm = WindowNorm::kStdAllChannels;
  s.thresholds = {{"Detection", 0.5}};
  return s;
}

const std::vector<Entry>& Registry() {
  static const std::vector<Entry> entries = {
      {"phasenet", "phasenet_original.pt", PhaseNetSpec(), "phasenet",
       [](const std::vector<WeightFile>& w, const ModelSpec& spec, Graph* g) {
         return DescribePhaseNet(w[0].state.entries, w[0].path, spec, g);
       }},
      // No EQTransformer weights ship: the parity tests use seeded random ones (tests/data/models).
      {"eqtransformer", "", EqTransformerSpec(), "eqtransformer",
       [](const std::vector<WeightFile>& w, const ModelSpec& spec, Graph* g) {
         return DescribeEqTransformer(w[0].state.entries, w[0].path, w[0].metadata_json, w[0].metadata_path, spec,
                                      g);
       }},
      // SeisBench's PhaseNetLight weights are GPL-3.0 test data: none ship.
      {"phasenetlight", "", PhaseNetLightSpec(), "phasenetlight",
       [](const std::vector<WeightFile>& w, const ModelSpec& spec, Graph* g) {
         return DescribePhaseNetLight(w[0].state.entries, w[0].path, spec, g);
       }},
      // SeisBench keeps EQCCTP's weights in "eqcct" and EQCCTS's in "eqccts" (their _model_path).
      {"eqcct", "eqcct_p.pt,eqcct_s.pt", EqcctSpec(), "eqcct,eqccts",
       [](const std::vector<WeightFile>& w, const ModelSpec& spec, Graph* g) {
         return DescribeEqcct(w[0].state.entries, w[0].path, w[1].state.entries, w[1].path, spec, g);
       },
       /*weight_files=*/2},
      // No GPD weights ship: the parity tests use seeded random ones (tests/data/models).
      {"gpd", "", GpdSpec(), "gpd",
       [](const std::vector<WeightFile>& w, const ModelSpec& spec, Graph* g) {
         return DescribeGpd(w[0].state.entries, w[0].path, w[0].metadata_json, w[0].metadata_path, spec, g);
       }},
      // No CRED weights ship: the parity tests use seeded random ones (tests/data/models).
      {"cred", "", CredSpec(), "cred",
       [](const std::vector<WeightFile>& w, const ModelSpec& spec, Graph* g) {
         return DescribeCred(w[0].state.entries, w[0].path, w[0].metadata_json, w[0].metadata_path, spec, g);
       }},
  };
  return entries;
}

// "a,b" → {"a", "b"}; "" → {}.
std::vector<std::string> SplitCommas(const std::string& list) {
  std::vector<std::string> parts;
  if (list.empty()) return parts;
  std::string::size_type begin = 0;
  while (true) {
    const std::string::size_type comma = list.find(',', begin);
    parts.push_back(list.substr(begin, comma == std::string::npos ? std::string::npos : comma - begin));
    if (comma == std::string::npos) return parts;
    begin = comma + 1;
  }
}

std::string JoinCommas(const std::vector<std::string>& parts) {
  std::string joined;
  for (const std::string& p : parts) joined += (joined.empty() ? "" : ",") + p;
  return joined;
}

// The newest cached weights of `tag` for each of entry's networks, in builder order.
// NotFound naming every pattern searched when any network lacks them.
Status ResolveCachedWeights(const Entry& entry, const std::string& tag, std::vector<std::string>* paths) {
  const std::string root = SeisBenchCacheRoot();
  if (root.empty()) {
    return Status::NotFound(entry.name + ":" + tag + ": no SeisBench cache root (set SEISBENCH_CACHE_ROOT or HOME)");
  }
  std::vector<std::string> patterns;
  bool all_found = true;
  for (const std::string& folder : SplitCommas(entry.cache_folders)) {
    patterns.push_back(CachedWeightsPattern(root, folder, tag));
    CachedWeights found;
    if (FindCachedWeights(root, folder, tag, &found).ok()) {
      paths->push_back(found.path);
    } else {
      all_found = false;
    }
  }
  if (!all_found) {
    return Status::NotFound(entry.name + ":" + tag + ": no SeisBench cached weights; searched " +
                            JoinCommas(patterns));
  }
  return Status::OK();
}

// The weight files for `entry`: `weights_path` when given, else the cached weights of `tag` when
// given, else the bundled files (LoadModel's order).
Status ResolveWeightPaths(const Entry& entry, const std::string& tag, const std::string& weights_path,
                          std::vector<std::string>* paths) {
  paths->clear();
  if (!tag.empty()) {
    if (!weights_path.empty()) {
      return Status::InvalidArgument(entry.name + ":" + tag + " names SeisBench's cached weights and --weights '" +
                                     weights_path + "' names files too; give one of them");
    }
    return ResolveCachedWeights(entry, tag, paths);  // one file per network by construction
  }
  if (weights_path.empty()) {
    if (entry.bundled_weights.empty()) {
      return Status::NotFound(entry.name + " has no bundled weights; pass --weights " +
                              (entry.weight_files == 1 ? "FILE" : "FILE,FILE"));
    }
    for (const std::string& file : SplitCommas(entry.bundled_weights)) paths->push_back(BundledModelsDir() + "/" + file);
  } else if (entry.weight_files == 1) {
    paths->push_back(weights_path);  // a single file's name may contain commas
  } else {
    *paths = SplitCommas(weights_path);
  }
  if (paths->size() != entry.weight_files) {
    const std::string n = std::to_string(entry.weight_files);
    return Status::InvalidArgument(entry.name + " runs " + n + " networks and needs " + n +
                                   " weight files, one per network in the model's order, comma-separated "
                                   "(--weights FILE,FILE); got '" + weights_path + "'");
  }
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

std::vector<ModelInfo> DescribeModels() {
  std::vector<ModelInfo> infos;
  for (const Entry& e : Registry()) {
    ModelInfo info{e.name, e.spec, {}, SplitCommas(e.cache_folders)};
    for (const std::string& file : SplitCommas(e.bundled_weights)) {
      info.bundled_weights.push_back(BundledModelsDir() + "/" + file);
    }
    infos.push_back(std::move(info));
  }
  return infos;
}

Status ApplyMetadataBeside(const std::string& weights_path, ModelSpec* spec, std::string* metadata_path,
                           std::string* json_text) {
  const std::string meta = MetadataPathFor(weights_path);
  std::error_code ec;
  const bool present = fs::is_regular_file(meta, ec);
  std::string text;
  if (present) {
    RAPID_RETURN_IF_ERROR(ReadWholeFile(meta, &text));
    RAPID_RETURN_IF_ERROR(ApplyWeightsMetadata(text, meta, spec));
  }
  if (metadata_path != nullptr) *metadata_path = present ? meta : "";
  if (json_text != nullptr) *json_text = std::move(text);
  return Status::OK();
}

Status LoadModel(const std::string& name, const std::string& weights_path, LoadedModel* out,
                 const std::string& device, const std::string& cpu_backend) {
  RAPID_RETURN_IF_ERROR(CheckDevice(device));
  RAPID_RETURN_IF_ERROR(CheckBackend(cpu_backend));
  // "NAME:TAG" picks SeisBench's cached weights of that tag; registry names hold no ':'.
  const std::string::size_type colon = name.find(':');
  const std::string model_name = name.substr(0, colon);
  const std::string tag = colon == std::string::npos ? "" : name.substr(colon + 1);
  const Entry* entry = nullptr;
  std::string known;
  for (const Entry& e : Registry()) {
    if (e.name == model_name) entry = &e;
    known += (known.empty() ? "" : ", ") + e.name;
  }
  if (entry == nullptr) return Status::InvalidArgument("unknown model '" + model_name + "' (known: " + known + ")");
  if (colon != std::string::npos && tag.empty()) {
    return Status::InvalidArgument("model '" + name + "': empty weights tag (NAME:TAG, e.g. " + model_name +
                                   ":original)");
  }

  out->name = model_name;
  std::vector<std::string> paths;
  RAPID_RETURN_IF_ERROR(ResolveWeightPaths(*entry, tag, weights_path, &paths));
  out->weights_path = JoinCommas(paths);
  ModelSpec spec = entry->spec;
  std::vector<std::string> metadata_paths, digests;
  std::vector<WeightFile> files(paths.size());
  for (size_t i = 0; i < paths.size(); ++i) {
    std::error_code ec;
    if (!fs::is_regular_file(paths[i], ec)) return Status::NotFound(paths[i] + ": weight file not found");
    RAPID_RETURN_IF_ERROR(ApplyMetadataBeside(paths[i], &spec, &files[i].metadata_path, &files[i].metadata_json));
    if (!files[i].metadata_path.empty()) metadata_paths.push_back(files[i].metadata_path);
    files[i].path = paths[i];
    RAPID_RETURN_IF_ERROR(ReadStateDict(paths[i], &files[i].state));
    digests.emplace_back();
    RAPID_RETURN_IF_ERROR(Sha256File(paths[i], &digests.back()));
  }
  out->device = device;
  out->metadata_path = JoinCommas(metadata_paths);
  out->weights_sha256 = JoinCommas(digests);
  auto graph = std::make_shared<Graph>();
  RAPID_RETURN_IF_ERROR(entry->describe(files, spec, graph.get()));
  out->backend = BackendFor(device, cpu_backend);
  if (out->backend == kOnednnBackend) return CompileOnednn(std::move(graph), spec, &out->model);
  return CompileTorch(std::move(graph), spec, device, &out->model);
}

}  // namespace rapid
