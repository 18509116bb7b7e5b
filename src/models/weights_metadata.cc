#include "models/weights_metadata.h"

#include <nlohmann/json.hpp>

namespace rapid {

namespace {

using nlohmann::json;

Status Bad(const std::string& source, const std::string& key, const std::string& why) {
  return Status::InvalidArgument(source + ": metadata '" + key + "' " + why);
}

}  // namespace

Status ApplyWeightsMetadata(const std::string& json_text, const std::string& source, ModelSpec* spec) {
  json doc = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return Status::InvalidArgument(source + ": not a JSON object");
  try {
    if (doc.contains("model_args")) {
      const json& args = doc["model_args"];
      if (args.contains("phases")) {
        if (!args["phases"].is_string()) return Bad(source, "model_args.phases", "must be a string");
        // A model with a detection output (EQTransformer) emits it before the phases.
        spec->labels.clear();
        if (!spec->detection_label.empty()) spec->labels.push_back(spec->detection_label);
        for (char c : args["phases"].get<std::string>()) spec->labels.emplace_back(1, c);
      }
      if (args.contains("component_order")) {
        spec->component_order = args["component_order"].get<std::string>();
        if (spec->component_order.empty()) return Bad(source, "model_args.component_order", "is empty");
      }
      if (args.contains("norm")) {
        const std::string norm = args["norm"].get<std::string>();
        if (norm == "std") {
          if (spec->norm == WindowNorm::kPeakPerChannel) spec->norm = WindowNorm::kStdPerChannel;
        } else if (norm == "peak") {
          spec->norm = WindowNorm::kPeakPerChannel;
        } else {
          return Bad(source, "model_args.norm", "must be \"std\" or \"peak\", not \"" + norm + "\"");
        }
      }
      if (args.contains("sampling_rate")) {
        spec->rate_hz = args["sampling_rate"].get<double>();
        if (!(spec->rate_hz > 0)) return Bad(source, "model_args.sampling_rate", "must be positive");
      }
    }
    if (doc.contains("default_args")) {
      const json& args = doc["default_args"];
      for (const std::string& label : spec->labels) {
        // SeisBench names the detection trace's threshold "detection_threshold".
        const std::string key = label == spec->detection_label ? "detection_threshold" : label + "_threshold";
        if (args.contains(key)) spec->thresholds[label] = args[key].get<double>();
      }
      if (args.contains("overlap")) {
        spec->overlap_samples = args["overlap"].get<int64_t>();
        if (spec->overlap_samples < 0 || spec->overlap_samples >= spec->in_samples)
          return Bad(source, "default_args.overlap", "must be in [0, in_samples)");
      }
      if (args.contains("blinding")) {
        const json& b = args["blinding"];
        if (!b.is_array() || b.size() != 2) return Bad(source, "default_args.blinding", "must be [pre, post]");
        spec->blinding_pre_samples = b[0].get<int64_t>();
        spec->blinding_post_samples = b[1].get<int64_t>();
      }
      if (args.contains("stacking")) {
        const std::string s = args["stacking"].get<std::string>();
        if (s == "avg") spec->stacking = Stacking::kAvg;
        else if (s == "max") spec->stacking = Stacking::kMax;
        else return Bad(source, "default_args.stacking", "must be \"avg\" or \"max\"");
      }
    }
  } catch (const json::exception& e) {
    return Status::InvalidArgument(source + ": malformed metadata: " + e.what());
  }
  return Status::OK();
}

std::string MetadataPathFor(const std::string& weights_path) {
  const std::string::size_type pos = weights_path.rfind(".pt");
  if (pos == std::string::npos) return weights_path + ".json";
  return weights_path.substr(0, pos) + ".json" + weights_path.substr(pos + 3);
}

Status ReadOriginalCompatible(const std::string& json_text, const std::string& source, bool* out) {
  *out = false;
  if (json_text.empty()) return Status::OK();
  const json doc = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return Status::InvalidArgument(source + ": not a JSON object");
  if (!doc.contains("model_args") || !doc["model_args"].is_object()) return Status::OK();
  const json& args = doc["model_args"];
  if (!args.contains("original_compatible")) return Status::OK();
  if (!args["original_compatible"].is_boolean()) {
    return Status::InvalidArgument(source + ": metadata 'model_args.original_compatible' must be true or false, not " +
                                   args["original_compatible"].dump());
  }
  *out = args["original_compatible"].get<bool>();
  return Status::OK();
}

}  // namespace rapid
