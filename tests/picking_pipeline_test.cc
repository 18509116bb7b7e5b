// The three parts RunPicking is composed of, each on its own: work units listed from files, the
// long-lived picking pipeline fed by any producer, and the outputs written from the pick spills.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <memory>
#include <mutex>
#include <filesystem>
#include <future>
#include <thread>
#include <tuple>

#include "engine/picking_pipeline.h"
#include "engine/station_block.h"
#include "engine/windower.h"
#include "engine/work_units.h"
#include "fake_model.h"
#include "picking/picker.h"
#include "sinks/run_outputs.h"
#include "test_util.h"

namespace rapid {
namespace {

using testing::FakeModel;
using testing::GatedModel;
constexpr NanoTime kT0 = 1734263880LL * kNanosPerSecond;  // 2024-12-15T11:58:00Z

InputFile File(const std::string& path, NanoTime chunk_start = kUnsetTime) {
  InputFile f;
  f.path = path;
  f.chunk_start = chunk_start;
  f.chunk_end = chunk_start == kUnsetTime ? kUnsetTime : chunk_start + 60 * kNanosPerSecond;
  return f;
}

TEST(WorkUnitsTest, FilesGroupedByStationInTimeGroups) {
  const NanoTime c0 = kT0, c1 = kT0 + 60 * kNanosPerSecond;
  const std::vector<InputFile> files = {
      File("/a/c1/AT01/4O.AT01.00.HHZ__20241215T115900Z__20241215T120000Z.mseed", c1),
      File("/a/c0/AT01/4O.AT01.00.HHZ__20241215T115800Z__20241215T115900Z.mseed", c0),
      File("/a/c0/AT01/4O.AT01.00.HHE__20241215T115800Z__20241215T115900Z.mseed", c0),
      File("/a/c0/BB01/4O.BB01.00.HHZ__20241215T115800Z__20241215T115900Z.mseed", c0),
      File("/a/arrivals.csv")};
  std::vector<std::string> notes;
  const std::vector<WorkUnit> units = ListWorkUnits(files, InputLayout::kChunks, 0, &notes);
  ASSERT_EQ(units.size(), 2u);
  EXPECT_EQ(units[0].name, "4O.AT01.00");
  ASSERT_EQ(units[0].files.size(), 3u);
  EXPECT_EQ(units[0].files[0]->path, files[2].path);  // chunk c0, by path
  EXPECT_EQ(units[0].files[1]->path, files[1].path);
  EXPECT_EQ(units[0].files[2]->path, files[0].path);  // chunk c1
  EXPECT_EQ(TimeGroupEnd(units[0].files, 0), 2u);
  EXPECT_EQ(TimeGroupEnd(units[0].files, 2), 3u);
  EXPECT_EQ(units[1].name, "4O.BB01.00");
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find("arrivals.csv: outside the timechunk folders"), std::string::npos);

  notes.clear();
  const std::vector<WorkUnit> first = ListWorkUnits(files, InputLayout::kChunks, 1, &notes);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].name, "4O.AT01.00");
  EXPECT_NE(notes.back().find("--max-stations 1: 1 of 2 stations not read"), std::string::npos);
}

// One instrument's segments: a burst of large values lifts the fake model's sigmoid over 0.5.
std::vector<TraceSegment> Station(const std::string& sta, int64_t samples, int64_t burst_at) {
  std::vector<TraceSegment> segs;
  for (const char* cha : {"HHZ", "HHN", "HHE"}) {
    TraceSegment s;
    s.id = {"XX", sta, "00", cha};
    s.start = kT0;
    s.rate_hz = 100.0;
    s.samples.assign(static_cast<size_t>(samples), 0.0);
    for (int64_t i = burst_at; i < burst_at + 30 && i < samples; ++i) s.samples[static_cast<size_t>(i)] = 50.0;
    segs.push_back(std::move(s));
  }
  return segs;
}

struct Collected {
  std::mutex mu;
  std::map<uint64_t, std::vector<Pick>> picks;
  std::vector<uint64_t> done;  // streams in the order they finished
};

TEST(PickingPipelineTest, AStreamClosedEarlyIsFinishedWhileTheOthersGoOn) {
  FakeModel m1, m2;
  Collected got;
  PipelineOptions opts;
  opts.annotate.batch_size = 4;
  opts.piece_windows = 5;
  {
    PickingPipeline pipeline(
        {&m1, &m2}, opts,
        [&](BlockOutput&& b) {
          std::lock_guard<std::mutex> lock(got.mu);
          auto& v = got.picks[b.stream];
          v.insert(v.end(), b.picks.begin(), b.picks.end());
        },
        [](uint64_t, const std::string&, const std::string& m) { ADD_FAILURE() << m; },
        [&](uint64_t stream) {
          std::lock_guard<std::mutex> lock(got.mu);
          got.done.push_back(stream);
        });
    std::vector<std::string> notes;
    const uint64_t a = pipeline.OpenStream(), b = pipeline.OpenStream();
    ASSERT_NE(a, b);
    ASSERT_TRUE(pipeline.Push(a, Station("AAA", 2000, 700), &notes).ok());
    ASSERT_TRUE(pipeline.Push(b, Station("BBB", 1000, 300), &notes).ok());
    ASSERT_TRUE(pipeline.CloseStream(a, &notes).ok());
    // Stream a finishes although b is still open (its windows need no more data).
    for (int i = 0; i < 2000; ++i) {
      {
        std::lock_guard<std::mutex> lock(got.mu);
        if (!got.done.empty()) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    {
      std::lock_guard<std::mutex> lock(got.mu);
      ASSERT_EQ(got.done, std::vector<uint64_t>{a});
    }
    // Later data of b, then its end.
    std::vector<TraceSegment> more = Station("BBB", 1000, 500);
    for (TraceSegment& s : more) s.start = kT0 + 10 * kNanosPerSecond;
    ASSERT_TRUE(pipeline.Push(b, std::move(more), &notes).ok());
    ASSERT_TRUE(pipeline.CloseStream(b, &notes).ok());
    pipeline.Finish();
    EXPECT_FALSE(pipeline.stopped());
  }
  EXPECT_EQ(got.done.size(), 2u);
  // Each stream's picks are those of its whole trace picked at once.
  for (auto [stream, sta, samples, bursts] :
       {std::tuple{uint64_t{0}, "AAA", int64_t{2000}, std::vector<int64_t>{700}},
        std::tuple{uint64_t{1}, "BBB", int64_t{2000}, std::vector<int64_t>{300, 1500}}}) {
    std::vector<TraceSegment> whole = Station(sta, samples, bursts[0]);
    for (size_t k = 1; k < bursts.size(); ++k) {
      for (TraceSegment& s : whole) {
        for (int64_t i = bursts[k]; i < bursts[k] + 30; ++i) s.samples[static_cast<size_t>(i)] = 50.0;
      }
    }
    FakeModel m;
    std::vector<StationBlock> blocks;
    std::vector<std::string> notes;
    ASSERT_TRUE(BuildStationBlocks(whole, m.Spec(), &blocks, &notes).ok());
    ASSERT_EQ(blocks.size(), 1u);
    std::vector<Annotation> traces;
    AnnotateStats stats;
    AnnotateBlocks({&m}, blocks, AnnotateOptions{}, &traces, &stats);
    ASSERT_EQ(traces.size(), 1u);
    const auto expected = PickTrace(traces[0].trace_id, "P", traces[0].traces[1].data(),
                                    static_cast<int64_t>(traces[0].traces[1].size()), traces[0].start,
                                    traces[0].rate_hz, 0.3);
    std::vector<Pick> mine;
    for (const Pick& p : got.picks[stream]) {
      if (p.phase == "P") mine.push_back(p);
    }
    ASSERT_FALSE(expected.empty()) << sta;
    ASSERT_EQ(mine.size(), expected.size()) << sta;
    for (size_t i = 0; i < mine.size(); ++i) {
      EXPECT_EQ(mine[i].peak_time, expected[i].peak_time) << sta;
      EXPECT_EQ(mine[i].peak_value, expected[i].peak_value) << sta;
    }
  }
}

// What a pipeline with cancelled streams saw: windows reported dropped, failures, blocks, done streams.
struct CancelRecord {
  std::mutex mu;
  int64_t cancelled = 0, blocks = 0;
  std::vector<std::string> failures;
  std::vector<uint64_t> done;
};

// A pipeline of pieces of 5 windows, batches of 4 and a queue that holds about one piece, which
// records into *r.
std::unique_ptr<PickingPipeline> OnePieceQueuePipeline(Model* model, CancelRecord* r) {
  PipelineOptions opts;
  opts.annotate.batch_size = 4;
  opts.piece_windows = 5;
  opts.annotate.queue_capacity_bytes = 3 * 4 * (4 * model->Spec().StrideSamples() + model->Spec().in_samples);
  opts.on_windows_cancelled = [r](int64_t n) {
    std::lock_guard<std::mutex> lock(r->mu);
    r->cancelled += n;
  };
  return std::make_unique<PickingPipeline>(
      std::vector<Model*>{model}, opts,
      [r](BlockOutput&&) {
        std::lock_guard<std::mutex> lock(r->mu);
        r->blocks += 1;
      },
      [r](uint64_t, const std::string&, const std::string& message) {
        std::lock_guard<std::mutex> lock(r->mu);
        r->failures.push_back(message);
      },
      [r](uint64_t stream) {
        std::lock_guard<std::mutex> lock(r->mu);
        r->done.push_back(stream);
      });
}

// A stream cancelled before its data arrives runs none of it, and its Push does not wait for room
// behind another stream's windows (a queue of one piece, held by an instance at the gate): every
// window is reported dropped, its block still ends, with the reason, and the stream is done.
TEST(PickingPipelineTest, ACancelledStreamsDataIsDroppedAtOnce) {
  GatedModel m;
  CancelRecord r;
  std::unique_ptr<PickingPipeline> pipeline = OnePieceQueuePipeline(&m, &r);
  std::vector<std::string> notes;
  const uint64_t live = pipeline->OpenStream(), dead = pipeline->OpenStream();
  const int64_t live_samples = 3 * m.Spec().StrideSamples() + m.Spec().in_samples;  // one batch of 4 windows
  ASSERT_TRUE(pipeline->Push(live, Station("AAA", live_samples, 50), &notes).ok());
  ASSERT_TRUE(pipeline->CloseStream(live, &notes).ok());
  while (!m.entered_) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  pipeline->CancelStream(dead, "past its deadline");
  auto pushed = std::async(std::launch::async, [&] {
    std::vector<std::string> mine;
    return pipeline->Push(dead, Station("BBB", 2000, 700), &mine).ok() && pipeline->CloseStream(dead, &mine).ok();
  });
  const bool prompt = pushed.wait_for(std::chrono::seconds(5)) == std::future_status::ready;
  m.open_ = true;
  EXPECT_TRUE(prompt) << "the cancelled stream's Push waited for room";
  EXPECT_TRUE(pushed.get());
  pipeline->Finish();
  EXPECT_EQ(pipeline->stats().windows, static_cast<int64_t>(WindowStarts(live_samples, m.Spec()).size()));
  EXPECT_EQ(r.cancelled, static_cast<int64_t>(WindowStarts(2000, m.Spec()).size()));
  EXPECT_EQ(r.blocks, 2);
  EXPECT_EQ(r.done.size(), 2u);
  ASSERT_FALSE(r.failures.empty());
  for (const std::string& f : r.failures) EXPECT_NE(f.find("past its deadline"), std::string::npos) << f;
}

// A cancel while the producer waits for room (a queue of one piece, an instance held in its first
// batch): the pieces it submits afterwards, the one it was waiting with included, are not run.
TEST(PickingPipelineTest, ACancelReachesThePiecesOfAPushInProgress) {
  GatedModel m;
  CancelRecord r;
  std::unique_ptr<PickingPipeline> pipeline = OnePieceQueuePipeline(&m, &r);
  std::vector<std::string> notes;
  const uint64_t s = pipeline->OpenStream();
  Status pushed;
  std::thread producer([&] { pushed = pipeline->Push(s, Station("AAA", 6000, 700), &notes); });
  while (!m.entered_) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the producer waits for room
  pipeline->CancelStream(s, "past its deadline");
  m.open_ = true;
  producer.join();
  ASSERT_TRUE(pushed.ok());
  ASSERT_TRUE(pipeline->CloseStream(s, &notes).ok());
  pipeline->Finish();
  const int64_t total = static_cast<int64_t>(WindowStarts(6000, m.Spec()).size());
  EXPECT_EQ(pipeline->stats().windows + r.cancelled, total);
  EXPECT_LE(pipeline->stats().windows, 4);  // the batch held at the gate
  EXPECT_EQ(r.done, std::vector<uint64_t>{s});
}

TEST(RunOutputsTest, WritesEveryAskedFormatFromTheSpills) {
  testing::TempDir dir;
  PickSpill picks, detections;
  ASSERT_TRUE(picks.Open(dir.Path(".p")).ok());
  ASSERT_TRUE(detections.Open(dir.Path(".d")).ok());
  Pick p;
  p.trace_id = "4O.AT01.00";
  p.phase = "P";
  p.start_time = kT0 + kNanosPerSecond;
  p.peak_time = kT0 + 2 * kNanosPerSecond;
  p.end_time = kT0 + 3 * kNanosPerSecond;
  p.peak_value = 0.5f;
  ASSERT_TRUE(picks.Add({p}).ok());
  RunOutputOptions out;
  out.dir = dir.path();
  out.model_name = "phasenet";
  out.quakeml = true;
  out.eqcctpro = true;
  out.creation_time = kT0;
  out.instrument_by_station = {{"4O.AT01.00", "HH"}};
  ASSERT_TRUE(WriteRunOutputs(out, picks, detections).ok());
  const auto rows = testing::ReadCsv(dir.Path("picks.csv"));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1][2], "2024-12-15T11:58:02.000000Z");
  EXPECT_TRUE(std::filesystem::exists(dir.Path("picks.xml")));
  EXPECT_FALSE(std::filesystem::exists(dir.Path("detections.csv")));  // no detection label
  // No chunks given: one EQCCTPro chunk covering every pick.
  const auto listing = dir.Listing();
  bool eqcctpro_csv = false;
  for (const std::string& f : listing) {
    eqcctpro_csv = eqcctpro_csv || (f.rfind("eqcctpro/", 0) == 0 && f.find("AT01_outputs/X_prediction_results.csv") != std::string::npos);
  }
  EXPECT_TRUE(eqcctpro_csv);
}

}  // namespace
}  // namespace rapid
