#include "sinks/picks_csv.h"

#include <cstdio>

#include "core/atomic_file.h"

namespace rapid {

std::string FormatPicksCsv(std::vector<Pick> picks, const std::string& model_name) {
  SortPicks(&picks);
  std::string text = "trace_id,phase,peak_time,peak_value,start_time,end_time,model\n";
  char value[32];
  for (const Pick& p : picks) {
    std::snprintf(value, sizeof value, "%.9g", static_cast<double>(p.peak_value));
    text += p.trace_id + "," + p.phase + "," + FormatIsoMicros(p.peak_time) + "," + value + "," +
            FormatIsoMicros(p.start_time) + "," + FormatIsoMicros(p.end_time) + "," + model_name + "\n";
  }
  return text;
}

std::string FormatDetectionsCsv(std::vector<Pick> detections, const std::string& model_name) {
  SortPicks(&detections);  // one label: trace_id, then time
  std::string text = "trace_id,start_time,end_time,peak_value,model\n";
  char value[32];
  for (const Pick& d : detections) {
    std::snprintf(value, sizeof value, "%.9g", static_cast<double>(d.peak_value));
    text += d.trace_id + "," + FormatIsoMicros(d.start_time) + "," + FormatIsoMicros(d.end_time) + "," + value + "," +
            model_name + "\n";
  }
  return text;
}

Status WriteDetectionsCsv(const std::string& path, const std::vector<Pick>& detections, const std::string& model_name) {
  return WriteFileAtomically(path, FormatDetectionsCsv(detections, model_name));
}

Status WritePicksCsv(const std::string& path, const std::vector<Pick>& picks, const std::string& model_name) {
  return WriteFileAtomically(path, FormatPicksCsv(picks, model_name));
}

}  // namespace rapid
