// The model/performance flags `rapid serve` and `rapid stream` share with `rapid run` (--devices,
// --backend, --cpus, --max-ram, --max-vram, --instances, --intra-threads, --batch-size), and the PlanRequest
// they make (engine/run_plan.h). Unset values leave the choice to the planner.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>

#include "core/status.h"
#include "engine/run_plan.h"

namespace rapid {

struct PlanFlags {
  std::string devices = "cpu", backend = "onednn", cpus, max_ram, max_vram;
  int64_t instances = 0, intra_threads = 0, batch_size = 0;
};

// Registers the flags on `cmd`; `what` names what an instance serves ("per model", "") in the help.
void AddPlanFlags(CLI::App* cmd, PlanFlags* flags, const std::string& what);

// InvalidArgument naming --devices when a device is unknown (ParseDeviceList asks libtorch).
Status PlanRequestOf(const PlanFlags& flags, PlanRequest* out);

}  // namespace rapid
