#include "serve_test_util.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <thread>

#include "http_client.h"

namespace rapid::testing {
namespace {

namespace fs = std::filesystem;
const std::string kChunk = std::string(RAPID_SOURCE_DIR) + "/data/texnet-sample/20241215T115800Z_20241215T120100Z";

}  // namespace

std::vector<std::string> Stations() {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(kChunk)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

std::string StationBody(const std::string& station) {
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(kChunk + "/" + station)) files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  std::string body;
  for (const std::string& f : files) body += ReadFileText(f);
  return body;
}

std::string SynthBody(const TempDir& dir, const std::string& name, std::vector<std::string> args) {
  args.insert(args.begin(), {"synth", "--output", dir.Path(name), "--stations", "1"});
  EXPECT_EQ(RunRapid(args), 0);
  std::string body;
  for (const auto& e : fs::recursive_directory_iterator(dir.Path(name))) {
    if (e.path().extension() == ".mseed") body += ReadFileText(e.path().string());
  }
  return body;
}

int64_t MetricValue(const std::string& text, const std::string& name) {
  const size_t at = text.find("\n" + name + " ");
  if (at == std::string::npos) return -1;
  return std::stoll(text.substr(at + name.size() + 2));
}

int64_t RequestMemoryHeld(int port) {
  return MetricValue(Http(port, "GET", "/metrics").body, "rapid_request_memory_bytes");
}

int64_t RequestMemoryHeldOnceSettled(int port) {
  int64_t held = RequestMemoryHeld(port);
  for (int k = 0; k < 500 && held != 0; ++k) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    held = RequestMemoryHeld(port);
  }
  return held;
}

}  // namespace rapid::testing
