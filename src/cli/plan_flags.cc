#include "cli/plan_flags.h"

#include "backends/backend.h"
#include "cli/option_checks.h"
#include "dispatch/resource_probe.h"
#include "models/device.h"

namespace rapid {

void AddPlanFlags(CLI::App* cmd, PlanFlags* flags, const std::string& what) {
  const std::string suffix = what.empty() ? "" : " " + what;
  cmd->add_option("--devices", flags->devices, "Devices, comma-separated: cpu, cuda:N")->capture_default_str();
  cmd->add_option("--backend", flags->backend, "Backend of the cpu device: onednn, or torch (the reference)")
      ->check(CLI::IsMember(CpuBackends()))
      ->capture_default_str();
  cmd->add_option("--cpus", flags->cpus, "CPUs the instances keep to, e.g. 0-3")->check(CpuListValue());
  cmd->add_option("--max-ram", flags->max_ram, "Host memory budget, e.g. 4G")->check(ByteSizeValue());
  cmd->add_option("--max-vram", flags->max_vram, "GPU memory budget per device, e.g. 20G")->check(ByteSizeValue());
  cmd->add_option("--instances", flags->instances, "Model instances" + suffix + " (default: planner)")
      ->check(WholeNumberAtLeast(1, 1024));
  cmd->add_option("--intra-threads", flags->intra_threads, "Threads per forward call (default: planner)")
      ->check(WholeNumberAtLeast(1, 1024));
  cmd->add_option("--batch-size", flags->batch_size, "Windows per forward call (default: planner)")->check(WholeNumberAtLeast(1));
}

Status PlanRequestOf(const PlanFlags& flags, PlanRequest* out) {
  out->instances = flags.instances;
  out->intra_threads = flags.intra_threads;
  out->batch_size = flags.batch_size;
  out->cpu_backend = flags.backend;
  if (Status s = ParseDeviceList(flags.devices, &out->devices); !s.ok()) {
    return Status::InvalidArgument("--devices " + flags.devices + ": " + s.message());
  }
  if (!flags.cpus.empty()) (void)ParseCpuList(flags.cpus, &out->cpus);  // checked by CpuListValue
  if (!flags.max_ram.empty()) out->max_ram_bytes = *ParseByteSize(flags.max_ram);
  if (!flags.max_vram.empty()) out->max_vram_bytes = *ParseByteSize(flags.max_vram);
  return Status::OK();
}

}  // namespace rapid
