#include "live/stream_session.h"

#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "core/atomic_file.h"
#include "engine/picking_pipeline.h"
#include "engine/station_block.h"
#include "io/mseed_reader.h"
#include "live/archive_replay.h"
#include "live/pick_log.h"
#include "live/resume_log.h"
#include "live/station_counters.h"
#include "live/station_feed.h"
#include "live/stream_state.h"
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

}  // namespace

namespace {

// The pipeline of a live stream: the plan's instances and batches, one-window pieces.
PipelineOptions LivePipelineOptions(const StreamOptions& opts, const RunPlan& plan, const Executors& executors) {
  PipelineOptions p;
  p.piece_windows = 1;  // a window runs as soon as its data exist
  p.resample = opts.resample;
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

// Drops the samples of `seg` before `from` (to within half a sample); false when none are left.
bool KeepFrom(NanoTime from, TraceSegment* seg) {
  const auto n = static_cast<int64_t>(seg->samples.size());
  if (from == kUnsetTime || n == 0) return n > 0;
  const double x = static_cast<double>(from - seg->start) * seg->rate_hz / 1e9;
  const int64_t cut = std::clamp<int64_t>(static_cast<int64_t>(std::ceil(x - 0.5)), 0, n);
  if (cut > 0) {
    seg->start = seg->SampleTimeAt(cut);
    seg->samples.erase(seg->samples.begin(), seg->samples.begin() + cut);
  }
  return cut < n;
}

// The instruments of a live stream, each a pipeline stream fed through its LiveStationFeed; a
// restarted one from its resume point (live/resume_log.h). Used from one thread (the records'
// reader, then the stopping one).
class LiveStations {
 public:
  // `resume_log`: null when no state is kept.
  LiveStations(const StreamOptions& opts, std::map<std::string, InstrumentResume> resume, PickingPipeline* pipeline,
               PickLatency* latency, ResumeLog* resume_log, StationCounters* counters)
      : opts_(opts),
        resume_(std::move(resume)),
        pipeline_(pipeline),
        latency_(latency),
        resume_log_(resume_log),
        counters_(counters) {}

  // A record's samples: selected (a replay; a server applies the selectors itself), then fed.
  void OnRecord(const std::string& station_id, uint64_t sequence, std::string_view record, StreamSummary* summary) {
    MseedFileContents contents;
    if (Status s = DecodeMseedBytes(record, station_id + " packet " + std::to_string(sequence), ReaderOptions(), &contents);
        !s.ok() || contents.segments.empty()) {
      summary->undecodable += 1;
      return;
    }
    summary->records += 1;
    NanoTime newest = kUnsetTime;
    int64_t dropped = 0;
    for (TraceSegment& seg : contents.segments) {
      const auto selected = [&](const StreamSelector& s) {
        return s.Matches(seg.id.network, seg.id.station, seg.id.location, seg.id.channel);
      };
      if (!opts_.replay.empty() && std::none_of(opts_.seedlink.selectors.begin(), opts_.seedlink.selectors.end(), selected)) {
        continue;
      }
      const NanoTime end = seg.SampleTimeAt(static_cast<int64_t>(seg.samples.size()));
      newest = std::max(newest, end);
      Station& st = StationOf(InstrumentKey(seg.id), station_id);
      if (!KeepFrom(st.data_from, &seg)) continue;  // picked before the restart
      latency_->Arrived(st.stream, seg.id.channel, end);
      if (resume_log_) resume_log_->Received(st.stream, seg.id.channel, seg.start, end, sequence);
      const int64_t dropped_before = st.feed->dropped_records();
      st.feed->Add(std::move(seg));
      Push(st, st.feed->TakeReady());
      dropped += st.feed->dropped_records() - dropped_before;
    }
    counters_->Record(station_id, newest, dropped);
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
    NanoTime data_from = kUnsetTime;
    std::unique_ptr<LiveStationFeed> feed;
  };
  Station& StationOf(const std::string& instrument, const std::string& station_id) {
    auto [it, fresh] = stations_.try_emplace(instrument);
    Station& st = it->second;
    if (fresh) {
      const auto r = resume_.find(instrument);
      const InstrumentResume resumed = r == resume_.end() ? InstrumentResume() : r->second;
      st.data_from = resumed.data_from;
      st.stream = pipeline_->OpenStream(resumed.picks_from);
      st.feed = std::make_unique<LiveStationFeed>(opts_.max_channel_lag_ns);
      if (resume_log_) resume_log_->Opened(st.stream, instrument, station_id, resumed);
    }
    return st;
  }
  void Push(Station& st, std::vector<TraceSegment> part) {
    if (part.empty()) return;
    std::vector<std::string> notes;
    if (Status s = pipeline_->Push(st.stream, std::move(part), &notes); !s.ok()) spdlog::warn("{}", s.message());
    for (const std::string& n : notes) spdlog::debug("{}", n);
  }

  const StreamOptions& opts_;
  const std::map<std::string, InstrumentResume> resume_;
  PickingPipeline* pipeline_;
  PickLatency* latency_;
  ResumeLog* resume_log_;
  StationCounters* counters_;
  std::map<std::string, Station> stations_;  // by instrument key
};

// The state file's saves (live/stream_state.h): while streaming, the resume points; at a clean
// stop, each station's last record.
class StateSaver {
 public:
  StateSaver(const StreamOptions& opts, const SeedLinkClient* client, ResumeLog* resume_log)
      : opts_(opts), client_(client), resume_log_(resume_log) {}

  void WhileStreaming() {
    if (opts_.state_path.empty() || !client_) return;
    StreamState state;
    state.last_sequences = client_->last_sequences();  // stations with nothing to feed again
    std::map<std::string, uint64_t> first;
    resume_log_->Snapshot(&state.instruments, &first);
    const uint64_t mask = client_->protocol_major() >= 4 ? ~uint64_t{0} : uint64_t{0xFFFFFF};  // 3.1 numbers wrap at 24 bits
    for (const auto& [station, seq] : first) state.last_sequences[station] = (seq - 1) & mask;
    Save(state);
  }
  void AtStop() {
    if (opts_.state_path.empty() || !client_) return;
    StreamState state;
    state.last_sequences = client_->last_sequences();
    Save(state);
  }

 private:
  void Save(const StreamState& state) {
    const std::string server = opts_.seedlink.host + ":" + std::to_string(opts_.seedlink.port);
    if (Status s = WriteStreamState(opts_.state_path, server, state); !s.ok()) spdlog::error("{}", s.message());
  }
  const StreamOptions& opts_;
  const SeedLinkClient* client_;
  ResumeLog* resume_log_;
};

}  // namespace

namespace {

// Where the records come from: the SeedLink client, or an archive played as if live; read on a
// thread of its own until stopped (or the replay ends).
class RecordSource {
 public:
  ~RecordSource() { Stop(); }
  Status Open(const StreamOptions& opts, const std::map<std::string, uint64_t>& last, SeedLinkClient::RecordFn on_record) {
    on_record_ = on_record;
    if (opts.replay.empty()) {
      client_ = std::make_unique<SeedLinkClient>(opts.seedlink, last, std::move(on_record),
                                                 [](const std::string& message) { spdlog::warn("{}", message); });
      return Status::OK();
    }
    RAPID_RETURN_IF_ERROR(ArchiveReplay::Open(opts.replay, opts.replay_speed, &replay_));
    spdlog::info("replaying {} records over {:.1f} s of data at {}x", replay_.records(),
                 static_cast<double>(replay_.span_ns()) / 1e9, opts.replay_speed);
    return Status::OK();
  }
  void Start() {
    reader_ = std::thread([this] {
      if (client_) {
        client_->Run(stop_);
      } else {
        replay_.Run(stop_, on_record_);
      }
      done_ = true;
    });
  }
  bool done() const { return done_; }
  // Stops reading; the records already read are delivered first.
  void Stop() {
    stop_ = true;
    if (reader_.joinable()) reader_.join();
  }
  const SeedLinkClient* client() const { return client_.get(); }  // null for a replay

 private:
  SeedLinkClient::RecordFn on_record_;
  std::unique_ptr<SeedLinkClient> client_;
  ArchiveReplay replay_;
  std::atomic<bool> stop_{false}, done_{false};
  std::thread reader_;
};

// Where a restart's picks may repeat rows already written: the earliest picks_from of the state.
NanoTime RepeatsFrom(const StreamState& state) {
  NanoTime from = kUnsetTime;
  for (const auto& [instrument, r] : state.instruments) from = from == kUnsetTime ? r.picks_from : std::min(from, r.picks_from);
  return from;
}

// What /metrics shows: the stations' counters, the picks written, the client's counters.
LiveStreamMetrics MetricsNow(const StationCounters& counters, const PickLog& log, const SeedLinkClient* client) {
  LiveStreamMetrics m;
  counters.Fill(&m);
  m.picks_total = log.written();
  if (client) {
    m.reconnects_total = std::max<int64_t>(0, client->connections() - 1);
    m.duplicate_packets_total = client->duplicates();
    m.malformed_packets_total = client->malformed();
  }
  return m;
}

// The HTTP front (--serve), listening; the port written to --port-file.
Status StartFront(const StreamOptions& opts, LiveHttpFront::MetricsProvider metrics, std::unique_ptr<LiveHttpFront>* front) {
  if (!opts.serve) return Status::OK();
  *front = std::make_unique<LiveHttpFront>(*opts.serve, std::move(metrics));
  RAPID_RETURN_IF_ERROR((*front)->Start());
  spdlog::info("picks as Server-Sent Events on http://{}:{}/v1/picks/stream, metrics on /metrics", opts.serve->host,
               (*front)->port());
  if (opts.port_file.empty()) return Status::OK();
  return WriteFileAtomically(opts.port_file, std::to_string((*front)->port()) + "\n");
}

void SummariseSources(const SeedLinkClient* client, const PickLog& log, StreamSummary* summary) {
  summary->picks = log.written();
  summary->repeats_dropped = log.repeats_dropped();
  if (!client) return;
  summary->connections = client->connections();
  summary->duplicates = client->duplicates();
  summary->malformed = client->malformed();
}

}  // namespace

Status RunStream(const StreamOptions& opts, const std::atomic<bool>& stop, StreamSummary* summary) {
  *summary = StreamSummary();
  const auto started = Clock::now();
  LoadedModel loaded;
  RunPlan plan;
  Executors executors;
  RAPID_RETURN_IF_ERROR(LoadModel(opts.model, opts.weights, &loaded, "cpu", opts.plan.cpu_backend));
  RAPID_RETURN_IF_ERROR(PlanRun(opts.plan, loaded, &plan));
  RAPID_RETURN_IF_ERROR(LoadExecutors(plan, loaded, &executors));
  StreamState state;
  if (!opts.state_path.empty()) RAPID_RETURN_IF_ERROR(ReadStreamState(opts.state_path, &state));
  std::unique_ptr<LiveHttpFront> front;  // started below, before any record is fed
  PickLog log(opts.output_dir, loaded.name, opts.quakeml, [&](const std::string& json) {
    if (opts.jsonl_stdout) {
      std::printf("%s\n", json.c_str());
      std::fflush(stdout);
    }
    if (front) front->PublishPick(json);
  });
  RAPID_RETURN_IF_ERROR(log.Open(RepeatsFrom(state)));

  std::atomic<int64_t> write_failures{0};
  auto report_write = [&](const Status& s) {
    if (!s.ok() && write_failures++ == 0) spdlog::error("{}", s.message());
  };
  PickLatency latency;
  const ModelSpec& spec = loaded.model->Spec();
  ResumeLog resume_log(spec.rate_hz, spec.in_samples, spec.StrideSamples());
  std::atomic<bool> streaming{true};  // the tails' picks wait for the stop, not for data
  PipelineOptions p = LivePipelineOptions(opts, plan, executors);
  p.on_final_picks = [&](uint64_t stream, FinalPicks&& f) {
    const size_t n = f.picks.size();
    const Status written = log.Write(std::move(f.picks));
    report_write(written);
    if (!written.ok()) return;  // the state keeps this stream's resume point before these picks
    if (streaming) latency.Written(stream, f.data_until, n);
    resume_log.Settled(stream, f.windows_start, f.settled_until);
  };
  PickingPipeline pipeline(
      executors.instances, p, [](BlockOutput&&) {},
      [](uint64_t, const std::string& id, const std::string& message) { spdlog::warn("{}: {}", id, message); },
      [](uint64_t) {});
  StationCounters counters;
  LiveStations stations(opts, state.instruments, &pipeline, &latency, opts.state_path.empty() ? nullptr : &resume_log,
                        &counters);
  auto on_record = [&](const std::string& station_id, uint64_t sequence, std::string_view record) {
    stations.OnRecord(station_id, sequence, record, summary);
  };

  RecordSource source;
  RAPID_RETURN_IF_ERROR(source.Open(opts, state.last_sequences, on_record));
  const SeedLinkClient* client = source.client();
  RAPID_RETURN_IF_ERROR(StartFront(opts, [&] { return MetricsNow(counters, log, client); }, &front));
  source.Start();
  StateSaver saver(opts, client, &resume_log);
  for (auto next_save = Clock::now() + kStateEvery; !stop && !source.done();) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (Clock::now() >= next_save) {
      saver.WhileStreaming();
      next_save += kStateEvery;
    }
    report_write(log.Flush(false));
  }
  source.Stop();
  streaming = false;
  stations.FinishAll(summary);
  pipeline.Finish();
  report_write(log.Flush(true));
  saver.AtStop();
  if (front) front->Stop();

  latency.Summarise(summary);
  summary->wall_s = std::chrono::duration<double>(Clock::now() - started).count();
  summary->cpu_s = ProcessCpuSeconds();
  SummariseSources(client, log, summary);
  if (write_failures > 0) return Status::IOError(std::to_string(write_failures.load()) + " pick batches could not be written");
  return Status::OK();
}

}  // namespace rapid
