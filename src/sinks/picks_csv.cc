#include "sinks/picks_csv.h"

#include <cstdio>
#include <cstdlib>

#include "core/atomic_file.h"

namespace rapid {

namespace {

constexpr char kPicksHeader[] = "trace_id,phase,peak_time,peak_value,start_time,end_time,model\n";
constexpr char kDetectionsHeader[] = "trace_id,start_time,end_time,peak_value,model\n";

std::string Value(float v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.9g", static_cast<double>(v));
  return text;
}

void AppendPickRow(const Pick& p, const std::string& model_name, std::string* text) {
  *text += p.trace_id + "," + p.phase + "," + FormatIsoMicros(p.peak_time) + "," + Value(p.peak_value) + "," +
           FormatIsoMicros(p.start_time) + "," + FormatIsoMicros(p.end_time) + "," + model_name + "\n";
}

void AppendDetectionRow(const Pick& d, const std::string& model_name, std::string* text) {
  *text += d.trace_id + "," + FormatIsoMicros(d.start_time) + "," + FormatIsoMicros(d.end_time) + "," +
           Value(d.peak_value) + "," + model_name + "\n";
}

using AppendRow = void (*)(const Pick&, const std::string&, std::string*);

std::string FormatAll(std::vector<Pick> picks, const char* header, AppendRow row, const std::string& model_name) {
  SortPicks(&picks);
  std::string text = header;
  for (const Pick& p : picks) row(p, model_name, &text);
  return text;
}

// Row by row into the file (AtomicFile's stdio buffer gathers them into large writes).
Status WriteStreamed(const std::string& path, const PickSpill& picks, const char* header, AppendRow row,
                     const std::string& model_name) {
  AtomicFile file;
  RAPID_RETURN_IF_ERROR(file.Open(path));
  RAPID_RETURN_IF_ERROR(file.Append(header));
  std::string text;
  RAPID_RETURN_IF_ERROR(picks.ForEach([&](const Pick& p) {
    text.clear();
    row(p, model_name, &text);
    return file.Append(text);
  }));
  return file.Commit();
}

}  // namespace

std::string FormatPicksCsv(std::vector<Pick> picks, const std::string& model_name) {
  return FormatAll(std::move(picks), kPicksHeader, AppendPickRow, model_name);
}

bool ParsePicksCsvRow(std::string_view row, Pick* pick) {
  std::vector<std::string_view> f;
  for (size_t from = 0;;) {
    const size_t comma = row.find(',', from);
    f.push_back(row.substr(from, comma == std::string_view::npos ? std::string_view::npos : comma - from));
    if (comma == std::string_view::npos) break;
    from = comma + 1;
  }
  if (f.size() != 7) return false;
  const auto peak = ParseIsoTime(f[2]), start = ParseIsoTime(f[4]), end = ParseIsoTime(f[5]);
  const std::string value(f[3]);
  char* value_end = nullptr;
  const float v = std::strtof(value.c_str(), &value_end);
  if (!peak || !start || !end || value.empty() || *value_end != '\0') return false;
  *pick = {std::string(f[0]), std::string(f[1]), *start, *peak, *end, v};
  return true;
}

std::string FormatDetectionsCsv(std::vector<Pick> detections, const std::string& model_name) {
  return FormatAll(std::move(detections), kDetectionsHeader, AppendDetectionRow, model_name);
}

Status WritePicksCsv(const std::string& path, const PickSpill& picks, const std::string& model_name) {
  return WriteStreamed(path, picks, kPicksHeader, AppendPickRow, model_name);
}

Status WriteDetectionsCsv(const std::string& path, const PickSpill& detections, const std::string& model_name) {
  return WriteStreamed(path, detections, kDetectionsHeader, AppendDetectionRow, model_name);
}

}  // namespace rapid
