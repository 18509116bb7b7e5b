#include "engine/rate_survey.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <string>

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

}  // namespace

std::vector<double> SurveySampleRates(const std::vector<WorkUnit>& units) {
  std::set<double> rates;
  for (const WorkUnit& unit : units) {
    const size_t end = std::min(TimeGroupEnd(unit.files, 0), kRateSurveyFilesPerUnit);
    for (size_t i = 0; i < end; ++i) AddRatesOfFileStart(unit.files[i]->path, &rates);
  }
  return {rates.begin(), rates.end()};
}

}  // namespace rapid
