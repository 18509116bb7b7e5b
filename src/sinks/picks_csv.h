// picks.csv (output format v1, see docs/output-formats.md):
//   trace_id,phase,peak_time,peak_value,start_time,end_time,model
// Times ISO-8601 UTC with microseconds; rows sorted by trace_id, phase, peak_time.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "picking/picker.h"
#include "sinks/pick_spill.h"

namespace rapid {

// The whole file's text for `picks` (sorted here), each row tagged with `model_name`.
std::string FormatPicksCsv(std::vector<Pick> picks, const std::string& model_name);

// One row of picks.csv (without its newline) back into a pick (the model column is not kept);
// false when the row is not one.
bool ParsePicksCsvRow(std::string_view row, Pick* pick);

// Writes the same text for the picks of `picks` atomically to `path`, streamed (memory does not
// grow with the number of picks). IOError naming the path on failure.
Status WritePicksCsv(const std::string& path, const PickSpill& picks, const std::string& model_name);

// detections.csv, for models with a detection trace (EQTransformer):
//   trace_id,start_time,end_time,peak_value,model
// one row per trigger of the detection trace (same trigger rule as picks), sorted by trace_id and
// start_time. `detections` are Picks of the detection label.
std::string FormatDetectionsCsv(std::vector<Pick> detections, const std::string& model_name);
Status WriteDetectionsCsv(const std::string& path, const PickSpill& detections, const std::string& model_name);

}  // namespace rapid
