// `--config FILE.toml`: flags of a subcommand read from a TOML file (e.g. best.toml from `rapid
// tune`). Each key is a long flag name without "--" (`batch-size = 32`, `cpus = "0-1"`), at the top
// level or under a section named after the subcommand (`[run]`). A flag also given on the command
// line keeps the command line's value. CLI11's own TOML reader parses the file, and each value
// goes through the flag's own validation, exactly as if it were typed.
// Thread safety: call from the thread that parsed the command line, before reading the flags.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include "core/status.h"

namespace rapid {

// Applies `path` to the options of `cmd` that the command line left unset.
// InvalidArgument naming the file and the problem: unreadable or malformed file, a key that is not
// a flag of `cmd` (or is --config itself), another subcommand's section, or a value the flag rejects.
Status ApplyConfigFile(const std::string& path, CLI::App* cmd);

// The commands' use of it: applies `path` when not empty; false after logging "--config <problem>"
// when it cannot be applied (the command then exits with the usage code).
bool ApplyConfigFlag(const std::string& path, CLI::App* cmd);

}  // namespace rapid
