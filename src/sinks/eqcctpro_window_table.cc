#include "sinks/eqcctpro_window_table.h"

#include "core/atomic_file.h"
#include "sinks/eqcctpro_csv.h"

namespace rapid {

namespace {

// Python's "{:<N}".format(text).
std::string LeftJustified(std::string text, size_t width) {
  if (text.size() < width) text.append(width - text.size(), ' ');
  return text;
}

const Pick* PickOfPhase(const WindowPicks& w, const char* phase) {
  for (const Pick& p : w.picks) {
    if (p.phase == phase) return &p;
  }
  return nullptr;
}

}  // namespace

std::string FormatEqcctproWindowTable(const EqcctproWindowTable& table) {
  const std::string station_fields = CsvField(table.file_name) + ",0 ," + CsvField(LeftJustified(table.station, 4)) +
                                     ",0 ,0,0,0,";
  std::string text = kEqcctproCsvHeader;
  for (const WindowPicks& w : table.windows) {
    text += station_fields;
    const Pick* p = PickOfPhase(w, "P");
    const Pick* s = PickOfPhase(w, "S");
    text += p != nullptr ? PythonDateTime(p->peak_time) + "," + PythonProbability(p->peak_value) : std::string(",");
    text += ",";
    text += s != nullptr ? PythonDateTime(s->peak_time) + "," + PythonProbability(s->peak_value) : std::string(",");
    text += "\r\n";
  }
  return text;
}

Status WriteEqcctproWindowTable(const std::string& dir, const EqcctproWindowTable& table) {
  return WriteFileAtomically(dir + "/" + table.chunk_folder + "/" + table.station_folder + "_outputs/X_prediction_results.csv",
                             FormatEqcctproWindowTable(table));
}

}  // namespace rapid
