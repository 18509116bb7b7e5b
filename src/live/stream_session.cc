#include "live/stream_session.h"

#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/atomic_file.h"
#include "core/read_file.h"
#include "engine/picking_pipeline.h"
#include "engine/station_block.h"
#include "io/mseed_reader.h"
#include "live/archive_replay.h"
#include "live/pick_log.h"
#include "live/station_feed.h"
#include "models/registry.h"

namespace rapid {

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::chrono::seconds kStateEvery{2};
constexpr size_t kArrivalsKept = 4096;  // records per stream remembered for the latency (hours of data)

double ProcessCpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + 1e-6 * static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}
constexpr const char* kStateFormat = "rapid-stream-state/1";

}  // namespace

Status ReadStreamState(const std::string& path, std::map<std::string, uint64_t>* last_sequences) {
  last_sequences->clear();
  if (!std::filesystem::exists(path)) return Status::OK();  // a first start
  std::string text;
  RAPID_RETURN_IF_ERROR(ReadWholeFile(path, &text));
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || j.value("format", "") != kStateFormat || !j.contains("stations") || !j["stations"].is_object()) {
    return Status::Corruption(path + ": not a rapid stream state file (" + kStateFormat + ")");
  }
  for (const auto& [station, seq] : j["stations"].items()) {
    if (!seq.is_number_unsigned()) return Status::Corruption(path + ": station " + station + " has no sequence number");
    (*last_sequences)[station] = seq.get<uint64_t>();
  }
  return Status::OK();
}

Status WriteStreamState(const std::string& path, const std::string& server, const std::map<std::string, uint64_t>& last) {
  nlohmann::json j = {{"format", kStateFormat}, {"seedlink", server}, {"stations", nlohmann::json::object()}};
  for (const auto& [station, seq] : last) j["stations"][station] = seq;
  return WriteFileAtomically(path, j.dump(1) + "\n");
}

namespace {

// The pipeline of a live stream: the plan's instances and batches, one-window pieces.
PipelineOptions LivePipelineOptions(const StreamOptions& opts, const RunPlan& plan, const Executors& executors) {
  PipelineOptions p;
  p.piece_windows = 1;  // a window runs as soon as its data exist
  p.thresholds = opts.thresholds;
  p.annotate.batch_size = plan.batch_size;
  p.annotate.instance_batch_sizes = executors.batch_sizes;
  p.annotate.instance_threads = executors.threads;
  p.annotate.intra_threads = plan.intra_threads;
  p.annotate.cpus = plan.cpus;
  p.annotate.queue_capacity_bytes = plan.queue_capacity_bytes;
  p.annotate.max_batch_wait_ms = opts.max_batch_delay_ms;
  return p;
}

// Pick latency: when each stream's channels brought which data, and, per pick written while
// streaming, the time since the last of them brought what it waited for. Thread-safe.
class PickLatency {
 public:
  void Arrived(uint64_t stream, const std::string& channel, NanoTime record_end) {
    std::lock_guard<std::mutex> lock(mu_);
    Log& log = arrivals_[stream][channel];
    log.emplace_back(record_end, Clock::now());
    if (log.size() > kArrivalsKept) log.pop_front();
  }
  void Written(uint64_t stream, NanoTime data_until, size_t picks) {
    const auto now = Clock::now();
    std::lock_guard<std::mutex> lock(mu_);
    std::optional<Clock::time_point> complete;  // when the last of the channels brought the data
    for (const auto& [channel, log] : arrivals_[stream]) {
      for (const auto& [end, arrived] : log) {
        if (end < data_until) continue;
        complete = complete ? std::max(*complete, arrived) : arrived;
        break;
      }
    }
    if (complete) latencies_s_.insert(latencies_s_.end(), picks, std::chrono::duration<double>(now - *complete).count());
  }
  void Summarise(StreamSummary* summary) {
    std::lock_guard<std::mutex> lock(mu_);
    if (latencies_s_.empty()) return;
    std::sort(latencies_s_.begin(), latencies_s_.end());
    auto at = [&](double q) { return latencies_s_[static_cast<size_t>(q * static_cast<double>(latencies_s_.size() - 1))]; };
    summary->latency_picks = static_cast<int64_t>(latencies_s_.size());
    summary->latency_p50_s = at(0.50);
    summary->latency_p99_s = at(0.99);
  }

 private:
  using Log = std::deque<std::pair<NanoTime, Clock::time_point>>;  // (record end, arrival)
  std::mutex mu_;
  std::map<uint64_t, std::map<std::string, Log>> arrivals_;  // stream → channel → log
  std::vector<double> latencies_s_;
};

// The instruments of a live stream, each a pipeline stream fed through its LiveStationFeed. Used
// from one thread (the records' reader, then the stopping one).
class LiveStations {
 public:
  LiveStations(const StreamOptions& opts, PickingPipeline* pipeline, PickLatency* latency)
      : opts_(opts), pipeline_(pipeline), latency_(latency) {}

  // A record's samples: selected (a replay; a server applies the selectors itself), then fed.
  void OnRecord(const std::string& station_id, uint64_t sequence, std::string_view record, StreamSummary* summary) {
    MseedFileContents contents;
    if (Status s = DecodeMseedBytes(record, station_id + " packet " + std::to_string(sequence), ReaderOptions(), &contents);
        !s.ok() || contents.segments.empty()) {
      summary->undecodable += 1;
      return;
    }
    summary->records += 1;
    for (TraceSegment& seg : contents.segments) {
      const auto selected = [&](const StreamSelector& s) {
        return s.Matches(seg.id.network, seg.id.station, seg.id.location, seg.id.channel);
      };
      if (!opts_.replay.empty() && std::none_of(opts_.seedlink.selectors.begin(), opts_.seedlink.selectors.end(), selected)) {
        continue;
      }
      auto [it, fresh] = stations_.try_emplace(InstrumentKey(seg.id));
      Station& st = it->second;
      if (fresh) {
        st.stream = pipeline_->OpenStream();
        st.feed = std::make_unique<LiveStationFeed>(opts_.max_channel_lag_ns);
      }
      latency_->Arrived(st.stream, seg.id.channel, seg.SampleTimeAt(static_cast<int64_t>(seg.samples.size())));
      st.feed->Add(std::move(seg));
      Push(st, st.feed->TakeReady());
    }
  }

  // Every station's tail, as at the end of an archive.
  void FinishAll(StreamSummary* summary) {
    for (auto& [key, st] : stations_) {
      Push(st, st.feed->TakeAll());
      std::vector<std::string> notes;
      if (Status s = pipeline_->CloseStream(st.stream, &notes); !s.ok()) spdlog::warn("{}", s.message());
      summary->dropped_records += st.feed->dropped_records();
    }
    summary->stations = static_cast<int64_t>(stations_.size());
  }

 private:
  struct Station {
    uint64_t stream = 0;
    std::unique_ptr<LiveStationFeed> feed;
  };
  void Push(Station& st, std::vector<TraceSegment> part) {
    if (part.empty()) return;
    std::vector<std::string> notes;
    if (Status s = pipeline_->Push(st.stream, std::move(part), &notes); !s.ok()) spdlog::warn("{}", s.message());
    for (const std::string& n : notes) spdlog::debug("{}", n);
  }

  const StreamOptions& opts_;
  PickingPipeline* pipeline_;
  PickLatency* latency_;
  std::map<std::string, Station> stations_;  // by instrument key
};

}  // namespace

Status RunStream(const StreamOptions& opts, const std::atomic<bool>& stop, StreamSummary* summary) {
  *summary = StreamSummary();
  const auto started = Clock::now();
  LoadedModel loaded;
  RAPID_RETURN_IF_ERROR(LoadModel(opts.model, opts.weights, &loaded));
  RunPlan plan;
  RAPID_RETURN_IF_ERROR(PlanRun(opts.plan, loaded, &plan));
  Executors executors;
  RAPID_RETURN_IF_ERROR(LoadExecutors(plan, loaded, &executors));
  PickLog log(opts.output_dir, loaded.name, opts.jsonl_stdout, opts.quakeml);
  RAPID_RETURN_IF_ERROR(log.Open());
  std::map<std::string, uint64_t> last;
  if (!opts.state_path.empty()) RAPID_RETURN_IF_ERROR(ReadStreamState(opts.state_path, &last));

  std::atomic<int64_t> write_failures{0};
  auto report_write = [&](const Status& s) {
    if (!s.ok() && write_failures++ == 0) spdlog::error("{}", s.message());
  };
  PickLatency latency;
  std::atomic<bool> streaming{true};  // the tails' picks wait for the stop, not for data
  PipelineOptions p = LivePipelineOptions(opts, plan, executors);
  p.on_final_picks = [&](uint64_t stream, std::vector<Pick>&& picks, std::vector<Pick>&&, NanoTime data_until) {
    const size_t n = picks.size();
    const Status written = log.Write(std::move(picks));
    report_write(written);
    if (written.ok() && streaming) latency.Written(stream, data_until, n);
  };
  PickingPipeline pipeline(
      executors.instances, p, [](BlockOutput&&) {},
      [](uint64_t, const std::string& id, const std::string& message) { spdlog::warn("{}: {}", id, message); },
      [](uint64_t) {});
  LiveStations stations(opts, &pipeline, &latency);
  auto on_record = [&](const std::string& station_id, uint64_t sequence, std::string_view record) {
    stations.OnRecord(station_id, sequence, record, summary);
  };

  // The records come from the SeedLink client, or from an archive played as if live.
  std::unique_ptr<SeedLinkClient> client;
  ArchiveReplay replay;
  if (opts.replay.empty()) {
    client = std::make_unique<SeedLinkClient>(opts.seedlink, last, on_record,
                                              [](const std::string& message) { spdlog::warn("{}", message); });
  } else {
    RAPID_RETURN_IF_ERROR(ArchiveReplay::Open(opts.replay, opts.replay_speed, &replay));
    spdlog::info("replaying {} records over {:.1f} s of data at {}x", replay.records(),
                 static_cast<double>(replay.span_ns()) / 1e9, opts.replay_speed);
  }
  std::atomic<bool> client_stop{false}, source_done{false};
  std::thread reader([&] {
    if (client) {
      client->Run(client_stop);
    } else {
      replay.Run(client_stop, on_record);
    }
    source_done = true;
  });
  const std::string server = opts.seedlink.host + ":" + std::to_string(opts.seedlink.port);
  auto save_state = [&] {
    if (opts.state_path.empty() || !client) return;
    if (Status s = WriteStreamState(opts.state_path, server, client->last_sequences()); !s.ok()) spdlog::error("{}", s.message());
  };
  auto next_save = Clock::now() + kStateEvery;
  while (!stop && !source_done) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (Clock::now() >= next_save) {
      save_state();
      next_save += kStateEvery;
    }
    report_write(log.Flush(false));
  }
  client_stop = true;
  reader.join();
  streaming = false;
  stations.FinishAll(summary);
  pipeline.Finish();
  report_write(log.Flush(true));
  save_state();

  latency.Summarise(summary);
  summary->wall_s = std::chrono::duration<double>(Clock::now() - started).count();
  summary->cpu_s = ProcessCpuSeconds();
  summary->picks = log.written();
  if (client) {
    summary->connections = client->connections();
    summary->duplicates = client->duplicates();
    summary->malformed = client->malformed();
  }
  if (write_failures > 0) return Status::IOError(std::to_string(write_failures.load()) + " pick batches could not be written");
  return Status::OK();
}

}  // namespace rapid
