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

struct LoadedModel {
  std::string name;            // registry name, e.g. "phasenet"
  std::string weights_path;
  std::string metadata_path;   // empty when the weights have no JSON next to them
  std::string weights_sha256;  // hex digest of the weight file
  std::unique_ptr<Model> model;
};

// Registry names, e.g. {"phasenet", "eqtransformer"}.
std::vector<std::string> KnownModels();

// Folder of the weights shipped with RAPID: $RAPID_MODELS_DIR if set, else <exe>/../models,
// else <source tree>/models.
std::string BundledModelsDir();

// Loads model `name` with `weights_path`, or with its bundled weights when weights_path is
// empty. The weights' JSON (if present next to them) is applied to the default spec.
// InvalidArgument: unknown model name (listing the known ones), an empty weights_path for a model
// that ships no weights (eqtransformer), or weights that do not fit the architecture (naming the
// key). NotFound: missing weight file. Corruption: unreadable weights.
Status LoadModel(const std::string& name, const std::string& weights_path, LoadedModel* out);

// Hex SHA-256 of a file's bytes. IOError naming the path if it cannot be read.
Status Sha256File(const std::string& path, std::string* hex);

}  // namespace rapid
