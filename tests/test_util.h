// Helpers shared by the tests: temporary folders, reading files, running the rapid binary.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "picking/picker.h"

namespace rapid::testing {

// Whether this test binary runs under AddressSanitizer (scripts/sanitize.sh). ASan changes what RSS
// measures: shadow memory (1/8 of every touched byte), redzones and the quarantine of freed blocks
// add to every allocation, and the process starts ~650 MiB larger. Tests of memory magnitudes
// adjust their bounds under it; their logic still runs.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAddressSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kAddressSanitizer = true;
#else
constexpr bool kAddressSanitizer = false;
#endif
#else
constexpr bool kAddressSanitizer = false;
#endif

// A fresh empty folder under the system temp dir, removed when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  // path() joined with `relative`; creates nothing.
  std::string Path(const std::string& relative) const;
  // Creates the file `relative` below path() (and its parent folders) holding "x"; returns Path(relative).
  std::string Touch(const std::string& relative) const;
  // Everything below path() (files and folders), as paths relative to it, sorted.
  std::vector<std::string> Listing() const;

 private:
  std::string path_;
};

std::string ReadFileText(const std::string& path);

// The process's peak resident memory (VmHWM) in bytes, 0 when unknown; ResetPeakRss() sets it to
// the current resident memory (Linux /proc/self/clear_refs), false when it cannot.
int64_t PeakRss();
bool ResetPeakRss();

// Rows of a CSV file (header included), split on commas (no quoting).
std::vector<std::vector<std::string>> ReadCsv(const std::string& path);

// Runs the built `rapid` binary with `args` (shell-quoted here); returns its exit code and
// stores its combined stdout+stderr in *output when not null.
int RunRapid(const std::vector<std::string>& args, std::string* output = nullptr);

// Starts the built `rapid` binary with `args` (output to /dev/null) and returns its pid; with
// `own_group` it leads a new process group (kill(-pid, …) then reaches it and its children).
pid_t SpawnRapid(const std::vector<std::string>& args, bool own_group = false);

// Starts `command` (command[0] found on PATH, or a path) with its stdout and stderr to the file
// `log`; returns its pid (WaitRapid waits for it).
pid_t SpawnLogged(const std::vector<std::string>& command, const std::string& log);

// Waits for `pid`: its exit code, or 128 + the signal that ended it.
int WaitRapid(pid_t pid);

// Waits until `path` exists, at most `timeout_s`.
void WaitForFile(const std::string& path, double timeout_s = 60.0);

// The time an ISO-8601 string names; REQUIRES: a valid time (tests pass literals).
NanoTime Iso(const char* iso);

// A pick peaking at `peak_iso` (ISO-8601) whose trigger starts `on_before_ns` before the peak and
// ends `off_after_ns` after it.
Pick MakePick(const std::string& trace_id, const std::string& phase, const char* peak_iso, float value,
              int64_t on_before_ns, int64_t off_after_ns);

}  // namespace rapid::testing
