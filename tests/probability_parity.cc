#include "probability_parity.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "golden_file.h"
#include "io/mseed_reader.h"

namespace rapid::testing {

double MaxProbabilityDifference(const std::string& golden_path, const std::string& probabilities_dir,
                                const std::string& seisbench_class, const std::string& rapid_class, size_t* traces) {
  double worst = 0.0;
  *traces = 0;
  for (const auto& [golden_key, trace] : LoadAnnotationGolden(golden_path)) {
    std::string key = golden_key;
    const std::string::size_type at = key.rfind("." + seisbench_class + "_");
    if (at == std::string::npos) {
      ADD_FAILURE() << golden_key << ": no class " << seisbench_class;
      continue;
    }
    key.replace(at + 1, seisbench_class.size(), rapid_class);
    SCOPED_TRACE(key);
    const std::string path = probabilities_dir + "/" + key + ".mseed";
    MseedFileContents contents;
    if (!ReadMseedFile(path, ReaderOptions(), &contents).ok() || contents.segments.size() != 1) {
      ADD_FAILURE() << path << ": missing, unreadable or not one segment";
      continue;
    }
    const TraceSegment& seg = contents.segments.front();
    EXPECT_EQ(FormatIsoMicros(seg.start), trace.starttime);
    EXPECT_EQ(seg.rate_hz, trace.sampling_rate);
    if (seg.samples.size() != trace.data.size()) {
      ADD_FAILURE() << "length " << seg.samples.size() << ", SeisBench " << trace.data.size();
      continue;
    }
    size_t nan_mismatches = 0;
    for (size_t i = 0; i < trace.data.size(); ++i) {
      const double golden = trace.data[i];
      if (std::isnan(golden) != std::isnan(seg.samples[i])) ++nan_mismatches;
      if (!std::isnan(golden)) worst = std::max(worst, std::abs(seg.samples[i] - golden));
    }
    EXPECT_EQ(nan_mismatches, 0u) << "samples defined in one trace only";
    ++*traces;
  }
  return worst;
}

}  // namespace rapid::testing
