// Graceful stop of a long command (rapid run, rapid tune): the first SIGINT/SIGTERM sets a flag the
// command polls (it finishes the work in flight and writes what it has); a second exits at once
// with kExitInterrupted (every output is written by rename or appended whole, so only complete
// files and rows are left).
// Thread safety: install once, from the main thread; the flag may be read from any thread.
#pragma once

#include <atomic>

#include "core/exit_codes.h"  // kExitInterrupted

namespace rapid {

// Installs the handlers; returns the flag they set.
const std::atomic<bool>* InstallStopHandlers();

}  // namespace rapid
