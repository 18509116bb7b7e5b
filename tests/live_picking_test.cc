// The picking pipeline fed as a live stream feeds it — a few seconds of every channel at a time,
// one-window pieces, picks delivered as soon as they are final — gives the picks of the whole data
// pushed at once (rapid run's way), at the same batch size.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include "engine/picking_pipeline.h"
#include "io/mseed_reader.h"
#include "io/segment_merge.h"
#include "live/resume_log.h"
#include "models/registry.h"
#include "picking/picker.h"

namespace rapid {
namespace {

const std::string kChunk = std::string(RAPID_SOURCE_DIR) + "/data/texnet-sample/20241215T115800Z_20241215T120100Z";

std::vector<TraceSegment> StationSegments(const std::string& station) {
  std::vector<TraceSegment> all;
  for (const auto& e : std::filesystem::directory_iterator(kChunk + "/" + station)) {
    MseedFileContents contents;
    EXPECT_TRUE(ReadMseedFile(e.path().string(), ReaderOptions(), &contents).ok());
    all.insert(all.end(), contents.segments.begin(), contents.segments.end());
  }
  return MergeSegments(all, ReaderOptions(), nullptr);
}

// The samples of `s` at times in [from, to).
TraceSegment Cut(const TraceSegment& s, NanoTime from, NanoTime to) {
  TraceSegment out = s;
  out.samples.clear();
  out.start = kUnsetTime;
  for (size_t i = 0; i < s.samples.size(); ++i) {
    const NanoTime t = s.SampleTimeAt(static_cast<int64_t>(i));
    if (t < from || t >= to) continue;
    if (out.start == kUnsetTime) out.start = t;
    out.samples.push_back(s.samples[i]);
  }
  return out;
}

bool SamePick(const Pick& a, const Pick& b) {
  return a.trace_id == b.trace_id && a.phase == b.phase && a.peak_time == b.peak_time && a.start_time == b.start_time &&
         a.end_time == b.end_time && a.peak_value == b.peak_value;
}

// Every station of the sample; with `gap`, each loses 40 s (more than a window) in the middle, so
// its stream ends one block and starts another.
std::vector<std::vector<TraceSegment>> SampleStations(bool gap) {
  std::vector<std::vector<TraceSegment>> data;
  for (const auto& e : std::filesystem::directory_iterator(kChunk)) {
    std::vector<TraceSegment> segments = StationSegments(e.path().filename().string());
    if (gap) {
      std::vector<TraceSegment> cut;
      for (const TraceSegment& s : segments) {
        cut.push_back(Cut(s, s.start, s.start + 60 * kNanosPerSecond));
        cut.push_back(Cut(s, s.start + 100 * kNanosPerSecond, s.LastSampleTime() + 1));
      }
      segments = MergeSegments(cut, ReaderOptions(), nullptr);
    }
    data.push_back(std::move(segments));
  }
  return data;
}

// The picks of every station's data pushed whole, as `rapid run` pushes it, at batch size 4.
std::vector<Pick> WholeDataPicks(Model* model, const std::map<std::string, double>& thresholds,
                                 const std::vector<std::vector<TraceSegment>>& data) {
  std::mutex mu;
  std::vector<Pick> whole;
  PipelineOptions opts;
  opts.annotate.batch_size = 4;
  opts.thresholds = thresholds;
  PickingPipeline pipeline({model}, opts, [&](BlockOutput&& b) {
    std::lock_guard<std::mutex> lock(mu);
    whole.insert(whole.end(), b.picks.begin(), b.picks.end());
  }, [](uint64_t, const std::string& id, const std::string& message) { ADD_FAILURE() << id << ": " << message; },
                           [](uint64_t) {});
  std::vector<std::string> notes;
  for (const auto& segments : data) {
    const uint64_t s = pipeline.OpenStream();
    EXPECT_TRUE(pipeline.Push(s, segments, &notes).ok());
    EXPECT_TRUE(pipeline.CloseStream(s, &notes).ok());
  }
  pipeline.Finish();
  return whole;
}

// The data pushed whole, and 2.5 s of every channel at a time with one-window pieces and picks
// delivered as soon as final: the same picks.
void ExpectLivePicksEqualTheWholeDatas(const std::vector<std::vector<TraceSegment>>& data) {
  LoadedModel m;
  ASSERT_TRUE(LoadModel("phasenet", "", &m).ok());
  const std::map<std::string, double> thresholds = {{"P", 0.1}, {"S", 0.1}};
  auto fail = [](uint64_t, const std::string& id, const std::string& message) { ADD_FAILURE() << id << ": " << message; };

  std::mutex mu;
  std::vector<Pick> whole = WholeDataPicks(m.model.get(), thresholds, data);

  std::vector<Pick> live;
  std::atomic<bool> closing{false};
  int before_close = 0;
  {
    PipelineOptions opts;
    opts.annotate.batch_size = 4;
    opts.annotate.max_batch_wait_ms = 5;  // a live stream's windows do not wait for a full batch
    opts.piece_windows = 1;
    opts.thresholds = thresholds;
    opts.on_final_picks = [&](uint64_t, FinalPicks&& f) {
      EXPECT_TRUE(f.detections.empty());
      for (const Pick& p : f.picks) {
        EXPECT_GT(f.data_until, p.end_time);      // decided by data after the trigger
        EXPECT_LT(p.start_time, f.settled_until);  // delivered picks lie before the settled time
      }
      std::lock_guard<std::mutex> lock(mu);
      if (!closing) before_close += static_cast<int>(f.picks.size());
      live.insert(live.end(), f.picks.begin(), f.picks.end());
    };
    PickingPipeline pipeline({m.model.get()}, opts, [&](BlockOutput&& b) {
      EXPECT_TRUE(b.picks.empty());
    }, fail, [](uint64_t) {});
    std::vector<std::string> notes;
    std::vector<uint64_t> ids;
    for (size_t k = 0; k < data.size(); ++k) ids.push_back(pipeline.OpenStream());
    NanoTime first = data[0][0].start, last = first;
    for (const auto& segments : data) {
      for (const TraceSegment& s : segments) {
        first = std::min(first, s.start);
        last = std::max(last, s.LastSampleTime());
      }
    }
    const NanoTime step = kNanosPerSecond * 5 / 2;
    for (NanoTime t = first; t <= last; t += step) {
      for (size_t k = 0; k < data.size(); ++k) {
        std::vector<TraceSegment> part;
        for (const TraceSegment& s : data[k]) {
          TraceSegment c = Cut(s, t, t + step);
          if (!c.samples.empty()) part.push_back(std::move(c));
        }
        ASSERT_TRUE(pipeline.Push(ids[k], std::move(part), &notes).ok());
      }
    }
    // What the data decide is picked before the streams end.
    for (int i = 0; i < 200; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      std::lock_guard<std::mutex> lock(mu);
      if (before_close > 0 && i > 50) break;
    }
    closing = true;
    for (uint64_t id : ids) ASSERT_TRUE(pipeline.CloseStream(id, &notes).ok());
    pipeline.Finish();
  }
  SortPicks(&whole);
  SortPicks(&live);
  ASSERT_GE(whole.size(), 5u);
  ASSERT_EQ(live.size(), whole.size());
  for (size_t i = 0; i < whole.size(); ++i) {
    EXPECT_TRUE(SamePick(live[i], whole[i])) << i << ": " << live[i].trace_id << " " << live[i].phase << " "
                                             << FormatIsoMicros(live[i].peak_time) << " vs "
                                             << FormatIsoMicros(whole[i].peak_time);
  }
  EXPECT_GT(before_close, 0);
}

TEST(LivePickingTest, PicksOfSmallPartsDeliveredWhenFinalEqualTheWholeDatasPicks) {
  ExpectLivePicksEqualTheWholeDatas(SampleStations(/*gap=*/false));
}

// A long gap ends a station's block mid-stream; the block after it is picked as in an archive.
TEST(LivePickingTest, ALongGapRestartsTheStationsBlockCleanly) {
  ExpectLivePicksEqualTheWholeDatas(SampleStations(/*gap=*/true));
}

// The time span of every station's data.
void DataSpan(const std::vector<std::vector<TraceSegment>>& data, NanoTime* first, NanoTime* last) {
  *first = data[0][0].start;
  *last = *first;
  for (const auto& segments : data) {
    for (const TraceSegment& s : segments) {
      *first = std::min(*first, s.start);
      *last = std::max(*last, s.LastSampleTime());
    }
  }
}

// A live run stopped (as by a kill) halfway through: its picks delivered by then, and each stream's
// latest settled point and window grid. Then a second pipeline fed each station from the restart
// point (RestartDataFrom) and picking from the settled time: the two runs' picks together are the
// whole data's, none twice. The stations at the model rate (100 Hz): a resampled one's output is
// released only in the resampler's pieces (dsp/resample_stream.h), minutes long.
TEST(LivePickingTest, ARunRestartedFromItsSettledPointsContinuesItsPicksExactly) {
  std::vector<std::vector<TraceSegment>> data;
  for (std::vector<TraceSegment>& segments : SampleStations(/*gap=*/false)) {
    if (segments.at(0).rate_hz == 100.0) data.push_back(std::move(segments));
  }
  ASSERT_GE(data.size(), 4u);
  LoadedModel m;
  ASSERT_TRUE(LoadModel("phasenet", "", &m).ok());
  const ModelSpec& spec = m.model->Spec();
  const std::map<std::string, double> thresholds = {{"P", 0.1}, {"S", 0.1}};
  auto fail = [](uint64_t, const std::string& id, const std::string& message) { ADD_FAILURE() << id << ": " << message; };
  NanoTime first = 0, last = 0;
  DataSpan(data, &first, &last);
  const NanoTime step = kNanosPerSecond * 5 / 2;
  NanoTime kill = first;  // the first run is fed up to here

  std::mutex mu;
  std::vector<Pick> whole, before, after;
  std::map<uint64_t, FinalPicks> settled;  // stream → its latest (picks moved out)
  auto run = [&](bool restart, std::vector<Pick>* out) {
    PipelineOptions opts;
    opts.annotate.batch_size = 4;
    opts.annotate.max_batch_wait_ms = 5;
    opts.piece_windows = 1;
    opts.thresholds = thresholds;
    opts.on_final_picks = [&](uint64_t stream, FinalPicks&& f) {
      std::lock_guard<std::mutex> lock(mu);
      out->insert(out->end(), f.picks.begin(), f.picks.end());
      f.picks.clear();
      if (!restart) settled[stream] = std::move(f);
    };
    PickingPipeline pipeline({m.model.get()}, opts, [](BlockOutput&&) {}, fail, [](uint64_t) {});
    std::vector<std::string> notes;
    std::vector<uint64_t> ids;
    std::vector<NanoTime> data_from(data.size(), first);
    for (size_t k = 0; k < data.size(); ++k) {
      if (!restart) {
        ids.push_back(pipeline.OpenStream());
        continue;
      }
      const FinalPicks& f = settled.at(k);
      data_from[k] = RestartDataFrom(f.windows_start, f.settled_until, spec.rate_hz, spec.in_samples, spec.StrideSamples());
      EXPECT_LE(data_from[k] + static_cast<NanoTime>(static_cast<double>(spec.in_samples - 1) * 1e9 / spec.rate_hz), f.settled_until);
      ids.push_back(pipeline.OpenStream(f.settled_until));
    }
    for (NanoTime t = first; t <= (restart ? last : kill); t += step) {
      for (size_t k = 0; k < data.size(); ++k) {
        std::vector<TraceSegment> part;
        for (const TraceSegment& s : data[k]) {
          TraceSegment c = Cut(s, std::max(t, data_from[k] - 5'000'000), t + step);  // from data_from (to half a sample)
          if (!c.samples.empty()) part.push_back(std::move(c));
        }
        ASSERT_TRUE(pipeline.Push(ids[k], std::move(part), &notes).ok());
      }
    }
    if (restart) {
      for (uint64_t id : ids) ASSERT_TRUE(pipeline.CloseStream(id, &notes).ok());
    }
    pipeline.Finish();  // the first run is "killed": its open streams' tails are never picked
  };
  whole = WholeDataPicks(m.model.get(), thresholds, data);
  SortPicks(&whole);
  ASSERT_GE(whole.size(), 5u);
  // Killed at 40 … 75 % of the data: the settled points fall before and after picks, with picks
  // between the restart's data start and its settled point (which it must not give again).
  size_t across = 0;  // stations with picks on both sides of a restart
  for (const double at : {0.4, 0.5, 0.6, 0.75}) {
    kill = first + static_cast<NanoTime>(at * static_cast<double>(last - first));
    before.clear();
    after.clear();
    settled.clear();
    run(false, &before);
    ASSERT_EQ(settled.size(), data.size());
    run(true, &after);
    for (size_t k = 0; k < data.size(); ++k) {
      const std::string id = data[k][0].id.network + "." + data[k][0].id.station + "." + data[k][0].id.location;
      bool early = false, late = false;
      for (const Pick& p : before) {
        if (p.trace_id != id) continue;
        EXPECT_LT(p.start_time, settled.at(k).settled_until) << at;
        early = true;
      }
      for (const Pick& p : after) {
        if (p.trace_id != id) continue;
        EXPECT_GE(p.start_time, settled.at(k).settled_until) << at;
        late = true;
      }
      across += early && late;
    }
    std::vector<Pick> both = before;
    both.insert(both.end(), after.begin(), after.end());
    SortPicks(&both);
    ASSERT_EQ(both.size(), whole.size()) << at;
    for (size_t i = 0; i < whole.size(); ++i) {
      EXPECT_TRUE(SamePick(both[i], whole[i])) << at << " " << i << ": " << both[i].trace_id << " " << both[i].phase << " "
                                               << FormatIsoMicros(both[i].peak_time) << " vs "
                                               << FormatIsoMicros(whole[i].peak_time);
    }
  }
  EXPECT_GE(across, 2u);
}

}  // namespace
}  // namespace rapid
