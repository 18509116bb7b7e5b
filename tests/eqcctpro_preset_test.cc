// `--preset eqcctpro` against EQCCTPro's own outputs on the bundled TexNet chunk
// (tests/data/golden/eqcctpro, see its README): each step separately — the normalised window
// inputs, the network's curves — and then the whole run's X_prediction_results.csv files and
// picks, and a killed run resumed to the same tables. Plus the pieces: the window picker, the
// reading order, the taper, the band-pass design and ObsPy's linear interpolation.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <signal.h>

#include <chrono>
#include <cmath>
#include <complex>
#include <filesystem>
#include <fstream>
#include <map>
#include <numbers>
#include <thread>

#include "dsp/butterworth.h"
#include "dsp/linear_interp.h"
#include "dsp/station_filter.h"
#include "dsp/taper.h"
#include "engine/eqcctpro_windows.h"
#include "engine/windower.h"
#include "io/mseed_reader.h"
#include "io/segment_merge.h"
#include "models/registry.h"
#include "models/state_dict_reader.h"
#include "picking/window_peak.h"
#include "sinks/journal.h"
#include "stored_tensor_aten.h"
#include "test_util.h"

namespace rapid {
namespace {

namespace fs = std::filesystem;
using testing::ReadCsv;
using testing::ReadFileText;
using testing::RunRapid;
using testing::TempDir;

const std::string kSample = std::string(RAPID_SOURCE_DIR) + "/data/texnet-sample";
const std::string kChunk = "20241215T115800Z_20241215T120100Z";
const std::string kGolden = std::string(RAPID_TEST_DATA_DIR) + "/golden/eqcctpro/texnet12";
const std::vector<std::string> kStations = {"AT01", "BB01", "BP01", "CT02", "DG05", "EF02",
                                            "EF76", "FOAK4", "HBVL", "HNDO", "MB09", "PB35"};

// The golden CSV's rows split at commas (CRLF line ends kept out).
std::vector<std::vector<std::string>> CsvRows(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find("\r\n", pos);
    if (end == std::string::npos) end = text.size();
    std::vector<std::string> fields;
    const std::string line = text.substr(pos, end - pos);
    size_t f = 0;
    while (true) {
      size_t c = line.find(',', f);
      fields.push_back(line.substr(f, c == std::string::npos ? std::string::npos : c - f));
      if (c == std::string::npos) break;
      f = c + 1;
    }
    rows.push_back(fields);
    pos = end + 2;
  }
  return rows;
}

// The station's file that EQCCTPro read first, from the golden table's file_name column.
std::string GoldenFirstFile(const std::string& station) {
  const auto rows = CsvRows(ReadFileText(kGolden + "/" + station + "_outputs/X_prediction_results.csv"));
  return rows.at(1).at(0).substr(station.size() + 1);
}

// The station's traces in EQCCTPro's reading order with the golden's first file first.
std::vector<TraceSegment> StationTraces(const std::string& station) {
  const std::string folder = kSample + "/" + kChunk + "/" + station;
  std::vector<std::string> paths = {folder + "/" + GoldenFirstFile(station)};
  std::vector<std::string> rest;
  for (const auto& e : fs::directory_iterator(folder)) {
    if (e.path() != paths.front()) rest.push_back(e.path().string());
  }
  std::sort(rest.begin(), rest.end());
  paths.insert(paths.end(), rest.begin(), rest.end());
  std::vector<TraceSegment> traces;
  for (const std::string& path : paths) {
    MseedFileContents contents;
    EXPECT_TRUE(ReadMseedFile(path, ReaderOptions(), &contents).ok()) << path;
    std::vector<std::string> problems;
    std::vector<TraceSegment> merged = MergeSegments(std::move(contents.segments), ReaderOptions(), &problems);
    EXPECT_TRUE(EqcctproFileTraces(merged, &traces).ok()) << path;
  }
  return traces;
}

struct GoldenStation {
  std::vector<std::string> window_start;
  at::Tensor input, p, s;  // (5, 6000, 3), (5, 6000), (5, 6000)
};

std::map<std::string, GoldenStation> LoadWindowGolden() {
  PyValue root;
  Status s = ReadTorchSave(kGolden + "/window_probabilities.pt", &root);
  EXPECT_TRUE(s.ok()) << s.ToString();
  std::map<std::string, GoldenStation> out;
  for (const auto& [key, value] : root.entries) {
    GoldenStation g;
    for (const PyValue& item : value.Find("window_start")->items) g.window_start.push_back(item.string_value);
    g.input = ToAtTensor(value.Find("input")->tensor);
    g.p = ToAtTensor(value.Find("P")->tensor);
    g.s = ToAtTensor(value.Find("S")->tensor);
    out[key.string_value] = g;
  }
  return out;
}

// "2024-12-15 11:58:00.001000" as the golden writes window starts.
std::string PythonTime(NanoTime t) {
  std::string iso = FormatIsoMicros(t);
  iso.pop_back();
  iso[iso.find('T')] = ' ';
  return iso;
}

class EqcctproGoldenTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { golden_ = new std::map<std::string, GoldenStation>(LoadWindowGolden()); }
  static void TearDownTestSuite() { delete golden_; }
  static std::map<std::string, GoldenStation>* golden_;
};
std::map<std::string, GoldenStation>* EqcctproGoldenTest::golden_ = nullptr;

// Steps 1–4: reading, taper, band-pass, interpolation, trim, the 42 s grid and the per-window
// normalisation give the windows EQCCTPro feeds the network (≤ 1e-5), and then the network gives
// its curves (≤ 1e-4).
TEST_F(EqcctproGoldenTest, NormalisedWindowsAndCurvesMatchEqcctpro) {
  ASSERT_EQ(golden_->size(), kStations.size());
  LoadedModel model;
  ASSERT_TRUE(LoadModel("eqcct", "", &model).ok());
  const ModelSpec spec = EqcctproSpec(model.model->Spec());
  ASSERT_EQ(spec.component_order, "ENZ");
  double worst_input = 0, worst_curve = 0;
  for (const std::string& station : kStations) {
    SCOPED_TRACE(station);
    const GoldenStation& g = golden_->at(station);
    EqcctproWindows w;
    ASSERT_TRUE(BuildEqcctproWindows(StationTraces(station), EqcctproDefaultFilter(), spec.component_order, &w).ok());
    ASSERT_EQ(w.starts.size(), g.window_start.size());
    for (size_t k = 0; k < w.starts.size(); ++k) EXPECT_EQ(PythonTime(w.starts[k]), g.window_start[k]);
    const int64_t n = static_cast<int64_t>(w.starts.size()), in = spec.in_samples;
    std::vector<float> batch(static_cast<size_t>(n * 3 * in));
    for (int64_t k = 0; k < n; ++k) {
      NormaliseWindow(w.samples.data(), n * in, 3, k * in, in, spec.norm, batch.data() + k * 3 * in);
    }
    const float* want = g.input.data_ptr<float>();  // [window][sample][column E, N, Z]
    for (int64_t k = 0; k < n; ++k) {
      for (int64_t i = 0; i < in; ++i) {
        for (int c = 0; c < 3; ++c) {
          const double d = std::abs(batch[(k * 3 + c) * in + i] - want[(k * in + i) * 3 + c]);
          worst_input = std::max(worst_input, d);
        }
      }
    }
    std::vector<float> curves(static_cast<size_t>(n * 2 * in));
    ASSERT_TRUE(model.model->Forward(batch.data(), n, curves.data()).ok());
    const float* want_p = g.p.data_ptr<float>();
    const float* want_s = g.s.data_ptr<float>();
    for (int64_t k = 0; k < n; ++k) {
      for (int64_t i = 0; i < in; ++i) {
        worst_curve = std::max<double>(worst_curve, std::abs(curves[(k * 2 + 0) * in + i] - want_p[k * in + i]));
        worst_curve = std::max<double>(worst_curve, std::abs(curves[(k * 2 + 1) * in + i] - want_s[k * in + i]));
      }
    }
  }
  EXPECT_LE(worst_input, 1e-5);
  EXPECT_LE(worst_curve, 1e-4);
  std::printf("worst |input - EQCCTPro| %.3g, worst |curve - EQCCTPro| %.3g\n", worst_input, worst_curve);
}

// The golden's own curves through the window picker give its table's picks.
TEST_F(EqcctproGoldenTest, WindowPickerOnTheGoldenCurvesGivesItsRows) {
  for (const std::string& station : kStations) {
    SCOPED_TRACE(station);
    const GoldenStation& g = golden_->at(station);
    const auto rows = CsvRows(ReadFileText(kGolden + "/" + station + "_outputs/X_prediction_results.csv"));
    ASSERT_EQ(rows.size(), g.window_start.size() + 1);
    for (size_t k = 0; k < g.window_start.size(); ++k) {
      const WindowPeak p = PickWindowPeak(g.p.data_ptr<float>() + k * 6000, 6000, 0.001);
      const WindowPeak s = PickWindowPeak(g.s.data_ptr<float>() + k * 6000, 6000, 0.02);
      EXPECT_EQ(p.index >= 0, !rows[k + 1][7].empty()) << k;
      EXPECT_EQ(s.index >= 0, !rows[k + 1][9].empty()) << k;
      if (p.index >= 0) EXPECT_FLOAT_EQ(p.value, std::stof(rows[k + 1][8])) << k;
      if (s.index >= 0) EXPECT_FLOAT_EQ(s.value, std::stof(rows[k + 1][10])) << k;
    }
  }
}

// The first file of `station` in this checkout's directory order: what file_name must name.
std::string DirectoryFirstFile(const std::string& station) {
  for (const auto& e : fs::directory_iterator(kSample + "/" + kChunk + "/" + station)) {
    const std::string name = e.path().filename().string();
    if (name.size() >= 5 && name.compare(name.size() - 5, 5, "mseed") == 0 && name[0] != '.') return name;
  }
  return "";
}

// Every row of a run's tables equals EQCCTPro's (file_name: the first file in directory order,
// which on the machine that made the golden was the golden's).
void ExpectTablesMatchGolden(const std::string& out) {
  for (const std::string& station : kStations) {
    SCOPED_TRACE(station);
    const std::string golden = ReadFileText(kGolden + "/" + station + "_outputs/X_prediction_results.csv");
    const std::string got = ReadFileText(out + "/eqcctpro/" + kChunk + "/" + station + "_outputs/X_prediction_results.csv");
    auto want_rows = CsvRows(golden), got_rows = CsvRows(got);
    ASSERT_EQ(got_rows.size(), want_rows.size()) << got;
    EXPECT_EQ(got_rows[0], want_rows[0]);
    for (size_t r = 1; r < want_rows.size(); ++r) {
      EXPECT_EQ(got_rows[r][0], station + "/" + DirectoryFirstFile(station));
      want_rows[r][0] = got_rows[r][0];
      EXPECT_EQ(got_rows[r], want_rows[r]) << "row " << r;
    }
    EXPECT_EQ(std::count(got.begin(), got.end(), '\n'), std::count(got.begin(), got.end(), '\r'));  // CRLF
  }
}

TEST(EqcctproRunTest, TablesPicksAndRunJsonMatchEqcctpro) {
  TempDir dir;
  const std::string out = dir.Path("out");
  std::string log;
  ASSERT_EQ(RunRapid({"run", "--input", kSample, "--preset", "eqcctpro", "--format", "csv,quakeml,eqcctpro", "--output",
                      out, "--progress", "off"},
                     &log),
            0)
      << log;
  ExpectTablesMatchGolden(out);  // --format eqcctpro changes nothing: the preset's tables are EQCCTPro's
  // picks.csv and picks.xml hold the same 21 picks (17 P, 4 S).
  const std::string xml = ReadFileText(out + "/picks.xml");
  size_t xml_picks = 0;
  for (size_t at = xml.find("<pick "); at != std::string::npos; at = xml.find("<pick ", at + 1)) ++xml_picks;
  EXPECT_EQ(xml_picks, 21u);
  auto want = ReadCsv(kGolden + "/picks.csv");
  auto got = ReadCsv(out + "/picks.csv");
  ASSERT_EQ(got.size(), want.size());
  for (size_t r = 1; r < want.size(); ++r) {
    EXPECT_EQ(got[r][0], want[r][0]) << r;
    EXPECT_EQ(got[r][1], want[r][1]) << r;
    EXPECT_EQ(got[r][2], want[r][2]) << r;
    EXPECT_FLOAT_EQ(std::stof(got[r][3]), std::stof(want[r][3])) << r;
  }
  const nlohmann::json run = nlohmann::json::parse(ReadFileText(out + "/run.json"));
  EXPECT_EQ(run.at("preset"), "eqcctpro");
  EXPECT_EQ(run.at("filter").at("taper_s"), 5.0);
  EXPECT_EQ(run.at("filter").at("bandpass_hz"), nlohmann::json({1.0, 45.0}));
  EXPECT_EQ(run.at("filter").at("corners"), 2);
  EXPECT_EQ(run.at("thresholds").at("P"), 0.001);
  EXPECT_EQ(run.at("thresholds").at("S"), 0.02);
  EXPECT_EQ(run.at("windows"), 60);
}

// --start/--end choose whole chunks: a span inside the chunk gives the whole chunk's tables; a span
// outside every chunk picks nothing and says so.
TEST(EqcctproRunTest, StartAndEndChooseWholeChunks) {
  TempDir dir;
  std::string log;
  ASSERT_EQ(RunRapid({"run", "--input", kSample, "--preset", "eqcctpro", "--start", "2024-12-15T11:59:00Z", "--end",
                      "2024-12-15T11:59:30Z", "--output", dir.Path("inside"), "--progress", "off"},
                     &log),
            0)
      << log;
  ExpectTablesMatchGolden(dir.Path("inside"));
  EXPECT_EQ(RunRapid({"run", "--input", kSample, "--preset", "eqcctpro", "--start", "2024-12-16T00:00:00Z", "--output",
                      dir.Path("outside"), "--progress", "off"},
                     &log),
            2)
      << log;
  EXPECT_NE(log.find("nothing to pick"), std::string::npos) << log;
}

TEST(EqcctproRunTest, ThresholdFlagsOverrideThePresets) {
  TempDir dir;
  const std::string out = dir.Path("out");
  std::string log;
  ASSERT_EQ(RunRapid({"run", "--input", kSample, "--preset", "eqcctpro", "--p-threshold", "0.5", "--s-threshold", "0.5",
                      "--output", out, "--progress", "off"},
                     &log),
            0)
      << log;
  // Only PB35's event is that strong: P 0.537 and S 0.818 (first window) and S 0.694 (second).
  auto picks = ReadCsv(out + "/picks.csv");
  ASSERT_EQ(picks.size(), 4u);
  EXPECT_EQ(picks[1][0] + picks[1][1] + picks[1][2], "TX.PB35.00P2024-12-15T11:58:08.750000Z");
  EXPECT_EQ(picks[2][0] + picks[2][1] + picks[2][2], "TX.PB35.00S2024-12-15T11:58:09.920000Z");
  EXPECT_EQ(picks[3][0] + picks[3][1] + picks[3][2], "TX.PB35.00S2024-12-15T11:59:22.190000Z");
  const auto rows = CsvRows(ReadFileText(out + "/eqcctpro/" + kChunk + "/PB35_outputs/X_prediction_results.csv"));
  ASSERT_EQ(rows.size(), 6u);  // still one row per window
  EXPECT_EQ(rows[2][7], "");
  EXPECT_EQ(rows[2][10], "0.694");
}

TEST(EqcctproRunTest, KilledRunResumesToTheSameTables) {
  TempDir dir;
  const std::string out = dir.Path("out");
  const std::vector<std::string> args = {"run",      "--input", kSample,    "--preset", "eqcctpro", "--output",
                                         out,        "--progress", "off",   "--instances", "1",  "--batch-size", "1"};
  const pid_t pid = testing::SpawnRapid(args);
  // Kill once the journal holds its header and at least one unit.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  bool killed = false;
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream in(out + "/journal.jsonl");
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (std::count(text.begin(), text.end(), '\n') >= 2) {
      killed = kill(pid, SIGKILL) == 0;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const int code = testing::WaitRapid(pid);
  if (code == 0) GTEST_SKIP() << "the run finished before the kill";
  ASSERT_TRUE(killed);
  std::vector<std::string> resume = args;
  resume.push_back("--resume");
  std::string log;
  ASSERT_EQ(RunRapid(resume, &log), 0) << log;
  const nlohmann::json run = nlohmann::json::parse(ReadFileText(out + "/run.json"));
  EXPECT_LT(run.at("windows"), 60);  // the journaled units were not picked again
  EXPECT_NE(run.at("notes").dump().find("resumed"), std::string::npos) << run.at("notes");
  ExpectTablesMatchGolden(out);
  EXPECT_EQ(ReadCsv(out + "/picks.csv").size(), 22u);  // none lost, none doubled
}

TEST(EqcctproRunTest, ConfigurationErrorsNameTheProblem) {
  TempDir dir;
  std::string log;
  EXPECT_EQ(RunRapid({"run", "--input", kSample, "--preset", "eqcctpro", "--model", "phasenet", "--output", dir.Path("a")},
                     &log),
            1);
  EXPECT_NE(log.find("--model eqcct"), std::string::npos) << log;
  EXPECT_EQ(RunRapid({"run", "--input", kSample + "/" + kChunk + "/PB35", "--layout", "files", "--preset", "eqcctpro",
                      "--output", dir.Path("b")},
                     &log),
            1);
  EXPECT_NE(log.find("timechunk layout"), std::string::npos) << log;
  EXPECT_EQ(RunRapid({"run", "--input", kSample, "--preset", "eqcctpro", "--save-probabilities", "--output", dir.Path("c")},
                     &log),
            1);
  EXPECT_NE(log.find("--save-probabilities"), std::string::npos) << log;
}

// A resume must pick as the interrupted run did: other preset, thresholds or filter are refused.
TEST(EqcctproRunTest, ResumeWithOtherSettingsIsRefused) {
  TempDir dir;
  const std::string path = dir.Path("journal.jsonl");
  {
    Journal j;
    ASSERT_TRUE(j.Open(path, {"eqcct", "abc", "/data", "preset=eqcctpro P=0.001000 S=0.020000"}, false,
                       [](JournalUnit&&) { return Status::OK(); })
                    .ok());
  }
  Journal again;
  Status s = again.Open(path, {"eqcct", "abc", "/data", "preset=eqcctpro P=0.500000 S=0.020000"}, true,
                        [](JournalUnit&&) { return Status::OK(); });
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("P=0.001000"), std::string::npos) << s.ToString();
  Journal same;
  EXPECT_TRUE(same.Open(path, {"eqcct", "abc", "/data", "preset=eqcctpro P=0.001000 S=0.020000"}, true,
                        [](JournalUnit&&) { return Status::OK(); })
                  .ok());
}

TEST(WindowPeakTest, FirstBestRoundedLocalMaximumAboveTheThreshold) {
  // Index:            0     1      2      3      4      5      6      7      8
  const float c[] = {0.9f, 0.1f, 0.5004f, 0.3f, 0.4996f, 0.4996f, 0.2f, 0.6f, 0.95f};
  // Candidates: 2 (0.500), 4 (plateau start, 0.500); 8 is the last sample and 0 the first: never.
  WindowPeak p = PickWindowPeak(c, 9, 0.001);
  EXPECT_EQ(p.index, 2);  // 0.5004 and 0.4996 both round to 0.5: the first wins
  EXPECT_FLOAT_EQ(p.value, 0.5f);
  EXPECT_EQ(PickWindowPeak(c, 9, 0.5).index, 2);       // the raw value is compared: 0.5004 >= 0.5
  EXPECT_EQ(PickWindowPeak(c, 9, 0.5005).index, -1);   // neither reaches it, though both round to 0.5
  const float flat[] = {0.2f, 0.2f, 0.2f};
  EXPECT_EQ(PickWindowPeak(flat, 3, 0.001).index, -1);  // no rise: no peak
  EXPECT_FLOAT_EQ(RoundToThousandths(0.0005f), 0.0f);   // the float32 product is 0.5: halves go to even
  EXPECT_FLOAT_EQ(RoundToThousandths(0.8175f), 0.818f);
}

TEST(EqcctproReadingOrderTest, DirectoryOrderOfMseedFilesOnly) {
  TempDir dir;
  const std::string folder = dir.Path("STA");
  fs::create_directories(folder);
  std::vector<std::string> paths;
  for (const char* name : {"b.mseed", "a.mseed", "c.MSEED", ".hidden.mseed", "d.xmseed", "notes.txt"}) {
    std::ofstream(folder + "/" + name) << "x";
    paths.push_back(folder + "/" + name);
  }
  std::vector<std::string> listed;
  for (const auto& e : fs::directory_iterator(folder)) {
    const std::string name = e.path().filename().string();
    if (name == "b.mseed" || name == "a.mseed" || name == "d.xmseed") listed.push_back(folder + "/" + name);
  }
  std::vector<std::string> skipped;
  EXPECT_EQ(EqcctproReadingOrder(paths, &skipped), listed);
  EXPECT_EQ(skipped.size(), 3u);  // c.MSEED (glob is case-sensitive here), .hidden.mseed, notes.txt
}

TEST(StationFilterTest, CosineTaperIsObspys) {
  std::vector<double> x(11, 1.0);
  CosineTaperEnds(TaperHalfLengthOfFraction(0.4, 11), &x);  // int(4.4) = 4 samples each end
  // cosine_taper(9, p=1) ramps over int(9 / 2) = 4 points: 0.5·(1 − cos(π·i / 3)).
  const double w1 = 0.5 * (1 - std::cos(std::numbers::pi / 3)), w2 = 0.5 * (1 - std::cos(2 * std::numbers::pi / 3));
  const std::vector<double> want = {0, w1, w2, 1, 1, 1, 1, 1, w2, w1, 0};
  for (size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(x[i], want[i], 1e-15) << i;
  EXPECT_EQ(TaperHalfLengthOfSeconds(5.0, 100.0, 18001), 500);
  EXPECT_EQ(TaperHalfLengthOfSeconds(100.0, 100.0, 801), 400);  // capped at half the trace
}

// |H(e^{iω})| of a cascade at frequency `hz`.
double Gain(const std::vector<Biquad>& sections, double hz, double rate_hz) {
  const std::complex<double> z = std::exp(std::complex<double>(0, 2 * std::numbers::pi * hz / rate_hz));
  std::complex<double> h = 1.0;
  for (const Biquad& s : sections) h *= (s.b0 + s.b1 / z + s.b2 / (z * z)) / (1.0 + s.a1 / z + s.a2 / (z * z));
  return std::abs(h);
}

TEST(StationFilterTest, ButterworthCornersAreHalfPowerAsDesigned) {
  for (int corners : {1, 2, 3, 4}) {
    SCOPED_TRACE(corners);
    const auto band = DesignButterworthBandpass(corners, 1.0, 45.0, 200.0);
    EXPECT_NEAR(Gain(band, 1.0, 200.0), std::sqrt(0.5), 1e-9);
    EXPECT_NEAR(Gain(band, 45.0, 200.0), std::sqrt(0.5), 1e-9);
    // Unit gain at the centre of the pre-warped band.
    const double centre = std::atan(std::sqrt(std::tan(std::numbers::pi * 1 / 200) * std::tan(std::numbers::pi * 45 / 200))) *
                          200 / std::numbers::pi;
    EXPECT_NEAR(Gain(band, centre, 200.0), 1.0, 1e-9);
    EXPECT_LT(Gain(band, 0.01, 200.0), 1e-3 * (corners == 1 ? 100 : 1));
    const auto high = DesignButterworthHighpass(corners, 1.0, 40.0);
    EXPECT_NEAR(Gain(high, 1.0, 40.0), std::sqrt(0.5), 1e-9);
    EXPECT_NEAR(Gain(high, 20.0, 40.0), 1.0, 1e-9);
  }
  std::vector<Biquad> sections;
  std::string note;
  ASSERT_TRUE(DesignObspyBandpass(2, 1.0, 45.0, 40.0, &sections, &note).ok());  // 45 Hz >= Nyquist 20 Hz
  EXPECT_NE(note.find("high-pass"), std::string::npos);
  EXPECT_NEAR(Gain(sections, 1.0, 40.0), std::sqrt(0.5), 1e-9);
  EXPECT_FALSE(DesignObspyBandpass(2, 25.0, 45.0, 40.0, &sections, &note).ok());
}

TEST(StationFilterTest, BandpassKeepsTheBandAndRemovesTheDrift) {
  TraceSegment seg;
  seg.id = {"XX", "STA", "", "HHZ"};
  seg.start = 0;
  seg.rate_hz = 100.0;
  for (int i = 0; i < 6000; ++i) {
    const double t = i / 100.0;
    seg.samples.push_back(5.0 * std::sin(2 * std::numbers::pi * 0.05 * t) + std::sin(2 * std::numbers::pi * 10 * t));
  }
  StationFilter f;
  f.bandpass = true;
  f.low_hz = 1.0;
  f.high_hz = 45.0;
  std::string note;
  ASSERT_TRUE(ApplyStationFilter(f, 0, &seg, &note).ok());
  double worst = 0;
  for (int i = 2000; i < 4000; ++i) {
    worst = std::max(worst, std::abs(seg.samples[i] - std::sin(2 * std::numbers::pi * 10 * i / 100.0)));
  }
  EXPECT_LT(worst, 0.02);  // the 10 Hz tone passes (zero phase), the 0.05 Hz drift is gone
}

// --taper/--bandpass with SeisBench's EQCCT (no preset): the band-pass is what reveals PB35's small
// event, at the times EQCCTPro gives it; without it EQCCT finds nothing in the bundled chunk.
TEST(StationFilterRunTest, BandpassRevealsThePb35EventAndIsRecorded) {
  TempDir dir;
  std::string log;
  ASSERT_EQ(RunRapid({"run", "--model", "eqcct", "--output", dir.Path("plain"), "--progress", "off"}, &log), 0) << log;
  EXPECT_EQ(ReadCsv(dir.Path("plain/picks.csv")).size(), 1u);  // the header only
  ASSERT_EQ(RunRapid({"run", "--model", "eqcct", "--bandpass", "1,45", "--taper", "5s", "--output", dir.Path("filtered"),
                      "--progress", "off"},
                     &log),
            0)
      << log;
  bool p = false, s = false;
  for (const auto& row : ReadCsv(dir.Path("filtered/picks.csv"))) {
    p = p || (row[0] == "TX.PB35.00" && row[1] == "P" && row[2] == "2024-12-15T11:58:08.750000Z");
    s = s || (row[0] == "TX.PB35.00" && row[1] == "S" && row[2] == "2024-12-15T11:58:09.920000Z");
  }
  EXPECT_TRUE(p && s) << ReadFileText(dir.Path("filtered/picks.csv"));
  const nlohmann::json run = nlohmann::json::parse(ReadFileText(dir.Path("filtered/run.json")));
  EXPECT_EQ(run.at("filter").at("taper_s"), 5.0);
  EXPECT_EQ(run.at("filter").at("bandpass_hz"), nlohmann::json({1.0, 45.0}));
  EXPECT_FALSE(run.contains("preset"));
  // The 40 Hz station gets a high-pass, said once per channel.
  EXPECT_NE(run.at("notes").dump().find("2T.EF76.00.HHZ: band-pass high corner 45 Hz is at or above Nyquist (20 Hz)"),
            std::string::npos)
      << run.at("notes");
}

TEST(LinearInterpolationTest, ObspyGridAndValues) {
  // 200 Hz → 100 Hz and 40 Hz → 100 Hz over 180 s: 18001 samples, a ramp stays a ramp.
  for (double rate : {200.0, 40.0, 250.0}) {
    SCOPED_TRACE(rate);
    const int64_t n = static_cast<int64_t>(180 * rate) + 1;
    std::vector<double> ramp(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) ramp[i] = 3.0 * static_cast<double>(i) / rate;
    const NanoTime start = testing::Iso("2024-12-15T11:58:00.001Z");
    const std::vector<double> out = InterpolateLinearObspy(ramp, start, rate, 100.0);
    ASSERT_EQ(out.size(), 18001u);
    for (size_t j = 0; j < out.size(); j += 997) EXPECT_NEAR(out[j], 3.0 * static_cast<double>(j) / 100.0, 1e-5) << j;
  }
}

}  // namespace
}  // namespace rapid
