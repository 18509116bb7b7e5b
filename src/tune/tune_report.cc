#include "tune/tune_report.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

#include "core/atomic_file.h"
#include "tune/best_config.h"
#include "tune/svg_chart.h"

namespace rapid {

namespace {

// Series colours; kHighlightColour (red) is kept for the chosen configuration.
const std::vector<std::string> kPalette = {"#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b",
                                           "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"};
constexpr const char* kMeasuredColour = "#1f77b4";
constexpr const char* kPlannedColour = "#ff7f0e";
constexpr double kMiB = 1024.0 * 1024.0;

std::string Fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// Moves the series of `lines` into spec, in key order, each with the next palette colour.
template <typename Key>
void AddInPaletteOrder(std::map<Key, ChartSeries>* lines, ChartSpec* spec) {
  size_t i = 0;
  for (auto& [key, series] : *lines) {
    series.colour = kPalette[i++ % kPalette.size()];
    spec->series.push_back(std::move(series));
  }
}

std::string Shape(const Trial& t) {
  return std::to_string(t.instances) + (t.gpus.empty() ? "×" + std::to_string(t.threads_per_instance) : " per GPU") +
         ", batch " + std::to_string(t.batch_size);
}

std::string Resources(const Trial& t) {
  return "CPUs " + t.cpus + (t.gpus.empty() ? "" : ", " + t.gpus) + ", " + std::to_string(t.stations) + " stations";
}

// Windows/s against instances, one line per batch size, in the chosen configuration's context.
std::string ThroughputChart(const std::vector<ConfigSummary>& context, const ConfigSummary& best) {
  std::map<int64_t, ChartSeries> by_batch;
  for (const ConfigSummary& s : context) {
    ChartSeries& series = by_batch[s.config.batch_size];
    series.name = "batch " + std::to_string(s.config.batch_size);
    series.points.push_back({static_cast<double>(s.config.instances), s.windows_per_s});
  }
  ChartSpec spec;
  spec.id = "throughput";
  spec.title = "Throughput vs concurrency (" + Resources(best.config) + ")";
  spec.x_label = best.config.gpus.empty() ? "instances (each with cores ÷ instances intra-op threads)" : "instances per GPU";
  spec.y_label = "windows/s (mean of a configuration's trials)";
  AddInPaletteOrder(&by_batch, &spec);
  spec.has_highlight = true;
  spec.highlight = {static_cast<double>(best.config.instances), best.windows_per_s};
  spec.highlight_label = "chosen: " + Shape(best.config);
  return SvgChart(spec);
}

// Peak RSS of every trial in the chosen context, measured and planned, against instances (batch
// sizes side by side around each instance count).
std::string MemoryChart(const std::vector<Trial>& context, const ConfigSummary& best) {
  std::set<int64_t> batches;
  for (const Trial& t : context) batches.insert(t.batch_size);
  std::map<int64_t, double> offset;  // batch → x offset
  double k = -(static_cast<double>(batches.size()) - 1) / 2;
  for (int64_t b : batches) offset[b] = 0.05 * k++;
  ChartSeries measured{"measured peak RSS", kMeasuredColour, ChartSeries::Marker::kDot, false, {}};
  ChartSeries planned{"planned peak (planner)", kPlannedColour, ChartSeries::Marker::kHollowSquare, false, {}};
  for (const Trial& t : context) {
    const double x = static_cast<double>(t.instances) + offset[t.batch_size];
    measured.points.push_back({x, static_cast<double>(t.peak_rss_bytes) / kMiB});
    planned.points.push_back({x, static_cast<double>(t.planned_ram_bytes) / kMiB});
  }
  ChartSpec spec;
  spec.id = "memory";
  spec.title = "Peak RSS vs instances, planned and measured (" + Resources(best.config) + ")";
  spec.x_label = "instances (batch sizes side by side, smallest left)";
  spec.x_tick_step = 1.0;
  spec.y_label = "MiB";
  spec.series = {measured, planned};
  spec.has_highlight = true;
  spec.highlight = {static_cast<double>(best.config.instances) + offset[best.config.batch_size],
                    static_cast<double>(best.peak_rss_bytes) / kMiB};
  spec.highlight_label = "chosen";
  return SvgChart(spec);
}

// The best mean windows/s of each context, against CPUs, one line per station count (GPU
// contexts as their own lines).
std::string ScalingChart(const std::vector<ConfigSummary>& all, const ConfigSummary& best) {
  std::map<std::string, double> best_of_context;
  std::map<std::string, const Trial*> context_trial;
  for (const ConfigSummary& s : all) {
    const std::string key = ContextKey(s.config);
    if (s.windows_per_s > best_of_context[key]) {
      best_of_context[key] = s.windows_per_s;
      context_trial[key] = &s.config;
    }
  }
  std::map<std::pair<std::string, int64_t>, ChartSeries> lines;  // by (GPUs, stations)
  for (const auto& [key, t] : context_trial) {
    ChartSeries& series = lines[{t->gpus, t->stations}];
    series.name = std::to_string(t->stations) + " stations" + (t->gpus.empty() ? "" : ", " + t->gpus);
    series.points.push_back({static_cast<double>(t->cpu_count), best_of_context[key]});
  }
  ChartSpec spec;
  spec.id = "scaling";
  spec.title = "Best throughput by CPUs and stations";
  spec.x_label = "CPUs";
  spec.y_label = "windows/s (best configuration)";
  AddInPaletteOrder(&lines, &spec);
  spec.has_highlight = true;
  spec.highlight = {static_cast<double>(best.config.cpu_count), best.windows_per_s};
  spec.highlight_label = "chosen";
  return SvgChart(spec);
}

std::string TopTable(const std::vector<ConfigSummary>& all, const ConfigSummary& best) {
  std::string out =
      "<table id=\"top\"><tr><th>#</th><th>CPUs</th><th>GPUs</th><th>stations</th><th>instances</th>"
      "<th>threads</th><th>batch</th><th>windows/s</th><th>trials</th><th>station-min/s</th><th>wall s</th>"
      "<th>peak RSS MiB</th><th>planned MiB</th></tr>\n";
  bool chosen_shown = false;
  for (size_t i = 0; i < all.size(); ++i) {
    const ConfigSummary& s = all[i];
    const Trial& t = s.config;
    const bool chosen = ConfigKey(t) == ConfigKey(best.config);
    if (i >= 12 && (chosen_shown || !chosen)) continue;  // the top 12, and the chosen one wherever it ranks
    chosen_shown = chosen_shown || chosen;
    out += std::string(chosen ? "<tr class=\"chosen\">" : "<tr>") + "<td>" + std::to_string(i + 1) + "</td><td>" +
           EscapeXml(t.cpus) + "</td><td>" + EscapeXml(t.gpus.empty() ? "-" : t.gpus) + "</td><td>" +
           std::to_string(t.stations) + "</td><td>" + std::to_string(t.instances) + "</td><td>" +
           std::to_string(t.threads_per_instance) + "</td><td>" + std::to_string(t.batch_size) + "</td><td>" +
           Fixed(s.windows_per_s, 0) + "</td><td>" + std::to_string(s.measurements) + "</td><td>" +
           Fixed(s.station_minutes_per_s, 1) + "</td><td>" + Fixed(s.wall_s, 2) + "</td><td>" +
           Fixed(static_cast<double>(s.peak_rss_bytes) / kMiB, 0) + "</td><td>" +
           Fixed(static_cast<double>(s.planned_ram_bytes) / kMiB, 0) + "</td></tr>\n";
  }
  return out + "</table>\n";
}

std::string FailedTable(const std::vector<Trial>& trials) {
  std::string rows;
  for (const Trial& t : trials) {
    if (t.success) continue;
    rows += "<tr><td>" + std::to_string(t.trial) + "</td><td>" + EscapeXml(Resources(t)) + "</td><td>" +
            EscapeXml(t.source == "planner" ? "planner" : Shape(t)) + "</td><td>" + EscapeXml(t.error) + "</td></tr>\n";
  }
  if (rows.empty()) return "<p>No trial failed.</p>\n";
  return "<table id=\"failed\"><tr><th>trial</th><th>resources</th><th>configuration</th><th>why</th></tr>\n" + rows +
         "</table>\n";
}

}  // namespace

std::string TuneReportHtml(const std::vector<Trial>& trials, const std::string& source) {
  std::string html =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>rapid tune report</title>\n"
      "<style>body{font-family:sans-serif;margin:24px;color:#222}table{border-collapse:collapse;margin:8px 0 24px}"
      "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f0f0f0}"
      "tr.chosen td{background:#ffe0e0;font-weight:bold}.chart{display:block;margin:12px 0}"
      ".best{border:3px solid #d62728;padding:8px 14px;display:inline-block}</style></head><body>\n"
      "<h1>rapid tune report</h1>\n";
  double trial_s = 0.0;
  int64_t ok = 0;
  for (const Trial& t : trials) {
    trial_s += t.wall_s;
    ok += t.success ? 1 : 0;
  }
  html += "<p>" + std::to_string(trials.size()) + " trials (" + std::to_string(ok) + " succeeded, " +
          Fixed(trial_s, 0) + " s of trial wall time) from " + EscapeXml(source) + ".</p>\n";
  std::vector<ConfigSummary> all = SummariseConfigs(trials);
  if (all.empty()) return html + "<p>No trial succeeded.</p>\n" + FailedTable(trials) + "</body></html>\n";
  ConfigSummary best;
  (void)BestOverall(trials, &best);  // OK: `all` is not empty
  const Trial& b = best.config;
  html += "<div class=\"best\" id=\"chosen\"><b>Chosen configuration</b> (" + EscapeXml(b.model) + ", " +
          EscapeXml(Resources(b)) + "): " + EscapeXml(Shape(b)) + " — " + Fixed(best.windows_per_s, 0) +
          " windows/s (mean of " + std::to_string(best.measurements) + "), peak RSS " +
          Fixed(static_cast<double>(best.peak_rss_bytes) / kMiB, 0) + " MiB. Use it: <code>rapid run --config "
          "best.toml</code></div>\n";
  std::vector<ConfigSummary> context;
  for (const ConfigSummary& s : all) {
    if (ContextKey(s.config) == ContextKey(b)) context.push_back(s);
  }
  std::vector<Trial> context_trials;
  for (const Trial& t : trials) {
    if (t.success && ContextKey(t) == ContextKey(b)) context_trials.push_back(t);
  }
  html += "<h2>Throughput</h2>\n" + ThroughputChart(context, best);
  html += "<h2>Memory</h2>\n" + MemoryChart(context_trials, best);
  html += "<h2>Scaling</h2>\n" + ScalingChart(all, best);
  html += "<h2>Top configurations</h2>\n" + TopTable(all, best);
  html += "<h2>Failed trials</h2>\n" + FailedTable(trials);
  return html + "</body></html>\n";
}

Status WriteTuneReport(const std::string& dir, std::string* written) {
  std::vector<Trial> trials;
  RAPID_RETURN_IF_ERROR(ReadTrials(dir + "/trials.csv", &trials));
  const std::string path = dir + "/report.html";
  RAPID_RETURN_IF_ERROR(WriteFileAtomically(path, TuneReportHtml(trials, dir + "/trials.csv")));
  if (written != nullptr) *written = path;
  return Status::OK();
}

}  // namespace rapid
