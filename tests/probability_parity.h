// Test helper: compares the probability traces a run wrote (--save-probabilities) with a
// SeisBench annotate golden (golden_file.h, LoadAnnotationGolden).
#pragma once

#include <cstddef>
#include <cstdint>
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

// Compares the picks of `picks_csv` (a run's picks.csv) with a SeisBench classify golden
// (`golden_csv`, columns trace_id, phase, peak_time, peak_value, start_time, end_time in any order), both sorted by
// trace, phase and start time (within a trace and phase triggers do not overlap): the same number
// of picks, the same trace and phase row by row, peak/start/end times within `tolerance_ns`, peak
// values within 1e-3 (gtest failures otherwise). Returns how many picks have identical peak, start
// and end times; sets *compared to the golden's pick count.
int CompareWithGoldenPicks(const std::string& golden_csv, const std::string& picks_csv, int64_t tolerance_ns,
                           size_t* compared);

}  // namespace rapid::testing
