#include <spdlog/spdlog.h>

#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "core/exit_codes.h"
#include "tune/tune_report.h"

namespace rapid {

CommandAction AddReportCommand(CLI::App* app) {
  auto dir = std::make_shared<std::string>();
  CLI::App* cmd = app->add_subcommand("report", "Write DIR/report.html (charts and tables, self-contained) from a tune's trials.csv");
  cmd->add_option("DIR", *dir, "Output folder of rapid tune (holds trials.csv)")->required();
  return [dir] {
    std::string path;
    if (Status s = WriteTuneReport(*dir, &path); !s.ok()) {
      spdlog::error("{}", s.message());
      return kExitUsage;
    }
    std::printf("%s\n", path.c_str());
    return kExitOk;
  };
}

}  // namespace rapid
