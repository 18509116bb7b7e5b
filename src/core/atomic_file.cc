#include "core/atomic_file.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
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
  return Status::OK();
}

Status WriteFileAtomically(const std::string& path, std::string_view bytes) {
  AtomicFile file;
  RAPID_RETURN_IF_ERROR(file.Open(path));
  RAPID_RETURN_IF_ERROR(file.Append(bytes));
  return file.Commit();
}

}  // namespace rapid
