#include "test_util.h"

#include "core/nano_time.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <thread>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace rapid::testing {

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "rapid-test-XXXXXX").string();
  char* made = mkdtemp(pattern.data());
  path_ = made != nullptr ? made : "";
}

TempDir::~TempDir() {
  std::error_code ec;
  if (!path_.empty()) std::filesystem::remove_all(path_, ec);
}

std::string TempDir::Path(const std::string& relative) const {
  return (std::filesystem::path(path_) / relative).string();
}

std::string TempDir::Touch(const std::string& relative) const {
  const std::filesystem::path p = Path(relative);
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p) << "x";
  return p.string();
}

std::vector<std::string> TempDir::Listing() const {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::recursive_directory_iterator(path_)) {
    names.push_back(std::filesystem::relative(e.path(), path_).string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string ReadFileText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

int64_t PeakRss() {
  std::ifstream status("/proc/self/status");
  std::string key;
  for (int64_t kb = 0; status >> key;) {
    if (key == "VmHWM:" && status >> kb) return kb * 1024;
  }
  return 0;
}

bool ResetPeakRss() {
  std::FILE* f = std::fopen("/proc/self/clear_refs", "w");
  if (f == nullptr) return false;
  const bool written = std::fputs("5", f) >= 0;
  return std::fclose(f) == 0 && written;
}

std::vector<std::vector<std::string>> ReadCsv(const std::string& path) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(ReadFileText(path));
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();  // CRLF files
    std::vector<std::string> row;
    std::stringstream ls(line);
    for (std::string field; std::getline(ls, field, ',');) row.push_back(field);
    if (!line.empty() && line.back() == ',') row.emplace_back();
    rows.push_back(row);
  }
  return rows;
}

int RunRapid(const std::vector<std::string>& args, std::string* output) {
  std::string cmd = std::string("'") + RAPID_BINARY + "'";
  for (const std::string& a : args) cmd += " '" + a + "'";
  cmd += " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) return -1;
  std::string text;
  std::array<char, 4096> buf;
  while (size_t n = fread(buf.data(), 1, buf.size(), pipe)) text.append(buf.data(), n);
  int status = pclose(pipe);
  if (output != nullptr) *output = text;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

pid_t SpawnRapid(const std::vector<std::string>& args, bool own_group) {
  const pid_t pid = fork();
  if (pid == 0) {
    if (own_group) setpgid(0, 0);
    std::vector<char*> argv = {const_cast<char*>(RAPID_BINARY)};
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    const int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, STDOUT_FILENO);
    dup2(devnull, STDERR_FILENO);
    execv(RAPID_BINARY, argv.data());
    _exit(127);
  }
  return pid;
}

pid_t SpawnLogged(const std::vector<std::string>& command, const std::string& log) {
  const pid_t pid = fork();
  if (pid == 0) {
    const int out = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(out, STDOUT_FILENO);
    dup2(out, STDERR_FILENO);
    std::vector<char*> argv;
    for (const std::string& a : command) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execvp(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

int WaitRapid(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void WaitForFile(const std::string& path, double timeout_s) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (!std::filesystem::exists(path) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

NanoTime Iso(const char* iso) { return *ParseIsoTime(iso); }

Pick MakePick(const std::string& trace_id, const std::string& phase, const char* peak_iso, float value,
              int64_t on_before_ns, int64_t off_after_ns) {
  Pick p;
  p.trace_id = trace_id;
  p.phase = phase;
  p.peak_time = Iso(peak_iso);
  p.start_time = p.peak_time - on_before_ns;
  p.end_time = p.peak_time + off_after_ns;
  p.peak_value = value;
  return p;
}

}  // namespace rapid::testing
