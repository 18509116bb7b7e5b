// Weight metadata: the JSON SeisBench keeps next to each weight file (`model_args`,
// `default_args`), applied to a model's default spec.
// Thread safety: pure functions.
#pragma once

#include <string>

#include "core/status.h"
#include "models/model_spec.h"

namespace rapid {

// Applies the metadata in `json_text` to *spec:
//   model_args.phases (labels, one character each, after spec->detection_label if the model has
//   one), model_args.component_order, model_args.norm ("std" | "peak"), model_args.sampling_rate,
//   default_args.<LABEL>_threshold (detection_threshold for the detection label),
//   default_args.overlap, default_args.blinding [pre, post],
//   default_args.stacking ("avg" | "max").
// Unknown keys are ignored. InvalidArgument naming `source` and the key on a malformed value.
Status ApplyWeightsMetadata(const std::string& json_text, const std::string& source, ModelSpec* spec);

// `model_args.original_compatible` of the JSON in `json_text` (Keras-converted weights), false when
// the text is empty or the key absent. InvalidArgument naming `source` when it is not a boolean.
Status ReadOriginalCompatible(const std::string& json_text, const std::string& source, bool* out);

// The metadata file SeisBench pairs with a weight file: "x.pt" → "x.json", "x.pt.v2" → "x.json.v2".
std::string MetadataPathFor(const std::string& weights_path);

}  // namespace rapid
