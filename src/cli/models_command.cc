#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "cli/commands.h"
#include "core/exit_codes.h"
#include "core/hz_text.h"
#include "models/registry.h"
#include "models/weights_cache.h"

namespace rapid {

namespace {

namespace fs = std::filesystem;
using nlohmann::ordered_json;

// "P=0.3 S=0.3", in label order.
std::string ThresholdText(const ModelSpec& spec) {
  std::string text;
  for (const std::string& label : spec.labels) {
    auto it = spec.thresholds.find(label);
    if (it == spec.thresholds.end()) continue;
    char value[32];
    std::snprintf(value, sizeof(value), "%g", it->second);
    text += (text.empty() ? "" : " ") + label + "=" + value;
  }
  return text;
}

// One cached weight file of a model, with the thresholds its JSON sets over the defaults.
struct CachedListing {
  std::string folder;
  CachedWeights weights;
  std::string metadata_path;  // empty when no JSON lies beside the file
  ModelSpec spec;             // the defaults with that JSON applied
  std::string error;          // unreadable JSON; empty when fine
};

// What `rapid models` shows of one model.
struct ModelListing {
  ModelInfo info;
  ModelSpec spec;  // what `--model NAME` runs with: the bundled weights' JSON applied when they ship
  bool bundled_found = false;
  std::string error;  // why the bundled weights are not usable; empty when they are or none ship
  std::vector<std::string> cache_dirs;
  std::vector<CachedListing> cached;
};

// Reads only the JSON beside weight files, never the weights, so listing stays fast with a large
// cache. `cache_root` empty: no cache is searched.
ModelListing ListModel(const ModelInfo& info, const std::string& cache_root) {
  ModelListing m{info, info.spec, !info.bundled_weights.empty(), "", {}, {}};
  for (const std::string& path : info.bundled_weights) {
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) {
      m.bundled_found = false;
      m.error = path + ": weight file not found";
      continue;
    }
    Status s = ApplyMetadataBeside(path, &m.spec, nullptr, nullptr);
    if (!s.ok()) m.error = s.message();
  }
  if (cache_root.empty()) return m;
  for (const std::string& folder : info.cache_folders) {
    m.cache_dirs.push_back(CacheModelDir(cache_root, folder));
    for (const CachedWeights& w : ListCachedWeights(cache_root, folder)) {
      CachedListing c{folder, w, "", info.spec, ""};
      Status s = ApplyMetadataBeside(w.path, &c.spec, &c.metadata_path, nullptr);
      if (!s.ok()) c.error = s.message();
      m.cached.push_back(std::move(c));
    }
  }
  return m;
}

ordered_json ToJson(const ModelListing& m) {
  ordered_json j;
  j["name"] = m.info.name;
  j["class"] = m.spec.class_name;
  j["rate_hz"] = m.spec.rate_hz;
  j["in_samples"] = m.spec.in_samples;
  j["overlap_samples"] = m.spec.overlap_samples;
  j["component_order"] = m.spec.component_order;
  j["labels"] = m.spec.labels;
  j["thresholds"] = m.spec.thresholds;
  j["bundled_weights"] = m.info.bundled_weights;
  j["bundled_found"] = m.bundled_found;
  if (!m.error.empty()) j["error"] = m.error;
  j["seisbench_cache_dirs"] = m.cache_dirs;
  ordered_json cached = ordered_json::array();
  for (const CachedListing& c : m.cached) {
    ordered_json e;
    e["folder"] = c.folder;
    e["tag"] = c.weights.tag;
    e["version"] = c.weights.version;
    e["path"] = c.weights.path;
    e["metadata"] = c.metadata_path;
    if (c.error.empty()) {
      e["thresholds"] = c.spec.thresholds;
    } else {
      e["error"] = c.error;
    }
    cached.push_back(e);
  }
  j["seisbench_cache"] = cached;
  return j;
}

// Prints `rows` as columns two spaces apart, each as wide as its widest cell, so long model names
// keep the columns aligned.
void PrintTable(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()));
    for (size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], row[c].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      line += row[c];
      if (c + 1 < row.size()) line += std::string(widths[c] - row[c].size() + 2, ' ');
    }
    std::printf("%s\n", line.c_str());
  }
}

int ListModels(bool as_json) {
  const std::string cache_root = SeisBenchCacheRoot();
  std::vector<ModelListing> models;
  for (const ModelInfo& info : DescribeModels()) models.push_back(ListModel(info, cache_root));
  if (as_json) {
    ordered_json all = ordered_json::array();
    for (const ModelListing& m : models) all.push_back(ToJson(m));
    std::printf("%s\n", all.dump(2).c_str());
    return kExitOk;
  }
  std::vector<std::vector<std::string>> table = {
      {"NAME", "CLASS", "RATE", "SAMPLES", "LABELS", "ORDER", "THRESHOLDS", "BUNDLED WEIGHTS"}};
  std::vector<std::string> cached_lines;
  for (const ModelListing& m : models) {
    std::string labels, bundled;
    for (const std::string& l : m.spec.labels) labels += (labels.empty() ? "" : ",") + l;  // "Detection,P,S"
    for (const std::string& p : m.info.bundled_weights) bundled += (bundled.empty() ? "" : ",") + p;
    if (!m.error.empty()) {
      bundled = "not usable: " + m.error;
    } else if (bundled.empty()) {
      bundled = "none (--weights FILE or --model " + m.info.name + ":TAG)";
    }
    table.push_back({m.info.name, m.spec.class_name, HzText(m.spec.rate_hz), std::to_string(m.spec.in_samples), labels,
                     m.spec.component_order, ThresholdText(m.spec), bundled});
    for (const CachedListing& c : m.cached) {
      cached_lines.push_back(m.info.name + ":" + c.weights.tag + "  v" + std::to_string(c.weights.version) + "  " +
                             c.weights.path + (c.error.empty() ? "" : "  (" + c.error + ")"));
    }
  }
  PrintTable(table);
  if (cache_root.empty()) {
    std::printf("\nSeisBench cache: none searched (set SEISBENCH_CACHE_ROOT or HOME)\n");
    return kExitOk;
  }
  std::printf("\nSeisBench cache %s/models/v3:%s\n", cache_root.c_str(),
              cached_lines.empty() ? " no weights found" : "");
  for (const std::string& line : cached_lines) std::printf("  %s\n", line.c_str());
  return kExitOk;
}

}  // namespace

CommandAction AddModelsCommand(CLI::App* app) {
  auto as_json = std::make_shared<bool>(false);
  CLI::App* cmd = app->add_subcommand("models", "List the models, their inputs and the weights found");
  cmd->add_flag("--json", *as_json, "Print JSON");
  return [as_json] { return ListModels(*as_json); };
}

}  // namespace rapid
