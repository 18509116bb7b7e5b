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

Status WriteAll(const std::string& temp, std::string_view bytes) {
  FILE* file = std::fopen(temp.c_str(), "wb");
  if (file == nullptr) return Status::IOError(temp + ": cannot create: " + std::strerror(errno));
  const size_t written = bytes.empty() ? 0 : std::fwrite(bytes.data(), 1, bytes.size(), file);
  const int write_errno = errno;
  const bool close_failed = std::fclose(file) != 0;
  if (written != bytes.size()) return Status::IOError(temp + ": write failed: " + std::strerror(write_errno));
  if (close_failed) return Status::IOError(temp + ": close failed: " + std::strerror(errno));
  return Status::OK();
}

}  // namespace

Status WriteFileAtomically(const std::string& path, std::string_view bytes) {
  const std::filesystem::path target(path);
  if (path.empty() || !target.has_filename()) return Status::InvalidArgument("'" + path + "' names no file");
  std::error_code ec;
  if (target.has_parent_path()) {
    std::filesystem::create_directories(target.parent_path(), ec);
    if (ec) return Status::IOError(path + ": cannot create parent directory: " + ec.message());
  }
  const std::string temp = TemporaryName(target);
  Status status = WriteAll(temp, bytes);
  if (status.ok() && std::rename(temp.c_str(), path.c_str()) != 0) {
    status = Status::IOError(path + ": cannot rename temporary file into place: " + std::strerror(errno));
  }
  if (!status.ok()) std::remove(temp.c_str());
  return status;
}

}  // namespace rapid
