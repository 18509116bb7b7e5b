#include "tune/best_config.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <set>

namespace rapid {

namespace {

bool Better(const ConfigSummary& a, const ConfigSummary& b) {
  if (a.windows_per_s != b.windows_per_s) return a.windows_per_s > b.windows_per_s;
  if (a.config.instances != b.config.instances) return a.config.instances < b.config.instances;
  return a.config.batch_size < b.config.batch_size;
}

// TOML basic string: quotes and backslashes escaped.
std::string TomlString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string Mib(int64_t bytes) { return std::to_string(bytes >> 20) + " MiB"; }

}  // namespace

std::vector<ConfigSummary> SummariseConfigs(const std::vector<Trial>& trials) {
  std::map<std::string, ConfigSummary> by_key;
  std::vector<std::string> order;
  for (const Trial& t : trials) {
    if (!t.success) continue;
    const std::string key = ConfigKey(t);
    auto [it, fresh] = by_key.try_emplace(key);
    ConfigSummary& s = it->second;
    if (fresh) {
      s.config = t;
      order.push_back(key);
    }
    s.measurements += 1;
    s.windows_per_s += t.windows_per_s;
    s.station_minutes_per_s += t.station_minutes_per_s;
    s.wall_s += t.wall_s;
    s.peak_rss_bytes = std::max(s.peak_rss_bytes, t.peak_rss_bytes);
    s.planned_ram_bytes = std::max(s.planned_ram_bytes, t.planned_ram_bytes);
    s.vram_peak_bytes = std::max(s.vram_peak_bytes, t.vram_peak_bytes);
  }
  std::vector<ConfigSummary> out;
  for (const std::string& key : order) {
    ConfigSummary s = by_key[key];
    const double n = static_cast<double>(s.measurements);
    s.windows_per_s /= n;
    s.station_minutes_per_s /= n;
    s.wall_s /= n;
    out.push_back(std::move(s));
  }
  std::stable_sort(out.begin(), out.end(), Better);
  return out;
}

Status BestOverall(const std::vector<Trial>& trials, ConfigSummary* best) {
  int64_t most_stations = 0;
  for (const Trial& t : trials) {
    if (t.success) most_stations = std::max(most_stations, t.stations);
  }
  std::vector<Trial> largest;
  for (const Trial& t : trials) {
    if (t.success && t.stations == most_stations) largest.push_back(t);
  }
  std::vector<ConfigSummary> all = SummariseConfigs(largest);
  if (all.empty()) return Status::NotFound("no successful trial");
  *best = all.front();
  return Status::OK();
}

Status BestFor(const std::vector<Trial>& trials, int64_t cpus, int64_t gpus, int64_t stations, ConfigSummary* best) {
  std::vector<Trial> fitting;
  std::set<int64_t> counts;
  for (const Trial& t : trials) {
    if (!t.success || t.cpu_count > cpus || t.gpu_count > gpus) continue;
    fitting.push_back(t);
    counts.insert(t.stations);
  }
  if (fitting.empty()) {
    std::set<int64_t> measured_cpus;
    for (const Trial& t : trials) {
      if (t.success) measured_cpus.insert(t.cpu_count);
    }
    std::string list;
    for (int64_t c : measured_cpus) list += (list.empty() ? "" : ", ") + std::to_string(c);
    return Status::NotFound("no successful trial used at most " + std::to_string(cpus) + " CPUs and " +
                            std::to_string(gpus) + " GPUs (CPU counts measured: " + (list.empty() ? "none" : list) +
                            ")");
  }
  int64_t nearest = *counts.begin();
  for (int64_t c : counts) {
    const int64_t d = std::llabs(c - stations), dn = std::llabs(nearest - stations);
    if (d < dn || (d == dn && c > nearest)) nearest = c;
  }
  std::erase_if(fitting, [&](const Trial& t) { return t.stations != nearest; });
  return BestOverall(fitting, best);
}

std::string BestToml(const ConfigSummary& best, const std::string& heading) {
  const Trial& c = best.config;
  char speed[160];
  std::snprintf(speed, sizeof speed, "%.0f windows/s (mean of %lld trials), %.1f station-minutes/s end to end",
                best.windows_per_s, static_cast<long long>(best.measurements), best.station_minutes_per_s);
  std::string out = "# " + heading + "\n# Measured: " + speed + ", peak RSS " + Mib(best.peak_rss_bytes) + " (planned " +
                    Mib(best.planned_ram_bytes) + ")" +
                    (best.vram_peak_bytes > 0 ? ", GPU memory " + Mib(best.vram_peak_bytes) : std::string()) +
                    ",\n# on " + std::to_string(c.stations) + " stations of " + c.input + " with CPUs " + c.cpus +
                    (c.gpus.empty() ? std::string() : " and " + c.gpus) +
                    ".\n# Use: rapid run --config best.toml --input DATA --output OUT (flags given there win)\n";
  out += "model = " + TomlString(c.model) + "\n";
  if (!c.weights.empty()) out += "weights = " + TomlString(c.weights) + "\n";
  out += "backend = " + TomlString(c.backend) + "\n";
  out += "devices = " + TomlString(c.gpus.empty() ? "cpu" : c.gpus) + "\n";
  if (!c.cpus.empty()) out += "cpus = " + TomlString(c.cpus) + "\n";
  out += "instances = " + std::to_string(c.instances) + "\n";
  if (c.gpus.empty()) out += "intra-threads = " + std::to_string(c.threads_per_instance) + "\n";
  out += "batch-size = " + std::to_string(c.batch_size) + "\n";
  return out;
}

}  // namespace rapid
