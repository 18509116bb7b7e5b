#include "engine/rate_survey.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <system_error>

#include "io/mseed_reader.h"

namespace rapid {
namespace {

// The rates of the whole records in the first kRateSurveyPrefixBytes of `path`.
void AddRatesOfFileStart(const std::string& path, std::set<double>* rates) {
  std::ifstream in(path, std::ios::binary);
  std::string prefix(static_cast<size_t>(kRateSurveyPrefixBytes), '\0');
  in.read(prefix.data(), static_cast<std::streamsize>(prefix.size()));
  prefix.resize(static_cast<size_t>(std::max<std::streamsize>(0, in.gcount())));
  if (prefix.empty()) return;
  MseedFileContents contents;
  // A record cut off by the prefix's end is a problem the survey ignores; the whole ones count.
  (void)DecodeMseedBytes(prefix, path, ReaderOptions(), &contents);
  for (const TraceSegment& seg : contents.segments) rates->insert(seg.rate_hz);
}

// min(sample_cap, the unit's file bytes × kMaxSamplesPerMseedByte).
int64_t MaxChannelSamples(const WorkUnit& unit, int64_t sample_cap) {
  double samples = 0.0;
  for (const InputFile* f : unit.files) {
    std::error_code error;
    const uintmax_t bytes = std::filesystem::file_size(f->path, error);
    if (!error) samples += static_cast<double>(bytes) * kMaxSamplesPerMseedByte;
    if (samples >= static_cast<double>(sample_cap)) return sample_cap;
  }
  return static_cast<int64_t>(samples);
}

}  // namespace

std::vector<SurveyedRate> SurveySampleRates(const std::vector<WorkUnit>& units, int64_t sample_cap) {
  std::map<double, int64_t> longest;  // rate → max_channel_samples
  for (const WorkUnit& unit : units) {
    std::set<double> rates;
    const size_t end = std::min(TimeGroupEnd(unit.files, 0), kRateSurveyFilesPerUnit);
    for (size_t i = 0; i < end; ++i) AddRatesOfFileStart(unit.files[i]->path, &rates);
    if (rates.empty()) continue;
    const int64_t samples = MaxChannelSamples(unit, sample_cap);
    for (double rate : rates) longest[rate] = std::max(longest[rate], samples);
  }
  std::vector<SurveyedRate> out;
  for (const auto& [rate, samples] : longest) out.push_back({rate, samples});
  return out;
}

}  // namespace rapid
