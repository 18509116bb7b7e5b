// SeisBench cache lookup (--model NAME:TAG): the newest version of a tag wins and brings its own
// JSON, a missing tag names the patterns searched, the CLI picks exactly as with the bundled weights,
// and `rapid models --json` lists what the cache holds.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>

#include "models/registry.h"
#include "models/weights_cache.h"
#include "test_util.h"

namespace rapid {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

const std::string kBundled = std::string(RAPID_MODELS_DIR) + "/phasenet_original";
// SHA-256 of models/phasenet_original.pt, which the fake cache copies.
constexpr char kBundledSha256[] = "26d7dc3f42c06b29141eff878d18b616d93c2a7f253db95e37c399ac84fc5415";

// Sets an environment variable for one test and restores the previous value (or its absence).
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value == nullptr) {
      unsetenv(name);
    } else {
      setenv(name, value, 1);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      setenv(name_, old_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// A cache under `root` holding phasenet "original" at versions 1 and 3, copies of the bundled
// weights; version 1's JSON sets P_threshold 0.9 so a test can tell which JSON was applied.
void MakeFakeCache(const std::string& root) {
  const fs::path dir = fs::path(root) / "models/v3/phasenet";
  fs::create_directories(dir);
  fs::copy_file(kBundled + ".pt", dir / "original.pt.v1");
  fs::copy_file(kBundled + ".pt", dir / "original.pt.v3");
  fs::copy_file(kBundled + ".json", dir / "original.json.v3");
  std::ofstream(dir / "original.json.v1") << R"({"default_args": {"P_threshold": 0.9}})";
}

TEST(WeightsCacheTest, ListKeepsTheNewestVersionPerTagAndIgnoresOtherNames) {
  TempDir dir;
  for (const char* name : {"stead.pt.v2", "stead.pt.v10", "stead.json.v10", "ethz.pt.v1", "notes.pt.vX", "plain.pt", ".pt.v4"}) {
    dir.Touch("models/v3/phasenet/" + std::string(name));
  }
  const std::vector<CachedWeights> list = ListCachedWeights(dir.path(), "phasenet");
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].tag, "ethz");
  EXPECT_EQ(list[0].version, 1);
  EXPECT_EQ(list[1].tag, "stead");
  EXPECT_EQ(list[1].version, 10);
  EXPECT_EQ(list[1].path, dir.Path("models/v3/phasenet/stead.pt.v10"));
  EXPECT_TRUE(ListCachedWeights(dir.path(), "eqtransformer").empty());

  CachedWeights found;
  ASSERT_TRUE(FindCachedWeights(dir.path(), "phasenet", "stead", &found).ok());
  EXPECT_EQ(found.version, 10);
  Status s = FindCachedWeights(dir.path(), "phasenet", "instance", &found);
  EXPECT_EQ(s.code(), Status::Code::kNotFound);
  EXPECT_EQ(s.message(), dir.Path("models/v3/phasenet/instance.pt.v*"));
}

TEST(WeightsCacheTest, CacheRootIsTheVariableElseHomeDotSeisbench) {
  ScopedEnv home("HOME", "/home/someone");
  {
    ScopedEnv root("SEISBENCH_CACHE_ROOT", nullptr);
    EXPECT_EQ(SeisBenchCacheRoot(), "/home/someone/.seisbench");
  }
  ScopedEnv root("SEISBENCH_CACHE_ROOT", "/data/sb");
  EXPECT_EQ(SeisBenchCacheRoot(), "/data/sb");
}

TEST(WeightsCacheTest, TagLoadsTheHighestVersionWithItsJson) {
  TempDir dir;
  MakeFakeCache(dir.path());
  ScopedEnv root("SEISBENCH_CACHE_ROOT", dir.path().c_str());
  LoadedModel m;
  Status s = LoadModel("phasenet:original", "", &m);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(m.name, "phasenet");
  EXPECT_EQ(m.weights_path, dir.Path("models/v3/phasenet/original.pt.v3"));
  EXPECT_EQ(m.metadata_path, dir.Path("models/v3/phasenet/original.json.v3"));
  EXPECT_EQ(m.weights_sha256, kBundledSha256);
  EXPECT_EQ(m.model->Spec().component_order, "ENZ");  // from the JSON, over PhaseNet's ZNE default
  EXPECT_DOUBLE_EQ(m.model->Spec().thresholds.at("P"), 0.3);  // v3's JSON, not v1's 0.9

  // Another instance loads from what was resolved (as the run does): the same model.
  LoadedModel again;
  ASSERT_TRUE(LoadModel(m.name, m.weights_path, &again).ok());
  EXPECT_EQ(again.weights_sha256, kBundledSha256);
  EXPECT_EQ(again.metadata_path, m.metadata_path);
}

TEST(WeightsCacheTest, MissingTagIsNotFoundNamingEveryPatternSearched) {
  TempDir dir;
  MakeFakeCache(dir.path());
  ScopedEnv root("SEISBENCH_CACHE_ROOT", dir.path().c_str());
  LoadedModel m;
  Status s = LoadModel("phasenet:stead", "", &m);
  EXPECT_EQ(s.code(), Status::Code::kNotFound);
  EXPECT_NE(s.message().find(dir.Path("models/v3/phasenet/stead.pt.v*")), std::string::npos) << s.message();

  // EQCCT's networks live in two folders; both are named.
  s = LoadModel("eqcct:original", "", &m);
  EXPECT_EQ(s.code(), Status::Code::kNotFound);
  EXPECT_NE(s.message().find(dir.Path("models/v3/eqcct/original.pt.v*")), std::string::npos) << s.message();
  EXPECT_NE(s.message().find(dir.Path("models/v3/eqccts/original.pt.v*")), std::string::npos) << s.message();
}

TEST(WeightsCacheTest, TagWithOtherWeightsOrAnEmptyTagIsInvalidArgument) {
  TempDir dir;
  MakeFakeCache(dir.path());
  ScopedEnv root("SEISBENCH_CACHE_ROOT", dir.path().c_str());
  LoadedModel m;
  Status s = LoadModel("phasenet:original", kBundled + ".pt", &m);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find(kBundled + ".pt"), std::string::npos) << s.message();
  s = LoadModel("phasenet:stead", kBundled + ".pt", &m);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  s = LoadModel("phasenet:", "", &m);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  s = LoadModel("nosuchnet:original", "", &m);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("unknown model 'nosuchnet'"), std::string::npos) << s.message();
}

TEST(WeightsCacheTest, CliTagPicksAsTheBundledWeights) {
  TempDir dir;
  MakeFakeCache(dir.path());
  ScopedEnv root("SEISBENCH_CACHE_ROOT", dir.path().c_str());
  std::string log;
  ASSERT_EQ(testing::RunRapid({"run", "--model", "phasenet", "--output", dir.Path("bundled")}, &log), 0) << log;
  ASSERT_EQ(testing::RunRapid({"run", "--model", "phasenet:original", "--output", dir.Path("cached")}, &log), 0) << log;
  const std::string bundled = testing::ReadFileText(dir.Path("bundled/picks.csv"));
  EXPECT_GT(testing::ReadCsv(dir.Path("bundled/picks.csv")).size(), 1u);
  EXPECT_EQ(testing::ReadFileText(dir.Path("cached/picks.csv")), bundled);
  const auto run = nlohmann::json::parse(testing::ReadFileText(dir.Path("cached/run.json")));
  EXPECT_NE(run.dump().find(dir.Path("models/v3/phasenet/original.pt.v3")), std::string::npos);

  EXPECT_EQ(testing::RunRapid({"run", "--model", "phasenet:original", "--weights", kBundled + ".pt", "--output",
                               dir.Path("both")},
                              &log),
            1)
      << log;
}

TEST(WeightsCacheTest, ModelsJsonListsEveryModelAndTheCachedFile) {
  TempDir dir;
  MakeFakeCache(dir.path());
  ScopedEnv root("SEISBENCH_CACHE_ROOT", dir.path().c_str());
  std::string out;
  ASSERT_EQ(testing::RunRapid({"models", "--json"}, &out), 0) << out;
  const nlohmann::json all = nlohmann::json::parse(out, nullptr, /*allow_exceptions=*/false);
  ASSERT_TRUE(all.is_array()) << out;
  std::vector<std::string> names;
  for (const auto& m : all) names.push_back(m["name"].get<std::string>());
  EXPECT_EQ(names, KnownModels());
  for (const auto& m : all) {
    if (m["name"] == "phasenet") {
      EXPECT_EQ(m["class"], "PhaseNet");
      EXPECT_EQ(m["component_order"], "ENZ");
      EXPECT_EQ(m["bundled_found"], true);
      ASSERT_EQ(m["seisbench_cache"].size(), 1u) << m.dump();
      const auto& c = m["seisbench_cache"][0];
      EXPECT_EQ(c["tag"], "original");
      EXPECT_EQ(c["version"], 3);
      EXPECT_EQ(c["path"], dir.Path("models/v3/phasenet/original.pt.v3"));
      EXPECT_DOUBLE_EQ(c["thresholds"]["P"].get<double>(), 0.3);
    } else if (m["name"] == "eqcct") {
      EXPECT_EQ(m["seisbench_cache_dirs"],
                nlohmann::json::array({dir.Path("models/v3/eqcct"), dir.Path("models/v3/eqccts")}));
      EXPECT_TRUE(m["seisbench_cache"].empty());
    } else {
      EXPECT_TRUE(m["seisbench_cache"].empty()) << m.dump();
    }
  }

  // The plain listing keeps its columns aligned past 10-character names.
  ASSERT_EQ(testing::RunRapid({"models"}, &out), 0) << out;
  const std::string::size_type header = out.find("NAME");
  const std::string::size_type light = out.find("\nphasenetlight");
  ASSERT_NE(header, std::string::npos) << out;
  ASSERT_NE(light, std::string::npos) << out;
  const std::string::size_type header_line = out.rfind('\n', header) + 1;
  EXPECT_EQ(out.find("CLASS", header) - header_line, out.find("PhaseNetLight", light) - (light + 1)) << out;
  EXPECT_NE(out.find("phasenet:original  v3  " + dir.Path("models/v3/phasenet/original.pt.v3")), std::string::npos)
      << out;
}

}  // namespace
}  // namespace rapid
