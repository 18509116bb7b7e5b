#include "cli/config_file.h"

#include <spdlog/spdlog.h>

namespace rapid {

Status ApplyConfigFile(const std::string& path, CLI::App* cmd) {
  std::vector<CLI::ConfigItem> items;
  try {
    items = CLI::ConfigTOML().from_file(path);
  } catch (const CLI::Error& e) {
    return Status::InvalidArgument(path + ": cannot read as TOML: " + e.what());
  }
  for (const CLI::ConfigItem& item : items) {
    // CLI11 reports a section header as an item "++" / "--"; sections other than the
    // subcommand's own are not ours.
    if (item.name == "++" || item.name == "--") continue;
    if (!item.parents.empty() && !(item.parents.size() == 1 && item.parents[0] == cmd->get_name())) {
      return Status::InvalidArgument(path + ": section [" + item.fullname().substr(0, item.fullname().rfind('.')) +
                                     "] is not [" + cmd->get_name() + "]");
    }
    CLI::Option* option = cmd->get_option_no_throw("--" + item.name);
    if (option == nullptr || item.name == "config") {
      return Status::InvalidArgument(path + ": '" + item.name + "' is not a flag of rapid " + cmd->get_name());
    }
    if (option->count() > 0) continue;  // the command line wins
    try {
      option->add_result(item.inputs);
      option->run_callback();
    } catch (const CLI::Error& e) {
      return Status::InvalidArgument(path + ": " + e.what());  // CLI11 names the option
    }
  }
  return Status::OK();
}

bool ApplyConfigFlag(const std::string& path, CLI::App* cmd) {
  if (path.empty()) return true;
  if (Status s = ApplyConfigFile(path, cmd); !s.ok()) {
    spdlog::error("--config {}", s.message());
    return false;
  }
  return true;
}

}  // namespace rapid
