#include "models/weights_cache.h"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <map>

namespace rapid {

namespace {

namespace fs = std::filesystem;

constexpr char kVersionMark[] = ".pt.v";

}  // namespace

std::string SeisBenchCacheRoot() {
  if (const char* env = std::getenv("SEISBENCH_CACHE_ROOT"); env != nullptr && *env != '\0') return env;
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    return std::string(home) + "/.seisbench";
  }
  return "";
}

std::string CacheModelDir(const std::string& cache_root, const std::string& model_folder) {
  return cache_root + "/models/v3/" + model_folder;
}

std::string CachedWeightsPattern(const std::string& cache_root, const std::string& model_folder,
                                 const std::string& tag) {
  return CacheModelDir(cache_root, model_folder) + "/" + tag + kVersionMark + "*";
}

std::vector<CachedWeights> ListCachedWeights(const std::string& cache_root, const std::string& model_folder) {
  std::map<std::string, CachedWeights> newest;  // by tag, so the result comes out sorted
  std::error_code ec;
  for (fs::directory_iterator it(CacheModelDir(cache_root, model_folder), ec), end; !ec && it != end;
       it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    const std::string file = it->path().filename().string();
    const std::string::size_type mark = file.rfind(kVersionMark);
    if (mark == std::string::npos || mark == 0) continue;
    const char* digits = file.data() + mark + sizeof(kVersionMark) - 1;
    const char* digits_end = file.data() + file.size();
    int64_t version = 0;
    const auto [rest, err] = std::from_chars(digits, digits_end, version);
    if (digits == digits_end || err != std::errc() || rest != digits_end) continue;
    CachedWeights w{file.substr(0, mark), version, it->path().string()};
    auto [slot, inserted] = newest.emplace(w.tag, w);
    if (!inserted && slot->second.version < version) slot->second = w;
  }
  std::vector<CachedWeights> list;
  for (auto& [tag, w] : newest) list.push_back(std::move(w));
  return list;
}

Status FindCachedWeights(const std::string& cache_root, const std::string& model_folder, const std::string& tag,
                         CachedWeights* out) {
  for (CachedWeights& w : ListCachedWeights(cache_root, model_folder)) {
    if (w.tag == tag) {
      *out = std::move(w);
      return Status::OK();
    }
  }
  return Status::NotFound(CachedWeightsPattern(cache_root, model_folder, tag));
}

}  // namespace rapid
