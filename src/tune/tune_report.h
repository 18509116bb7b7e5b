// `rapid report DIR`: one self-contained HTML page (inline CSS and SVG, no script, no network) from
// DIR/trials.csv: throughput against concurrency per batch size, peak RSS against instances
// (measured and planned), best throughput per CPU count and station count, the chosen (best)
// configuration highlighted in every chart and in the table of the top configurations, and the
// failed trials with their reasons.
// Thread safety: pure apart from the files read and written.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "tune/trials.h"

namespace rapid {

// The page for `trials` (rows of one trials.csv); `source` names where they came from.
std::string TuneReportHtml(const std::vector<Trial>& trials, const std::string& source);

// Reads dir/trials.csv and writes dir/report.html atomically; *written (may be null) receives its
// path. Errors of ReadTrials; IOError naming the page when it cannot be written.
Status WriteTuneReport(const std::string& dir, std::string* written);

}  // namespace rapid
