// Model registry: model names → architecture, default spec and bundled weights. Adding a model
// means one entry here and one model file.
// Thread safety: pure functions; LoadModel may run concurrently for distinct outputs.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "models/model.h"

namespace rapid {

// A model made of several networks (EQCCT: P and S) reads one weight file per network; its
// weights_path, metadata_path and weights_sha256 then list one item per file, comma-separated,
// in the model's network order.
struct LoadedModel {
  std::string name;            // registry name, e.g. "phasenet"
  std::string weights_path;    // the weight file(s); LoadModel(name, weights_path) loads them again
  std::string metadata_path;   // the JSON file(s) found next to them; empty when none
  std::string weights_sha256;  // hex digest of each weight file
  std::unique_ptr<Model> model;
};

// Registry names, e.g. {"phasenet", "phasenetlight", "eqcct", "eqtransformer"}.
std::vector<std::string> KnownModels();

// Folder of the weights shipped with RAPID: $RAPID_MODELS_DIR if set, else <exe>/../models,
// else <source tree>/models.
std::string BundledModelsDir();

// Loads model `name` with `weights_path`, or with its bundled weights when weights_path is
// empty. The weights' JSON (if present next to them) is applied to the default spec, file by file.
// `weights_path` is one file, or for a model of several networks one file per network,
// comma-separated in the model's order (eqcct: "P.pt,S.pt").
// InvalidArgument: unknown model name (listing the known ones), the wrong number of files, or
// weights that do not fit the architecture (naming the file and the key). NotFound: a missing
// weight file, or no weights_path for a model that ships no weights (saying to pass --weights).
// Corruption: unreadable weights.
Status LoadModel(const std::string& name, const std::string& weights_path, LoadedModel* out);

// Hex SHA-256 of a file's bytes. IOError naming the path if it cannot be read.
Status Sha256File(const std::string& path, std::string* hex);

}  // namespace rapid
