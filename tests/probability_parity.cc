#include "probability_parity.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <tuple>

#include "golden_file.h"
#include "io/mseed_reader.h"
#include "test_util.h"

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

int CompareWithGoldenPicks(const std::string& golden_csv, const std::string& picks_csv, int64_t tolerance_ns,
                           size_t* compared) {
  // Rows in picks.csv's column order, whatever the file's (goldens differ), sorted.
  auto sorted_rows = [](std::vector<std::vector<std::string>> rows) {
    const std::vector<std::string> header = rows.front();
    std::vector<size_t> column;
    for (const char* name : {"trace_id", "phase", "peak_time", "peak_value", "start_time", "end_time"}) {
      auto at = std::find(header.begin(), header.end(), name);
      EXPECT_NE(at, header.end()) << name;
      column.push_back(at == header.end() ? 0 : static_cast<size_t>(at - header.begin()));
    }
    std::vector<std::vector<std::string>> out;
    for (size_t i = 1; i < rows.size(); ++i) {
      std::vector<std::string> row;
      for (size_t c : column) row.push_back(c < rows[i].size() ? rows[i][c] : "");
      out.push_back(std::move(row));
    }
    std::sort(out.begin(), out.end(),
              [](const auto& a, const auto& b) { return std::tie(a[0], a[1], a[4]) < std::tie(b[0], b[1], b[4]); });
    return out;
  };
  const auto golden = sorted_rows(ReadCsv(golden_csv));
  const auto mine = sorted_rows(ReadCsv(picks_csv));
  *compared = golden.size();
  EXPECT_EQ(mine.size(), golden.size());
  int exact = 0;
  for (size_t i = 0; i < std::min(golden.size(), mine.size()); ++i) {
    const auto& g = golden[i];
    const auto& r = mine[i];
    SCOPED_TRACE(g[0] + " " + g[1] + " " + g[2]);
    EXPECT_EQ(r[0], g[0]);
    EXPECT_EQ(r[1], g[1]);
    if (r[0] != g[0] || r[1] != g[1]) break;  // the rows no longer correspond
    for (int col : {2, 4, 5}) {  // peak, start, end
      EXPECT_LE(std::llabs(Iso(r[col].c_str()) - Iso(g[col].c_str())), tolerance_ns) << col;
    }
    EXPECT_NEAR(std::stod(r[3]), std::stod(g[3]), 1e-3);
    exact += r[2] == g[2] && r[4] == g[4] && r[5] == g[5];
  }
  return exact;
}

}  // namespace rapid::testing
