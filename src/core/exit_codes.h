// The process exit codes of every rapid command (DESIGN.md's contract; README lists them).
#pragma once

namespace rapid {

constexpr int kExitOk = 0;            // all units done
constexpr int kExitUsage = 1;         // usage or configuration error; nothing was written
constexpr int kExitUnitsFailed = 2;   // finished, but some files or units failed (listed)
constexpr int kExitInternal = 3;      // internal error
constexpr int kExitInterrupted = 130; // stopped by SIGINT/SIGTERM (128 + SIGINT); resumable

}  // namespace rapid
