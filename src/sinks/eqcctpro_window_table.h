// EQCCTPro's own `X_prediction_results.csv` (`--preset eqcctpro`): one file per time chunk and
// station, one row per 60 s model window with that window's best P and best S — rows for windows
// without a pick too — exactly as EQCCTPro's _output_writter_prediction writes them:
//   <dir>/<chunk folder>/<STA>_outputs/X_prediction_results.csv
//   file_name   the station's first file in directory order, "<STA folder>/<file name>"
//   network, instrument_type   "0 " (EQCCTPro's placeholder 0, left-justified to 2 characters)
//   station     the first trace's station code, left-justified to 4 characters
//   station_lat, station_lon, station_elv   0
//   p_arrival_time, p_probability, s_arrival_time, s_probability   str(datetime) and the rounded
//               float32 (sinks/eqcctpro_csv.h); empty when the window has no pick of that phase
// Python csv.writer conventions: CRLF line ends, minimal quoting. A station whose data could not be
// read gets the header alone, as EQCCTPro leaves it.
// Thread safety: pure functions; writes of distinct tables may run concurrently.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "picking/window_peak.h"

namespace rapid {

struct EqcctproWindowTable {
  std::string chunk_folder;    // the input's timechunk folder, e.g. "20241215T115800Z_20241215T120100Z"
  std::string station_folder;  // <STA> of <STA>_outputs: the input's station folder
  std::string file_name;       // "<STA folder>/<first file>"
  std::string station;         // station code of the first trace read
  std::vector<WindowPicks> windows;  // in window order; a window's picks have phases "P" and "S"
};

// The file's whole text, header included.
std::string FormatEqcctproWindowTable(const EqcctproWindowTable& table);

// Writes the table under `dir` (atomically; folders created). IOError naming the path.
Status WriteEqcctproWindowTable(const std::string& dir, const EqcctproWindowTable& table);

}  // namespace rapid
