// SeisBench's weight cache, as SeisBench lays it out: <root>/models/v3/<folder>/<tag>.pt.v<N>, with
// the metadata <tag>.json.v<N> beside it. <root> is $SEISBENCH_CACHE_ROOT, else ~/.seisbench;
// <folder> is the lower-case SeisBench class name (EQCCT's networks: "eqcct" and "eqccts").
// Thread safety: pure functions of their arguments, the environment and the file system.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace rapid {

// One weight file in the cache.
struct CachedWeights {
  std::string tag;      // SeisBench's weight name, e.g. "stead"
  int64_t version = 0;  // N of "<tag>.pt.v<N>"
  std::string path;     // the weight file; its JSON is MetadataPathFor(path)
};

// $SEISBENCH_CACHE_ROOT when set and not empty, else $HOME/.seisbench; empty when neither is set.
std::string SeisBenchCacheRoot();

// The folder that holds a model's weights: <cache_root>/models/v3/<model_folder>.
std::string CacheModelDir(const std::string& cache_root, const std::string& model_folder);

// What FindCachedWeights looks for, for messages: "<CacheModelDir>/<tag>.pt.v*".
std::string CachedWeightsPattern(const std::string& cache_root, const std::string& model_folder,
                                 const std::string& tag);

// Every tag in CacheModelDir(cache_root, model_folder), each with its highest version, sorted by tag.
// Only names "<tag>.pt.v<N>" with N a decimal integer count (SeisBench's versions are "1", "2", ...);
// anything else in the folder is not weights. Empty when the folder does not exist.
std::vector<CachedWeights> ListCachedWeights(const std::string& cache_root, const std::string& model_folder);

// The highest version of `tag` in CacheModelDir(cache_root, model_folder).
// OK: *out names it. NotFound: no such file; the message is CachedWeightsPattern(...).
Status FindCachedWeights(const std::string& cache_root, const std::string& model_folder, const std::string& tag,
                         CachedWeights* out);

}  // namespace rapid
