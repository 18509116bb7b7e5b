#include "sinks/picks_csv.h"

#include <cstdio>

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
