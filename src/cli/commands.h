// Subcommands of the `rapid` program. Each registers its flags on `app` and returns the action
// to run when it was chosen; the action returns the process exit code
// (0 done, 1 usage/config error, 2 finished with failed units, 3 internal error).
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

namespace rapid {

using CommandAction = std::function<int()>;

CommandAction AddRunCommand(CLI::App* app);
CommandAction AddSynthCommand(CLI::App* app);
CommandAction AddModelsCommand(CLI::App* app);
CommandAction AddTuneCommand(CLI::App* app);
CommandAction AddReportCommand(CLI::App* app);
CommandAction AddServeCommand(CLI::App* app);
CommandAction AddStreamCommand(CLI::App* app);
CommandAction AddFetchCommand(CLI::App* app);

// Folder of the bundled real sample (data/texnet-sample): $RAPID_DATA_DIR if set, else
// <exe>/../data/texnet-sample, else <source tree>/data/texnet-sample.
std::string BundledSampleDir();

}  // namespace rapid
