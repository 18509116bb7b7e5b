// Model registry: model names → architecture, default spec and bundled weights. Adding a model
// means one entry here and one model file.
// Thread safety: pure functions; LoadModel may run concurrently for distinct outputs.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "models/model.h"
#include "models/model_spec.h"

namespace rapid {

// A model made of several networks (EQCCT: P and S) reads one weight file per network; its
// weights_path, metadata_path and weights_sha256 then list one item per file, comma-separated,
// in the model's network order.
struct LoadedModel {
  std::string name;            // registry name, e.g. "phasenet"
  std::string weights_path;    // the weight file(s); LoadModel(name, weights_path) loads them again
  std::string metadata_path;   // the JSON file(s) found next to them; empty when none
  std::string weights_sha256;  // hex digest of each weight file
  std::string device = "cpu";  // where the model runs
  // The backend that runs it (backends/backend.h): "onednn" or "torch".
  std::string backend;
  std::unique_ptr<Model> model;
};

// Registry names, e.g. {"phasenet", "phasenetlight", "eqcct", "eqtransformer"}.
std::vector<std::string> KnownModels();

// Folder of the weights shipped with RAPID: $RAPID_MODELS_DIR if set, else <exe>/../models,
// else <source tree>/models.
std::string BundledModelsDir();

// A registry entry as `rapid models` shows it; describing one reads no weights.
struct ModelInfo {
  std::string name;                          // registry name, e.g. "phasenet"
  ModelSpec spec;                            // defaults, before any weights' JSON
  std::vector<std::string> bundled_weights;  // paths of the shipped files, one per network; empty if none ship
  std::vector<std::string> cache_folders;    // SeisBench cache folder per network, e.g. {"eqcct", "eqccts"}
};

// Every registry entry, in KnownModels() order.
std::vector<ModelInfo> DescribeModels();

// Loads model `name` ("NAME" or "NAME:TAG") with `weights_path`. The weights are, in this order:
//   1. `weights_path` when not empty: one file, or for a model of several networks one file per
//      network, comma-separated in the model's order (eqcct: "P.pt,S.pt");
//   2. with ":TAG", SeisBench's cached weights of that tag, the highest version in each network's
//      folder (weights_cache.h; root $SEISBENCH_CACHE_ROOT, else ~/.seisbench);
//   3. else the bundled weights.
// The weights' JSON (if present next to them) is applied to the default spec, file by file.
// The weights are placed on `device` ("cpu" or "cuda:N", models/device.h), where the model then
// runs, on BackendFor(device, cpu_backend). out->name is the registry name without the tag.
// InvalidArgument: unknown model name (listing the known ones), an empty tag, a tag together with a
// weights_path that is not what the tag resolves to (so LoadModel(name, out->weights_path) loads the
// same model again), the wrong number of files, or weights that do not fit the architecture (naming
// the file and the key). NotFound: a missing weight file, a tag not in the cache (naming every
// pattern searched), or neither weights_path nor tag for a model that ships no weights (saying to
// pass --weights), a device libtorch does not see. InvalidArgument: an unknown cpu_backend.
// Corruption: unreadable weights. ResourceExhausted: a device that cannot take the weights (naming
// the file and the device).
Status LoadModel(const std::string& name, const std::string& weights_path, LoadedModel* out,
                 const std::string& device = "cpu", const std::string& cpu_backend = "onednn");

// Applies the JSON SeisBench keeps beside `weights_path` (MetadataPathFor) to *spec, if it exists.
// OK: *metadata_path is its path and *json_text its text (both nullable), or both are empty when
// there is none. IOError: unreadable JSON; InvalidArgument: malformed metadata (naming the file).
Status ApplyMetadataBeside(const std::string& weights_path, ModelSpec* spec, std::string* metadata_path,
                           std::string* json_text);

// Hex SHA-256 of a file's bytes. IOError naming the path if it cannot be read.
Status Sha256File(const std::string& path, std::string* hex);

}  // namespace rapid
