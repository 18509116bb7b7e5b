// Probability traces (--save-probabilities): probabilities/NET.STA.LOC.<Class>_<label>.mseed,
// float32 miniSEED 2 at the model rate, one file per station and label holding every block of the
// run (a gap between blocks is a gap between records). The record's channel code is the label's
// first three characters (miniSEED 2 allows three); the file name carries the full name.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/status.h"
#include "io/trace.h"
#include "models/model_spec.h"
#include "picking/annotation.h"

namespace rapid {

// The traces of `annotations` as float32-ready segments, by file name
// ("NET.STA.LOC.<Class>_<label>.mseed"), each file's segments in annotation order.
std::map<std::string, std::vector<TraceSegment>> ProbabilityTraceSegments(const std::vector<Annotation>& annotations,
                                                                         const ModelSpec& spec);

// Writes the files for `annotations` into `dir` (created if needed), atomically per file.
// `files_written` (may be null) receives the paths.
Status WriteProbabilityTraces(const std::string& dir, const std::vector<Annotation>& annotations,
                              const ModelSpec& spec, std::vector<std::string>* files_written);

}  // namespace rapid
