#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "models/registry.h"

namespace rapid {

namespace {

int ListModels(bool as_json) {
  nlohmann::ordered_json all = nlohmann::ordered_json::array();
  for (const std::string& name : KnownModels()) {
    LoadedModel m;
    Status s = LoadModel(name, "", &m);
    nlohmann::ordered_json j;
    j["name"] = name;
    j["weights"] = m.weights_path;
    j["weights_found"] = s.ok();
    if (!s.ok()) j["error"] = s.message();
    if (s.ok()) {
      const ModelSpec& spec = m.model->Spec();
      j["class"] = spec.class_name;
      j["rate_hz"] = spec.rate_hz;
      j["in_samples"] = spec.in_samples;
      j["overlap_samples"] = spec.overlap_samples;
      j["component_order"] = spec.component_order;
      j["labels"] = spec.labels;
      j["thresholds"] = spec.thresholds;
      j["weights_sha256"] = m.weights_sha256;
    }
    all.push_back(j);
  }
  if (as_json) {
    std::printf("%s\n", all.dump(2).c_str());
    return 0;
  }
  for (const auto& j : all) {
    if (!j["weights_found"].get<bool>()) {
      std::printf("%-10s weights not usable: %s\n", j["name"].get<std::string>().c_str(),
                  j["error"].get<std::string>().c_str());
      continue;
    }
    std::string labels;
    for (const auto& l : j["labels"]) labels += l.get<std::string>();
    std::printf("%-10s %-10s %6.0f Hz  %5lld samples  labels %-4s order %-4s  %s\n", j["name"].get<std::string>().c_str(),
                j["class"].get<std::string>().c_str(), j["rate_hz"].get<double>(),
                static_cast<long long>(j["in_samples"].get<int64_t>()), labels.c_str(),
                j["component_order"].get<std::string>().c_str(), j["weights"].get<std::string>().c_str());
  }
  return 0;
}

}  // namespace

CommandAction AddModelsCommand(CLI::App* app) {
  auto as_json = std::make_shared<bool>(false);
  CLI::App* cmd = app->add_subcommand("models", "List the models, their inputs and the weights found");
  cmd->add_flag("--json", *as_json, "Print JSON");
  return [as_json] { return ListModels(*as_json); };
}

}  // namespace rapid
