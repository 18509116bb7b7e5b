// Reads a whole (small) file: metadata, CSV tables, /proc and cgroup entries.
// Thread safety: a pure function of the file system.
#pragma once

#include <string>

#include "core/status.h"

namespace rapid {

// OK: *bytes holds the file's content. IOError "<path>: cannot read" when it cannot be opened or read.
Status ReadWholeFile(const std::string& path, std::string* bytes);

}  // namespace rapid
