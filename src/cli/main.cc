// rapid: Resource-Aware Parallel Inference Dispatcher for seismic phase pickers.
#include <spdlog/spdlog.h>

#include <cstdio>
#include <exception>

#include "cli/commands.h"
#include "cli/option_checks.h"
#include "core/allocator.h"
#include "core/exit_codes.h"

int main(int argc, char** argv) {
  rapid::TuneAllocatorForLargeBuffers();
  CLI::App app{"RAPID: runs deep-learning seismic phase pickers over miniSEED archives"};
  app.set_version_flag("--version", RAPID_VERSION);
  app.require_subcommand(1);
  spdlog::set_pattern("%^%l%$: %v");
  rapid::CommandAction run = rapid::AddRunCommand(&app);
  rapid::CommandAction synth = rapid::AddSynthCommand(&app);
  rapid::CommandAction models = rapid::AddModelsCommand(&app);
  rapid::CommandAction tune = rapid::AddTuneCommand(&app);
  rapid::CommandAction report = rapid::AddReportCommand(&app);
  rapid::CommandAction serve = rapid::AddServeCommand(&app);
  rapid::CommandAction stream = rapid::AddStreamCommand(&app);
  rapid::CommandAction fetch = rapid::AddFetchCommand(&app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    if (app.get_subcommands().empty()) {
      if (argc > 1) spdlog::error("'{}' is not a rapid command", argv[1]);
      std::fputs(rapid::SubcommandList(app).c_str(), stderr);
      return rapid::kExitUsage;
    }
    spdlog::error("{}", rapid::UsageErrorMessage(app, e));
    return rapid::kExitUsage;
  }
  try {
    if (app.got_subcommand("run")) return run();
    if (app.got_subcommand("synth")) return synth();
    if (app.got_subcommand("models")) return models();
    if (app.got_subcommand("serve")) return serve();
    if (app.got_subcommand("stream")) return stream();
    if (app.got_subcommand("fetch")) return fetch();
    if (app.got_subcommand("tune")) return tune();
    if (app.got_subcommand("report")) return report();
  } catch (const std::exception& e) {
    spdlog::error("internal error: {}", e.what());
    return rapid::kExitInternal;
  }
  return rapid::kExitUsage;
}
