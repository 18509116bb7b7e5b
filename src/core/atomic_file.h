// Writes whole files so that readers see either the old content or the new, never a half file.
// Thread safety: safe to call concurrently (distinct temporary names per call).
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace rapid {

// Writes `bytes` to a temporary file in the directory of `path`, then renames it onto `path`
// (atomic on POSIX within one file system). Creates missing parent directories. No fsync: the
// guarantee is against a killed process, not against power loss.
// OK: `path` holds exactly `bytes`. IOError (message names the path and the OS reason): nothing
// was replaced and the temporary file is removed. InvalidArgument: `path` names no file.
Status WriteFileAtomically(const std::string& path, std::string_view bytes);

}  // namespace rapid
