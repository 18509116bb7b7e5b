#include "sinks/run_outputs.h"

#include <algorithm>
#include <limits>

#include "sinks/eqcctpro_csv.h"
#include "sinks/picks_csv.h"
#include "sinks/quakeml.h"

namespace rapid {

namespace {

// One span covering every pick (no chunks given); none without picks.
Status SpanOfPicks(const PickSpill& picks, std::vector<std::pair<NanoTime, NanoTime>>* chunks) {
  if (picks.size() == 0) return Status::OK();
  NanoTime lo = std::numeric_limits<NanoTime>::max(), hi = std::numeric_limits<NanoTime>::min();
  RAPID_RETURN_IF_ERROR(picks.ForEach([&](const Pick& p) {
    lo = std::min(lo, p.start_time);
    hi = std::max(hi, p.end_time);
    return Status::OK();
  }));
  chunks->push_back({lo, hi});
  return Status::OK();
}

}  // namespace

Status WriteRunOutputs(const RunOutputOptions& options, const PickSpill& picks, const PickSpill& detections) {
  RAPID_RETURN_IF_ERROR(WritePicksCsv(options.dir + "/picks.csv", picks, options.model_name));
  if (options.detections) {
    RAPID_RETURN_IF_ERROR(WriteDetectionsCsv(options.dir + "/detections.csv", detections, options.model_name));
  }
  if (options.quakeml) {
    QuakeMlOptions q;
    q.instrument_by_trace_id = &options.instrument_by_station;
    RAPID_RETURN_IF_ERROR(
        WriteQuakeMl(options.dir + "/picks.xml", picks, options.model_name, options.creation_time, q));
  }
  if (options.eqcctpro) {
    std::vector<std::pair<NanoTime, NanoTime>> chunks = options.eqcctpro_chunks;
    if (chunks.empty()) RAPID_RETURN_IF_ERROR(SpanOfPicks(picks, &chunks));
    RAPID_RETURN_IF_ERROR(WriteEqcctproRun(options.dir + "/eqcctpro", chunks, picks, options.instrument_by_station));
  }
  return Status::OK();
}

}  // namespace rapid
