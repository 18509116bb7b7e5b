#include "core/atomic_file.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <set>
#include <system_error>

namespace rapid {
namespace {

std::string TemporaryName(const std::filesystem::path& target) {
  static std::atomic<uint64_t> counter{0};
  std::string name(1, '.');
  name.append(target.filename().string());
  name.append(".tmp.").append(std::to_string(::getpid()));
  name.append(".").append(std::to_string(counter.fetch_add(1)));
  return (target.parent_path() / name).string();
}

// Removes the temporaries of `target` that processes no longer running left (a writer killed
// between creating its temporary and renaming it: ResumeTest kills runs at random), the first
// time this process replaces `target`. Temporaries of live processes, this one included, stay.
void RemoveDeadTemporaries(const std::filesystem::path& target) {
  static std::mutex mu;
  static std::set<std::string> swept;
  {
    std::lock_guard<std::mutex> lock(mu);
    if (!swept.insert(target.string()).second) return;
  }
  std::string prefix(1, '.');  // as TemporaryName builds it (operator+ trips GCC 12's -Wrestrict)
  prefix.append(target.filename().string()).append(".tmp.");
  std::error_code ec;
  const std::filesystem::path dir = target.has_parent_path() ? target.parent_path() : ".";
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.compare(0, prefix.size(), prefix) != 0) continue;
    char* end = nullptr;
    const long pid = std::strtol(name.c_str() + prefix.size(), &end, 10);
    if (end == name.c_str() + prefix.size() || *end != '.' || pid <= 0 || pid == ::getpid()) continue;
    if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) std::filesystem::remove(entry.path(), ec);
  }
}

}  // namespace

AtomicFile::~AtomicFile() {
  if (file_ != nullptr) std::fclose(file_);
  if (!temp_.empty()) std::remove(temp_.c_str());
}

Status AtomicFile::Open(const std::string& path) {
  const std::filesystem::path target(path);
  if (path.empty() || !target.has_filename()) return Status::InvalidArgument("'" + path + "' names no file");
  std::error_code ec;
  if (target.has_parent_path()) {
    std::filesystem::create_directories(target.parent_path(), ec);
    if (ec) return Status::IOError(path + ": cannot create parent directory: " + ec.message());
  }
  path_ = path;
  temp_ = TemporaryName(target);
  file_ = std::fopen(temp_.c_str(), "wb");
  if (file_ == nullptr) {
    const int open_errno = errno;
    temp_.clear();
    return Status::IOError(path + ": cannot create temporary file: " + std::strerror(open_errno));
  }
  return Status::OK();
}

Status AtomicFile::Append(std::string_view bytes) {
  if (bytes.empty()) return Status::OK();
  if (std::fwrite(bytes.data(), 1, bytes.size(), file_) != bytes.size()) {
    return Status::IOError(temp_ + ": write failed: " + std::strerror(errno));
  }
  return Status::OK();
}

Status AtomicFile::Commit() {
  const bool close_failed = std::fclose(file_) != 0;
  file_ = nullptr;
  if (close_failed) return Status::IOError(temp_ + ": close failed: " + std::strerror(errno));
  if (std::rename(temp_.c_str(), path_.c_str()) != 0) {
    return Status::IOError(path_ + ": cannot rename temporary file into place: " + std::strerror(errno));
  }
  temp_.clear();
  RemoveDeadTemporaries(path_);
  return Status::OK();
}

Status WriteFileAtomically(const std::string& path, std::string_view bytes) {
  AtomicFile file;
  RAPID_RETURN_IF_ERROR(file.Open(path));
  RAPID_RETURN_IF_ERROR(file.Append(bytes));
  return file.Commit();
}

}  // namespace rapid
