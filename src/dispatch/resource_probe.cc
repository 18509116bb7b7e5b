#include "dispatch/resource_probe.h"

#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>

#include "core/read_file.h"

namespace rapid {
namespace {

namespace fs = std::filesystem;

constexpr int kMaxCpuId = 65535;
// v1 reports "no limit" as INT64_MAX rounded down to a page; anything this large is no limit.
constexpr int64_t kUnlimitedMemoryBytes = int64_t{1} << 62;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::optional<int64_t> ParseInt(std::string_view s) {
  s = Trim(s);
  int64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// Splits on any run of whitespace.
std::vector<std::string_view> Fields(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    size_t j = i;
    while (j < s.size() && !std::isspace(static_cast<unsigned char>(s[j]))) ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

std::vector<std::string_view> Lines(std::string_view s) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start < s.size()) {
    size_t nl = s.find('\n', start);
    if (nl == std::string_view::npos) nl = s.size();
    out.push_back(s.substr(start, nl - start));
    start = nl + 1;
  }
  return out;
}

// Directories from the process's own cgroup up to the controller's mount point, innermost
// first. Limits of every ancestor apply, so callers take the tightest. When the process's path
// is not visible under the mount (a container without a cgroup namespace mounts its own cgroup
// as the root), only the mount point is returned.
std::vector<std::string> CgroupChain(const std::string& mount, const std::optional<std::string>& path) {
  std::vector<std::string> dirs;
  std::error_code ec;
  if (path && *path != "/" && fs::is_directory(mount + *path, ec)) {
    for (fs::path p = fs::path(mount + *path); p.string().size() > mount.size(); p = p.parent_path()) {
      dirs.push_back(p.string());
    }
  }
  dirs.push_back(mount);
  return dirs;
}

std::optional<std::string> ReadIn(const std::string& dir, const char* name) {
  std::string text;
  if (!ReadWholeFile(dir + "/" + name, &text).ok()) return std::nullopt;
  return text;
}

void ProbeCpuQuota(bool v2, const std::string& proc_cgroup, MachineResources* out) {
  std::string mount = "/sys/fs/cgroup";
  if (!v2) {
    std::error_code ec;
    mount = fs::is_directory("/sys/fs/cgroup/cpu", ec) ? "/sys/fs/cgroup/cpu" : "/sys/fs/cgroup/cpu,cpuacct";
  }
  const auto path = ParseCgroupPath(proc_cgroup, v2 ? "" : "cpu");
  double best = 0;
  std::string where;
  for (const std::string& dir : CgroupChain(mount, path)) {
    std::optional<double> cores;
    if (v2) {
      if (auto text = ReadIn(dir, "cpu.max")) cores = ParseCpuMax(*text);
    } else {
      auto quota = ReadIn(dir, "cpu.cfs_quota_us");
      auto period = ReadIn(dir, "cpu.cfs_period_us");
      if (quota && period) cores = ParseCfsQuota(*quota, *period);
    }
    if (cores && *cores > 0 && (best == 0 || *cores < best)) {
      best = *cores;
      where = dir;
    }
  }
  out->cpu_quota_cores = best;
  out->notes.push_back(best > 0 ? "cgroup CPU quota " + std::to_string(best) + " cores (" + where + ")"
                                : std::string("no cgroup CPU quota (") + (v2 ? "v2 " : "v1 ") + mount + ")");
}

void ProbeCgroupMemory(bool v2, const std::string& proc_cgroup, MachineResources* out) {
  const std::string mount = v2 ? "/sys/fs/cgroup" : "/sys/fs/cgroup/memory";
  const auto path = ParseCgroupPath(proc_cgroup, v2 ? "" : "memory");
  int64_t best_headroom = std::numeric_limits<int64_t>::max();
  std::string where;
  for (const std::string& dir : CgroupChain(mount, path)) {
    auto limit_text = ReadIn(dir, v2 ? "memory.max" : "memory.limit_in_bytes");
    const auto limit = limit_text ? ParseMemoryLimit(*limit_text) : std::nullopt;
    if (!limit || *limit == 0) continue;
    auto usage_text = ReadIn(dir, v2 ? "memory.current" : "memory.usage_in_bytes");
    int64_t usage = usage_text ? ParseInt(*usage_text).value_or(0) : 0;
    if (auto stat = ReadIn(dir, "memory.stat")) {
      auto inactive = ParseKeyedValue(*stat, v2 ? "inactive_file" : "total_inactive_file");
      if (!inactive) inactive = ParseKeyedValue(*stat, "inactive_file");
      if (inactive) usage = std::max<int64_t>(0, usage - *inactive);
    }
    if (*limit - usage < best_headroom) {
      best_headroom = *limit - usage;
      out->cgroup_memory_limit_bytes = *limit;
      out->cgroup_memory_usage_bytes = usage;
      where = dir;
    }
  }
  out->notes.push_back(out->cgroup_memory_limit_bytes > 0
                           ? "cgroup memory limit " + FormatBytes(out->cgroup_memory_limit_bytes) + ", working set " +
                                 FormatBytes(out->cgroup_memory_usage_bytes) + " (" + where + ")"
                           : std::string("no cgroup memory limit (") + (v2 ? "v2 " : "v1 ") + mount + ")");
}

}  // namespace

Status ProbeMachine(MachineResources* out) {
  *out = MachineResources();
  out->affinity_cpus = CurrentThreadCpus();
  if (out->affinity_cpus.empty()) {
    const long online = sysconf(_SC_NPROCESSORS_ONLN);
    for (int cpu = 0; cpu < std::max(1L, online); ++cpu) out->affinity_cpus.push_back(cpu);
    out->notes.push_back(std::string("sched_getaffinity failed (") + std::strerror(errno) +
                         "); assuming every online CPU");
  }
  out->cores_affinity = static_cast<int64_t>(out->affinity_cpus.size());

  std::string meminfo;
  RAPID_RETURN_IF_ERROR(ReadWholeFile("/proc/meminfo", &meminfo));
  Status s = ParseMeminfo(meminfo, &out->memory_total_bytes, &out->memory_available_bytes);
  if (!s.ok()) return Status::IOError("/proc/meminfo: " + s.message());

  std::string proc_cgroup;
  (void)ReadWholeFile("/proc/self/cgroup", &proc_cgroup);  // absent: no cgroups, mount roots are used
  std::error_code ec;
  const bool v2 = fs::exists("/sys/fs/cgroup/cgroup.controllers", ec);
  ProbeCpuQuota(v2, proc_cgroup, out);
  ProbeCgroupMemory(v2, proc_cgroup, out);
  return Status::OK();
}

int64_t UsableCores(const MachineResources& m) {
  int64_t cores = std::max<int64_t>(1, m.cores_affinity);
  if (m.cpu_quota_cores > 0) cores = std::min(cores, static_cast<int64_t>(std::ceil(m.cpu_quota_cores - 1e-9)));
  return std::max<int64_t>(1, cores);
}

int64_t UsableMemoryBytes(const MachineResources& m) {
  int64_t bytes = m.memory_available_bytes;
  if (m.cgroup_memory_limit_bytes > 0) {
    bytes = std::min(bytes, m.cgroup_memory_limit_bytes - m.cgroup_memory_usage_bytes);
  }
  return std::max<int64_t>(0, bytes);
}

int64_t CurrentRssBytes() {
  // open/read rather than iostreams: this is sampled every millisecond during a probe.
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  char buf[128];
  const size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  return ParseStatmRssBytes(std::string_view(buf, n), sysconf(_SC_PAGESIZE)).value_or(0);
}

int64_t PeakRssBytes() {
  struct rusage usage;
  if (getrusage(RUSAGE_SELF, &usage) != 0) return 0;
  return static_cast<int64_t>(usage.ru_maxrss) * 1024;  // Linux reports KiB
}

Status PinCurrentThread(const std::vector<int>& cpus) {
  if (cpus.empty()) return Status::InvalidArgument("cannot pin a thread to an empty CPU list");
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int cpu : cpus) {
    if (cpu < 0 || cpu >= CPU_SETSIZE) {
      return Status::InvalidArgument("CPU id " + std::to_string(cpu) + " is outside [0, " +
                                     std::to_string(CPU_SETSIZE) + ")");
    }
    CPU_SET(cpu, &set);
  }
  const int err = pthread_setaffinity_np(pthread_self(), sizeof set, &set);
  if (err == EINVAL) {
    return Status::InvalidArgument("none of the requested CPUs is available to this process");
  }
  if (err != 0) return Status::IOError(std::string("pthread_setaffinity_np: ") + std::strerror(err));
  return Status::OK();
}

Status LowerCurrentThreadPriority(int increment) {
  if (increment <= 0) return Status::OK();
  const auto tid = static_cast<id_t>(gettid());
  errno = 0;
  const int now = getpriority(PRIO_PROCESS, tid);
  if (errno != 0) return Status::IOError(std::string("getpriority: ") + std::strerror(errno));
  if (setpriority(PRIO_PROCESS, tid, std::min(19, now + increment)) != 0) {
    return Status::IOError(std::string("setpriority: ") + std::strerror(errno));
  }
  return Status::OK();
}

std::vector<int> CurrentThreadCpus() {
  std::vector<int> cpus;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
  }
  return cpus;
}

std::optional<double> ParseCpuMax(std::string_view text) {
  const auto f = Fields(text);
  if (f.size() != 2) return std::nullopt;
  const auto period = ParseInt(f[1]);
  if (!period || *period <= 0) return std::nullopt;
  if (f[0] == "max") return 0.0;
  const auto quota = ParseInt(f[0]);
  if (!quota || *quota <= 0) return std::nullopt;
  return static_cast<double>(*quota) / static_cast<double>(*period);
}

std::optional<double> ParseCfsQuota(std::string_view quota_text, std::string_view period_text) {
  const auto quota = ParseInt(quota_text);
  const auto period = ParseInt(period_text);
  if (!quota || !period || *period <= 0) return std::nullopt;
  if (*quota == -1) return 0.0;
  if (*quota <= 0) return std::nullopt;
  return static_cast<double>(*quota) / static_cast<double>(*period);
}

std::optional<int64_t> ParseMemoryLimit(std::string_view text) {
  text = Trim(text);
  if (text == "max") return 0;
  const auto v = ParseInt(text);
  if (!v || *v < 0) return std::nullopt;
  return *v >= kUnlimitedMemoryBytes ? 0 : *v;
}

std::optional<int64_t> ParseKeyedValue(std::string_view text, std::string_view key) {
  for (std::string_view line : Lines(text)) {
    const auto f = Fields(line);
    if (f.size() == 2 && f[0] == key) return ParseInt(f[1]);
  }
  return std::nullopt;
}

Status ParseMeminfo(std::string_view text, int64_t* total_bytes, int64_t* available_bytes) {
  std::optional<int64_t> total, available, free, buffers, cached;
  for (std::string_view line : Lines(text)) {
    const auto f = Fields(line);
    if (f.size() < 2) continue;
    std::optional<int64_t> kib = ParseInt(f[1]);
    if (!kib) continue;
    const int64_t bytes = *kib * 1024;  // "kB" in this file means KiB
    if (f[0] == "MemTotal:")
      total = bytes;
    else if (f[0] == "MemAvailable:")
      available = bytes;
    else if (f[0] == "MemFree:")
      free = bytes;
    else if (f[0] == "Buffers:")
      buffers = bytes;
    else if (f[0] == "Cached:")
      cached = bytes;
  }
  if (!total) return Status::Corruption("no MemTotal line");
  if (!available) {
    if (!free) return Status::Corruption("neither MemAvailable nor MemFree");
    available = *free + buffers.value_or(0) + cached.value_or(0);
  }
  *total_bytes = *total;
  *available_bytes = *available;
  return Status::OK();
}

std::optional<std::string> ParseCgroupPath(std::string_view text, std::string_view controller) {
  for (std::string_view line : Lines(text)) {
    const size_t a = line.find(':');
    const size_t b = a == std::string_view::npos ? a : line.find(':', a + 1);
    if (b == std::string_view::npos) continue;
    const std::string_view ctrls = line.substr(a + 1, b - a - 1);
    const std::string path(Trim(line.substr(b + 1)));
    if (controller.empty()) {
      if (line.substr(0, a) == "0" && ctrls.empty()) return path;
      continue;
    }
    size_t start = 0;
    while (start <= ctrls.size()) {
      size_t comma = ctrls.find(',', start);
      if (comma == std::string_view::npos) comma = ctrls.size();
      if (ctrls.substr(start, comma - start) == controller) return path;
      start = comma + 1;
    }
  }
  return std::nullopt;
}

std::optional<int64_t> ParseStatmRssBytes(std::string_view text, int64_t page_bytes) {
  const auto f = Fields(text);
  if (f.size() < 2 || page_bytes <= 0) return std::nullopt;
  const auto pages = ParseInt(f[1]);
  if (!pages || *pages < 0) return std::nullopt;
  return *pages * page_bytes;
}

std::string FormatCpuList(const std::vector<int>& cpus) {
  std::string out;
  for (size_t i = 0; i < cpus.size();) {
    size_t j = i;
    while (j + 1 < cpus.size() && cpus[j + 1] == cpus[j] + 1) ++j;
    if (!out.empty()) out += ',';
    if (j >= i + 2) {
      out += std::to_string(cpus[i]) + "-" + std::to_string(cpus[j]);
      i = j + 1;
    } else {
      out += std::to_string(cpus[i]);
      i += 1;
    }
  }
  return out;
}

Status ParseCpuList(std::string_view text, std::vector<int>* cpus) {
  cpus->clear();
  text = Trim(text);
  if (text.empty()) return Status::InvalidArgument("empty CPU list");
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string_view::npos) comma = text.size();
    const std::string_view item = Trim(text.substr(start, comma - start));
    const std::string shown(item);
    if (item.empty()) return Status::InvalidArgument("empty item in CPU list '" + std::string(text) + "'");
    const size_t dash = item.find('-');
    const auto lo = ParseInt(item.substr(0, dash));
    const auto hi = dash == std::string_view::npos ? lo : ParseInt(item.substr(dash + 1));
    if (!lo || !hi || *lo < 0) return Status::InvalidArgument("bad CPU list item '" + shown + "'");
    if (*hi < *lo) return Status::InvalidArgument("reversed CPU range '" + shown + "'");
    if (*hi > kMaxCpuId)
      return Status::InvalidArgument("CPU id above " + std::to_string(kMaxCpuId) + " in '" + shown + "'");
    for (int64_t c = *lo; c <= *hi; ++c) cpus->push_back(static_cast<int>(c));
    start = comma + 1;
  }
  std::sort(cpus->begin(), cpus->end());
  cpus->erase(std::unique(cpus->begin(), cpus->end()), cpus->end());
  return Status::OK();
}

std::optional<int64_t> ParseByteSize(std::string_view text) {
  text = Trim(text);
  size_t n = 0;
  while (n < text.size() && (std::isdigit(static_cast<unsigned char>(text[n])) || text[n] == '.')) ++n;
  const std::string_view number = text.substr(0, n);
  std::string unit(Trim(text.substr(n)));
  for (char& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (number.empty()) return std::nullopt;

  int shift = 0;  // unit = 2^shift bytes
  if (!unit.empty() && unit != "b") {
    const char* kUnits = "kmgt";
    const char* p = std::strchr(kUnits, unit[0]);
    if (p == nullptr) return std::nullopt;
    shift = 10 * static_cast<int>(p - kUnits + 1);
    const std::string rest = unit.substr(1);
    if (!(rest.empty() || rest == "i" || rest == "b" || rest == "ib")) return std::nullopt;
  }
  const int64_t multiplier = int64_t{1} << shift;
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

  if (number.find('.') == std::string_view::npos) {
    const auto v = ParseInt(number);
    if (!v || *v > kMax / multiplier) return std::nullopt;
    return *v * multiplier;
  }
  if (shift == 0) return std::nullopt;  // fractional bytes make no sense
  double v = 0;
  const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), v);
  if (ec != std::errc() || end != number.data() + number.size() || !std::isfinite(v)) return std::nullopt;
  const double bytes = std::floor(v * static_cast<double>(multiplier));
  if (bytes >= 9.2e18) return std::nullopt;
  return static_cast<int64_t>(bytes);
}

std::string FormatBytes(int64_t bytes) {
  const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  const double magnitude = std::fabs(static_cast<double>(bytes));
  if (magnitude < 1024) return std::to_string(bytes) + " B";
  double v = magnitude / 1024;
  int i = 0;
  while (v >= 1024 && i < 5) {
    v /= 1024;
    ++i;
  }
  char buf[48];
  std::snprintf(buf, sizeof buf, "%s%.2f %s", bytes < 0 ? "-" : "", v, kUnits[i]);
  return buf;
}

}  // namespace rapid
