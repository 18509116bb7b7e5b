// Writes whole files so that readers see either the old content or the new, never a half file.
// Thread safety: safe to call concurrently (distinct temporary names per call).
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

#include "core/status.h"

namespace rapid {

// Writes `bytes` to a temporary file in the directory of `path`, then renames it onto `path`
// (atomic on POSIX within one file system). Creates missing parent directories. No fsync: the
// guarantee is against a killed process, not against power loss.
// OK: `path` holds exactly `bytes`; the first such write of `path` in a process also removes the
// temporaries of `path` left by processes no longer running (killed mid-write). IOError (message
// names the path and the OS reason): nothing was replaced and the temporary file is removed.
// InvalidArgument: `path` names no file.
Status WriteFileAtomically(const std::string& path, std::string_view bytes);

// The same for a file written in parts (too large to build in memory first): Open, Append…,
// Commit. Until Commit succeeds `path` keeps its old content; an object destroyed without a
// successful Commit removes its temporary file. Errors as WriteFileAtomically.
// Thread safety: one thread per object.
class AtomicFile {
 public:
  AtomicFile() = default;
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  Status Open(const std::string& path);
  Status Append(std::string_view bytes);
  Status Commit();

 private:
  std::string path_, temp_;
  std::FILE* file_ = nullptr;
};

}  // namespace rapid
