// Before a run is planned: the sampling rates its input holds, read from the records at the start
// of each work unit's first files, and how long a channel at each rate can be at most, from the
// units' file sizes, so that the planner can reserve what preprocessing at those rates needs
// (StationStream::PreprocessBytesBound) before any unit is read.
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

struct SurveyedRate {
  double rate_hz = 0.0;
  // The most samples one channel at this rate can have in any unit holding it: the unit's file
  // bytes (all its files) × kMaxSamplesPerMseedByte (io/mseed_reader.h), counted up to the survey's sample cap.
  int64_t max_channel_samples = 0;
};

// The distinct sampling rates, ascending, of the whole records within the first
// kRateSurveyPrefixBytes of up to kRateSurveyFilesPerUnit files of each unit's first time group,
// each with its max_channel_samples. A unit's file sizes are added until they reach `sample_cap`
// samples (the most any use of the answer needs), so a large unit costs a few stat calls. A file
// that cannot be read or holds no whole record at its start adds no rate: the run reports it when
// it reads it.
std::vector<SurveyedRate> SurveySampleRates(const std::vector<WorkUnit>& units, int64_t sample_cap);

}  // namespace rapid
