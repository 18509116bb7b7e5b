// Before a run is planned: the sampling rates its input holds, read from the records at the start
// of each work unit's first files, so that the planner can reserve what preprocessing at those
// rates needs (StationStream::PreprocessBytesBound) before any unit is read.
// Thread safety: a pure function of the file system.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/work_units.h"

namespace rapid {

// Bytes read from the start of a file: whole records of up to 8 KiB (miniSEED 2 data centres
// write 512 to 4096) are decoded there.
inline constexpr int64_t kRateSurveyPrefixBytes = 16 << 10;
// Files read per unit, from its first time group (its channels, a few location codes).
inline constexpr size_t kRateSurveyFilesPerUnit = 12;

// The distinct sampling rates in Hz, ascending, of the whole records within the first
// kRateSurveyPrefixBytes of up to kRateSurveyFilesPerUnit files of each unit's first time group.
// A file that cannot be read or holds no whole record there adds nothing: the run reports it when
// it reads it.
std::vector<double> SurveySampleRates(const std::vector<WorkUnit>& units);

}  // namespace rapid
