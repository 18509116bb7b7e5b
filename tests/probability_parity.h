// Test helper: compares the probability traces a run wrote (--save-probabilities) with a
// SeisBench annotate golden (golden_file.h, LoadAnnotationGolden).
#pragma once

#include <cstddef>
#include <string>

namespace rapid::testing {

// Reads every trace of the annotate golden `golden_path` and the file
// `probabilities_dir`/<key>.mseed for it, where <key> is the golden key with `seisbench_class`
// replaced by `rapid_class` (EQCCT: "EQCCTP" → "EQCCT"; pass the same name twice when they agree).
// Records a gtest failure for a missing file, a different start time, rate or length, or a sample
// that is NaN in one trace only. Returns the largest |difference| over the samples both define;
// sets *traces to the number of traces compared.
double MaxProbabilityDifference(const std::string& golden_path, const std::string& probabilities_dir,
                                const std::string& seisbench_class, const std::string& rapid_class, size_t* traces);

}  // namespace rapid::testing
