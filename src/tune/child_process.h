// Runs another program as a child process and measures it: exit status, wall time and peak
// resident memory (the kernel's ru_maxrss of the child, as EQCCTPro measures a trial's process
// tree: rapid run starts no processes of its own). Output goes to a log file.
// Thread safety: distinct calls may run concurrently.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace rapid {

struct ChildResult {
  int exit_code = -1;        // the program's exit status; -1 when a signal ended it
  int signal = 0;            // the signal that ended it (9 after a timeout or the OOM killer)
  bool timed_out = false;    // it ran past the timeout and was killed
  double wall_s = 0.0;       // start to exit
  int64_t peak_rss_bytes = 0;
};

// Runs argv[0] with arguments argv[1..], stdin from /dev/null, stdout and stderr appended to
// `log_path`; kills it (SIGKILL) after `timeout_s` (0: no limit). OK: it ran (whatever its exit
// status). IOError naming the program or the log when it could not be started.
Status RunChild(const std::vector<std::string>& argv, const std::string& log_path, double timeout_s, ChildResult* out);

}  // namespace rapid
