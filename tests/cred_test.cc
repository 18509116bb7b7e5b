// CRED against SeisBench: the STFT front end (the graph's spectrogram op on both backends) on the
// golden windows, the whole forward pass
// (normalised waveform → spectrogram → detection), strict weight loading, and a `rapid run` whose
// Detection traces are checked against SeisBench's array stitching rule recomputed here
// (window at input sample s → output samples int(s · 19 / 3000) + [0, 19), NaN-ignoring mean).
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <filesystem>

#include "backends/backend.h"
#include "engine/picking_run.h"
#include "engine/station_block.h"
#include "engine/windower.h"
#include "golden_file.h"
#include "io/mseed_reader.h"
#include "io/segment_merge.h"
#include "models/cred.h"
#include "models/registry.h"
#include "models/state_dict_reader.h"
#include "stored_tensor_aten.h"
#include "picking/picker.h"
#include "test_util.h"

namespace rapid {
namespace {

const std::string kGolden = std::string(RAPID_TEST_DATA_DIR) + "/golden/forward/cred_random.pt";
const std::string kWeights = std::string(RAPID_TEST_DATA_DIR) + "/models/cred_random.pt";

// The pipeline's normalisation (engine/windower.h) of the same windows.
at::Tensor PipelineNormalised(const GoldenFile& golden) {
  at::Tensor raw = golden.Tensor("raw").contiguous();
  at::Tensor out = at::empty_like(raw);
  for (int64_t w = 0; w < 4; ++w) {
    NormaliseWindow(raw.data_ptr<float>() + w * 3 * 3000, 3000, 3, 0, 3000, WindowNorm::kStdAllChannels,
                    out.data_ptr<float>() + w * 3 * 3000);
  }
  return out;
}

TEST(CredTest, SpecIsSeisBenchsDetector) {
  LoadedModel m;
  ASSERT_TRUE(LoadModel("cred", kWeights, &m).ok());
  const ModelSpec& spec = m.model->Spec();
  EXPECT_EQ(spec.class_name, "CRED");
  EXPECT_EQ(spec.labels, (std::vector<std::string>{"Detection"}));
  EXPECT_EQ(spec.detection_label, "Detection");
  EXPECT_EQ(spec.in_samples, 3000);
  EXPECT_EQ(spec.StrideSamples(), 1500);
  EXPECT_EQ(spec.OutSamples(), 19);
  EXPECT_DOUBLE_EQ(spec.thresholds.at("Detection"), 0.5);
  // SeisBench's int(start · 19 / 3000): the second window's outputs start at 9 (9.5 truncated).
  EXPECT_EQ(spec.OutputIndex(1500), 9);
  EXPECT_EQ(spec.OutputIndex(3000), 19);
  EXPECT_EQ(spec.OutputLength(18002), 115);
}

// CRED's front end alone, as a graph: the spectrogram op (3 × 76 frames × 41 frequencies),
// flattened to 41·3 scores × 76 frames (score w·3 + c) so that a Model returns it.
std::shared_ptr<Graph> SpectrogramGraph(ModelSpec* spec) {
  spec->class_name = "CRED spectrogram";
  spec->component_order = "ZNE";
  spec->labels.clear();
  for (int i = 0; i < 41 * 3; ++i) spec->labels.push_back("S" + std::to_string(i));
  spec->in_samples = 3000;
  spec->out_samples = 76;
  auto g = std::make_shared<Graph>();
  g->SetOutput(g->FlattenWidth(g->Spectrogram(g->Input(3, 3000), 80, 40, 0.025)), OutputActivation::kSigmoid);
  return g;
}

TEST(CredTest, SpectrogramOfBothBackendsMatchesSeisBenchGolden) {
  GoldenFile golden = LoadGoldenFile(kGolden);
  const at::Tensor windows = SeisBenchCredWindows(golden);
  // SeisBench's (batch, 3, 76 frames, 41 frequencies) in the graph's flattening order.
  const at::Tensor expected = golden.Tensor("input").permute({0, 3, 1, 2}).reshape({4, 41 * 3, 76}).contiguous();
  ASSERT_GT(expected.max().item<float>(), 0.1f);
  ModelSpec spec;
  const std::shared_ptr<const Graph> graph = SpectrogramGraph(&spec);
  ASSERT_TRUE(graph->status().ok()) << graph->status().ToString();
  for (const std::string backend : {kOnednnBackend, kTorchBackend}) {
    std::unique_ptr<Model> m;
    Status s = backend == kOnednnBackend ? CompileOnednn(graph, spec, &m) : CompileTorch(graph, spec, "cpu", &m);
    ASSERT_TRUE(s.ok()) << backend << ": " << s.ToString();
    std::vector<float> scores(static_cast<size_t>(expected.numel()));
    ASSERT_TRUE(m->ForwardLogits(windows.data_ptr<float>(), 4, scores.data()).ok());
    const float diff = (at::from_blob(scores.data(), {4, 41 * 3, 76}) - expected).abs().max().item<float>();
    std::printf("CRED spectrogram (%s) vs SeisBench: max |diff| %.3g (values up to %.3g)\n", backend.c_str(), diff,
                expected.max().item<float>());
    EXPECT_LE(diff, 1e-5) << backend;
  }
}

// The pipeline normalises with double sums (windower.h), SeisBench with float32 reductions; on
// window 2 (raw counts with a large offset) the float32 mean's rounding shows as 6e-5.
TEST(CredTest, PipelineNormalisationIsSeisBenchs) {
  GoldenFile golden = LoadGoldenFile(kGolden);
  const float diff = (PipelineNormalised(golden) - SeisBenchCredWindows(golden)).abs().max().item<float>();
  std::printf("CRED window normalisation, pipeline vs SeisBench's float32: max |diff| %.3g\n", diff);
  EXPECT_LE(diff, 1e-4);
}

TEST(CredTest, ForwardMatchesSeisBenchGolden) {
  GoldenFile golden = LoadGoldenFile(kGolden);
  LoadedModel m;
  Status s = LoadModel("cred", kWeights, &m);
  ASSERT_TRUE(s.ok()) << s.ToString();
  const at::Tensor windows = SeisBenchCredWindows(golden);
  // SeisBench gives (batch, 19, 1); RAPID's models give batch × labels × steps.
  const at::Tensor expected = golden.Tensor("output").reshape({4, 19});
  const at::Tensor expected_logits = golden.Tensor("output_logits").reshape({4, 19});
  std::vector<float> probs(4 * 19), logits(4 * 19);
  ASSERT_TRUE(m.model->Forward(windows.data_ptr<float>(), 4, probs.data()).ok());
  ASSERT_TRUE(m.model->ForwardLogits(windows.data_ptr<float>(), 4, logits.data()).ok());
  const float diff = (at::from_blob(probs.data(), {4, 19}) - expected).abs().max().item<float>();
  const float logit_diff = (at::from_blob(logits.data(), {4, 19}) - expected_logits).abs().max().item<float>();
  std::printf("CRED vs SeisBench golden: max |dprob| %.3g, max |dlogit| %.3g (output range %.3g..%.3g)\n", diff,
              logit_diff, expected.min().item<float>(), expected.max().item<float>());
  EXPECT_LE(diff, 1e-4);
  EXPECT_LE(logit_diff, 1e-4);
}

TEST(CredTest, MisfittingWeightsNameTheKeyAndShape) {
  LoadedModel m;
  ASSERT_TRUE(LoadModel("cred", kWeights, &m).ok());
  const ModelSpec& spec = m.model->Spec();
  StateDict state;
  ASSERT_TRUE(ReadStateDict(kWeights, &state).ok());
  Graph graph;
  ASSERT_TRUE(DescribeCred(state.entries, kWeights, "", "", spec, &graph).ok());
  for (auto& [name, tensor] : state.entries) {
    if (name == "fc1.weight") tensor = ToStoredTensor(ToAtTensor(tensor).narrow(1, 0, 32));
  }
  Graph narrow;
  Status s = DescribeCred(state.entries, "narrow.pt", "", "", spec, &narrow);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("narrow.pt: weight 'fc1.weight' has shape (64, 32), the architecture needs (64, 64)"),
            std::string::npos)
      << s.ToString();
  s = DescribeCred(state.entries, kWeights, R"({"model_args": {"original_compatible": true}})", "cred.json", spec,
                   &narrow);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("cred.json: CRED's original_compatible variant"), std::string::npos) << s.ToString();

  // A missing key, an extra key, and a spec of another shape.
  ASSERT_TRUE(ReadStateDict(kWeights, &state).ok());
  NamedStoredTensors missing, extra = state.entries;
  for (const auto& entry : state.entries) {
    if (entry.first != "lstm_block.lstms.1.bias_hh_l0_reverse") missing.push_back(entry);
  }
  extra.emplace_back("fc3.weight", extra.back().second);
  Graph g1, g2, g3;
  s = DescribeCred(missing, "missing.pt", "", "", spec, &g1);
  EXPECT_EQ(s.code(), Status::Code::kNotFound);
  EXPECT_NE(s.message().find("missing.pt: weight 'lstm_block.lstms.1.bias_hh_l0_reverse' is missing"),
            std::string::npos)
      << s.ToString();
  s = DescribeCred(extra, "extra.pt", "", "", spec, &g2);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("extra.pt: weights not used by the architecture: fc3.weight"), std::string::npos)
      << s.ToString();
  ModelSpec longer = spec;
  longer.in_samples = 6000;
  s = DescribeCred(state.entries, "cred.pt", "", "", longer, &g3);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("cred.pt: CRED takes 3 components of 3000 samples"), std::string::npos) << s.ToString();
}

// One station of the bundled minute through `rapid run`, against the Detection trace recomputed
// from the model's own window predictions with SeisBench's stitching rule.
TEST(CredTest, RunStitchesDetectionTracesAsSeisBench) {
  testing::TempDir out;
  const std::string station = std::string(RAPID_SOURCE_DIR) + "/data/texnet-sample/20241215T115800Z_20241215T120100Z/BB01";
  RunOptions opts;
  opts.input = station;
  opts.output_dir = out.path();
  opts.model = "cred";
  opts.weights = kWeights;
  opts.save_probabilities = true;
  opts.progress = RunOptions::Progress::kOff;
  RunReport report;
  Status s = RunPicking(opts, &report).status();
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(report.windows, 12);  // 18002 samples: 0, 1500, …, 15000, and one ending at the last sample

  // The expected trace: the station's block, its windows, the model, SeisBench's merge.
  LoadedModel m;
  ASSERT_TRUE(LoadModel("cred", kWeights, &m).ok());
  const ModelSpec& spec = m.model->Spec();
  std::vector<TraceSegment> pieces;
  for (const auto& e : std::filesystem::directory_iterator(station)) {
    MseedFileContents contents;
    ASSERT_TRUE(ReadMseedFile(e.path().string(), ReaderOptions(), &contents).ok());
    pieces.insert(pieces.end(), contents.segments.begin(), contents.segments.end());
  }
  std::vector<StationBlock> blocks;
  std::vector<std::string> notes;
  ASSERT_TRUE(BuildStationBlocks(MergeSegments(pieces, ReaderOptions(), nullptr), spec, &blocks, &notes).ok());
  ASSERT_EQ(blocks.size(), 1u);
  const StationBlock& b = blocks.front();
  const std::vector<int64_t> starts = WindowStarts(b.samples_per_channel, spec);
  ASSERT_EQ(starts.size(), 12u);
  const int64_t length = static_cast<int64_t>(std::ceil(b.samples_per_channel * 19.0 / 3000.0));
  std::vector<double> sum(static_cast<size_t>(length), 0.0);
  std::vector<int> count(static_cast<size_t>(length), 0);
  std::vector<float> window(3 * 3000), pred(19);
  for (int64_t s0 : starts) {
    NormaliseWindow(b.samples.data(), b.samples_per_channel, 3, s0, 3000, spec.norm, window.data());
    ASSERT_TRUE(m.model->Forward(window.data(), 1, pred.data()).ok());
    const int64_t at = static_cast<int64_t>(static_cast<double>(s0) * (19.0 / 3000.0));
    for (int64_t j = 0; j < 19 && at + j < length; ++j) {
      sum[static_cast<size_t>(at + j)] += pred[static_cast<size_t>(j)];
      count[static_cast<size_t>(at + j)] += 1;
    }
  }
  int64_t defined = length;
  while (defined > 0 && count[static_cast<size_t>(defined - 1)] == 0) --defined;  // trailing NaN trimmed
  ASSERT_EQ(defined, 114);  // the last window covers outputs 95…113; sample 114 has none

  MseedFileContents written;
  ASSERT_TRUE(ReadMseedFile(out.Path("probabilities/4O.BB01.00.CRED_Detection.mseed"), ReaderOptions(), &written).ok());
  ASSERT_EQ(written.segments.size(), 1u);
  const TraceSegment& trace = written.segments.front();
  EXPECT_EQ(trace.start, b.start + b.time_shift_ns);  // the grid start plus the mean shift (11:57:59.999)
  EXPECT_NEAR(trace.rate_hz, 100.0 * 19.0 / 3000.0, 1e-9);
  ASSERT_EQ(static_cast<int64_t>(trace.samples.size()), defined);
  double worst = 0.0;
  for (int64_t i = 0; i < defined; ++i) {
    worst = std::max(worst, std::abs(trace.samples[static_cast<size_t>(i)] - sum[static_cast<size_t>(i)] / count[static_cast<size_t>(i)]));
  }
  std::printf("CRED run: Detection trace vs recomputed SeisBench merge: max |diff| %.3g\n", worst);
  EXPECT_LE(worst, 1e-5);

  // detections.csv holds the triggers of that trace at threshold 0.5.
  std::vector<float> values(trace.samples.begin(), trace.samples.end());
  const auto expected = PickTrace("4O.BB01.00", "Detection", values.data(), defined, trace.start, trace.rate_hz, 0.5);
  EXPECT_FALSE(expected.empty());
  auto rows = testing::ReadCsv(out.Path("detections.csv"));
  ASSERT_EQ(rows.size(), expected.size() + 1);
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_LE(std::llabs(testing::Iso(rows[i + 1][1].c_str()) - expected[i].start_time), 1000);  // µs in the csv
    EXPECT_LE(std::llabs(testing::Iso(rows[i + 1][2].c_str()) - expected[i].end_time), 1000);
    EXPECT_NEAR(std::stod(rows[i + 1][3]), expected[i].peak_value, 1e-6);
    EXPECT_EQ(rows[i + 1][4], "cred");
  }
}

}  // namespace
}  // namespace rapid
