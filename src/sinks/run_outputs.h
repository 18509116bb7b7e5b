// Writing a run's pick outputs from its pick spills (sinks/pick_spill.h): picks.csv always,
// detections.csv for models with a detection label, picks.xml (QuakeML) and the EQCCTPro files
// when asked for. Every file is written atomically; the first failure stops the writing.
// Thread safety: call from one thread once the spills are complete.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/nano_time.h"
#include "core/status.h"
#include "sinks/pick_spill.h"

namespace rapid {

struct RunOutputOptions {
  std::string dir;         // the run's output folder
  std::string model_name;  // the picks' `model` column
  bool detections = false;  // the model has a detection label: write detections.csv
  bool quakeml = false;
  bool eqcctpro = false;
  NanoTime creation_time = kUnsetTime;  // QuakeML creationInfo
  // EQCCTPro's chunks: the planned time chunks or the input's timechunk folders; empty: one
  // chunk covering every pick.
  std::vector<std::pair<NanoTime, NanoTime>> eqcctpro_chunks;
  // "NET.STA.LOC" → band+instrument code ("HH"), for QuakeML and the EQCCTPro file names.
  std::map<std::string, std::string> instrument_by_station;
};

Status WriteRunOutputs(const RunOutputOptions& options, const PickSpill& picks, const PickSpill& detections);

}  // namespace rapid
