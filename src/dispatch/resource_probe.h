// Resource probe: measured facts about the machine the run may use — cores (affinity and cgroup
// CPU quota), host memory (/proc/meminfo and the cgroup memory limit) and this process's RSS.
// The planner turns these facts into budgets; nothing here decides anything.
// Every file format is parsed by a pure function below, so the parsing is tested on made-up file
// contents; ProbeMachine only reads the files and calls them.
// Thread safety: all functions are thread-safe (PinCurrentThread affects only the calling thread).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace rapid {

struct MachineResources {
  int64_t cores_affinity = 0;             // CPUs in this process's affinity mask (sched_getaffinity)
  std::vector<int> affinity_cpus;         // their ids, ascending
  double cpu_quota_cores = 0;             // cgroup CPU quota in cores (v2 cpu.max, v1 cfs quota/period),
                                          // the smallest along the cgroup path; 0 = no quota
  int64_t memory_total_bytes = 0;         // /proc/meminfo MemTotal
  int64_t memory_available_bytes = 0;     // /proc/meminfo MemAvailable (the kernel's estimate of what
                                          // can be allocated without swapping)
  int64_t cgroup_memory_limit_bytes = 0;  // v2 memory.max / v1 memory.limit_in_bytes of the binding
                                          // cgroup level (least headroom); 0 = no limit
  int64_t cgroup_memory_usage_bytes = 0;  // that level's working set: usage minus inactive page cache
                                          // (inactive_file), which the kernel reclaims before OOM —
                                          // the same measure docker stats and the kubelet use
  std::vector<std::string> notes;         // which files were read, fallbacks taken (for run.json)
};

// Fills *out from /proc and /sys/fs/cgroup (v2 unified, else v1 cpu and memory controllers; the
// process's own cgroup from /proc/self/cgroup, falling back to the mount root when that path is
// not visible, e.g. in a container without a cgroup namespace).
// OK: *out is filled; missing cgroup files mean "no limit" and are recorded in out->notes.
// IOError: /proc/meminfo cannot be read or parsed (no usable memory figure).
Status ProbeMachine(MachineResources* out);

// Cores the run may keep busy: min(cores_affinity, ceil(cpu_quota_cores)), at least 1.
// A quota of 1.5 cores gives 2: the second thread gets half a core, still better than idling.
int64_t UsableCores(const MachineResources& m);

// Host bytes the run may still allocate: MemAvailable, lowered to the cgroup headroom
// (limit − usage) when a cgroup memory limit is set; never negative.
int64_t UsableMemoryBytes(const MachineResources& m);

// Resident set size of this process now (/proc/self/statm × page size); 0 if unreadable.
// Cheap enough (one small read) to sample every millisecond.
int64_t CurrentRssBytes();

// Highest resident set size of this process so far (getrusage ru_maxrss); 0 if unavailable.
// The kernel keeps RSS in batched per-thread/per-CPU counters, so this and CurrentRssBytes()
// may disagree by a few hundred KiB; compare them with that slack.
int64_t PeakRssBytes();

// Restricts the calling thread to `cpus`.
// InvalidArgument: `cpus` is empty, holds an id outside [0, CPU_SETSIZE), or holds no CPU this
// process may run on. IOError: the kernel refused for another reason (message names errno).
Status PinCurrentThread(const std::vector<int>& cpus);

// Raises the calling thread's nice value by `increment` (Linux: per thread; threads it starts later
// inherit it), so threads left at the process's nice value win the CPU when both are runnable.
// IOError names errno when the kernel refuses. increment <= 0: nothing.
Status LowerCurrentThreadPriority(int increment);

// The CPUs the calling thread may run on, ascending (threads it starts inherit them); empty if the
// kernel refuses to say.
std::vector<int> CurrentThreadCpus();

// ---- Pure parsers (tested on made-up file contents) ----

// cgroup v2 cpu.max: "<quota_us> <period_us>" → quota / period cores ("150000 100000" → 1.5);
// "max <period>" → 0 (no quota). nullopt: malformed.
std::optional<double> ParseCpuMax(std::string_view text);

// cgroup v1 cpu.cfs_quota_us and cpu.cfs_period_us → quota / period cores; a quota of -1 → 0
// (no quota). nullopt: malformed or period ≤ 0.
std::optional<double> ParseCfsQuota(std::string_view quota_text, std::string_view period_text);

// cgroup memory limit (v2 memory.max, v1 memory.limit_in_bytes) → bytes; "max", and v1's
// "unlimited" value (a page-rounded INT64_MAX, anything ≥ 2^62), → 0 (no limit).
// nullopt: malformed.
std::optional<int64_t> ParseMemoryLimit(std::string_view text);

// The value of `key` in a "key value" per line file (cgroup memory.stat). nullopt: key absent.
std::optional<int64_t> ParseKeyedValue(std::string_view text, std::string_view key);

// /proc/meminfo → MemTotal and MemAvailable in bytes (the file says "kB", meaning KiB).
// Kernels older than 3.14 lack MemAvailable: then MemFree + Buffers + Cached is used.
// Corruption: MemTotal or every available figure missing.
Status ParseMeminfo(std::string_view text, int64_t* total_bytes, int64_t* available_bytes);

// /proc/self/cgroup → this process's path in the hierarchy of `controller` ("cpu", "memory"
// for v1 lines "id:ctrl,ctrl:/path"); controller "" selects the v2 line "0::/path".
// nullopt: no such line.
std::optional<std::string> ParseCgroupPath(std::string_view text, std::string_view controller);

// /proc/self/statm ("size resident shared …" in pages) → resident bytes. nullopt: malformed.
std::optional<int64_t> ParseStatmRssBytes(std::string_view text, int64_t page_bytes);

// CPU list as in --cpus and /sys cpuset files: "0-3,6" → {0,1,2,3,6}; ascending, duplicates
// removed, surrounding whitespace ignored. InvalidArgument (naming the bad part): empty list,
// empty item, reversed range, non-number, or an id above 65535.
Status ParseCpuList(std::string_view text, std::vector<int>* cpus);

// The inverse: ascending CPU ids → "0-3,6" (runs of three or more as ranges: {0,1} → "0,1").
std::string FormatCpuList(const std::vector<int>& cpus);

// Byte size as in --max-ram / --max-vram: a number with an optional unit K, M, G or T, each
// optionally followed by "i" and/or "B", case-insensitive ("4G", "512M", "1.5GiB", "2gb",
// "1000000", "100B"). Every unit is a power of 1024 — "4GB" means 4 GiB, as in docker --memory —
// because budgets are compared with memory sizes, which come in binary units.
// Fractions are allowed with a unit and rounded down to whole bytes.
// nullopt: empty, negative, unknown unit, fractional plain bytes, or more than INT64_MAX bytes.
std::optional<int64_t> ParseByteSize(std::string_view text);

// Human-readable binary size for messages: "512 B", "1.50 KiB", "24.00 GiB".
std::string FormatBytes(int64_t bytes);

}  // namespace rapid
