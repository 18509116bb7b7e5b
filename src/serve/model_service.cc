#include "serve/model_service.h"

#include <algorithm>
#include <set>

#include "engine/station_block.h"
#include "engine/station_stream.h"
#include "engine/windower.h"

namespace rapid {

namespace {

double MsBetween(ServeClock::time_point a, ServeClock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

}  // namespace

struct ModelService::Job {
  uint64_t id = 0;
  ServeRequest request;
  Done done;
  int64_t windows = 0;
  int64_t streams_left = 0;
  bool fed = false, answered = false, released = false;
  ServeClock::time_point fed_at;
  std::vector<uint64_t> streams;  // opened in the pipeline, in order
  std::vector<BlockOutput> blocks;
  std::vector<std::string> errors, notes;
};

namespace {

// The model-rate samples each instrument's segments span, first to last (of the model's components).
std::vector<int64_t> InstrumentSpanSamples(const std::vector<TraceSegment>& segments, const ModelSpec& spec) {
  std::map<std::string, std::pair<NanoTime, NanoTime>> spans;  // instrument → [first, last]
  for (const TraceSegment& s : segments) {
    if (s.samples.empty() || ComponentIndex(s.id.channel, spec.component_order) < 0) continue;
    auto [it, fresh] = spans.try_emplace(InstrumentKey(s.id), s.start, s.LastSampleTime());
    if (!fresh) {
      it->second.first = std::min(it->second.first, s.start);
      it->second.second = std::max(it->second.second, s.LastSampleTime());
    }
  }
  std::vector<int64_t> out;
  for (const auto& [key, span] : spans) {
    out.push_back(static_cast<int64_t>(static_cast<double>(span.second - span.first) / kNanosPerSecond * spec.rate_hz) +
                  1);
  }
  return out;
}

}  // namespace

int64_t ModelService::EstimateWindows(const std::vector<TraceSegment>& segments, const ModelSpec& spec) {
  int64_t windows = 0;
  for (int64_t samples : InstrumentSpanSamples(segments, spec)) {
    windows += static_cast<int64_t>(WindowStarts(samples, spec).size());
  }
  return windows;
}

int64_t ModelService::RequestBytes(const std::vector<TraceSegment>& segments, const ModelSpec& spec,
                                   int64_t bytes_per_trace_value) {
  int64_t trace_values = 0;
  for (int64_t n : InstrumentSpanSamples(segments, spec)) trace_values += spec.Labels() * n;
  int64_t samples = 0;
  std::map<std::pair<ChannelId, double>, int64_t> channel_samples;  // (channel, rate) → samples
  for (const TraceSegment& s : segments) {
    samples += static_cast<int64_t>(s.samples.size());
    channel_samples[{s.id, s.rate_hz}] += static_cast<int64_t>(s.samples.size());
  }
  int64_t resampling = 0;
  for (const auto& [key, n] : channel_samples) {
    resampling = std::max(resampling, StationStream::ResampleBytesBound(spec, key.second, n, ResamplePieces()));
  }
  return static_cast<int64_t>(sizeof(double)) * samples + resampling + bytes_per_trace_value * trace_values;
}

Status ModelService::Create(const ModelServiceOptions& opts, std::unique_ptr<ModelService>* out) {
  std::unique_ptr<ModelService> s(new ModelService());
  RAPID_RETURN_IF_ERROR(LoadModel(opts.model, opts.weights, &s->loaded_, "cpu", opts.plan.cpu_backend));
  s->name_ = s->loaded_.name;
  RAPID_RETURN_IF_ERROR(PlanRun(opts.plan, s->loaded_, &s->plan_));
  RAPID_RETURN_IF_ERROR(LoadExecutors(s->plan_, s->loaded_, &s->executors_));
  // Warm-up: one forward per instance (first calls allocate and pick kernels), so /readyz means fast.
  const ModelSpec& spec = s->loaded_.model->Spec();
  std::vector<float> in(static_cast<size_t>(spec.Channels() * spec.in_samples), 0.0f);
  std::vector<float> outp(static_cast<size_t>(spec.Labels() * spec.OutSamples()));
  for (Model* m : s->executors_.instances) {
    if (Status w = m->Forward(in.data(), 1, outp.data()); !w.ok()) return Status::Internal("warm-up forward: " + w.message());
  }
  // Default queue: about a quarter of a second of the instances' work (the planner's probe of one
  // forward), at least four batches, so an admitted request waits little and overload is refused.
  int64_t largest_batch = s->plan_.batch_size;
  for (int64_t b : s->executors_.batch_sizes) largest_batch = std::max(largest_batch, b);
  int64_t quarter_second = 32 * largest_batch;
  if (s->plan_.probe_forward_s_per_window > 0) {
    quarter_second = static_cast<int64_t>(0.25 * static_cast<double>(s->executors_.instances.size()) /
                                       s->plan_.probe_forward_s_per_window);
  }
  s->max_queue_windows_ =
      opts.max_queue_windows > 0 ? opts.max_queue_windows : std::max<int64_t>(4 * largest_batch, quarter_second);
  s->feed_ahead_windows_ = 4 * largest_batch * static_cast<int64_t>(s->executors_.instances.size());
  PipelineOptions p;
  p.keep_traces = true;  // each request picks with its own thresholds
  AnnotateOptions& a = p.annotate;
  a.batch_size = s->plan_.batch_size;
  a.instance_batch_sizes = s->executors_.batch_sizes;
  a.instance_threads = s->executors_.threads;
  a.intra_threads = s->plan_.intra_threads;
  a.cpus = s->plan_.cpus;
  a.queue_capacity_bytes = s->plan_.queue_capacity_bytes;
  a.max_batch_wait_ms = opts.max_batch_delay_ms;
  a.compute_nice = opts.compute_nice;
  a.on_batch = [raw = s.get()](int64_t windows, double forward_s) {
    if (raw->observer_.on_batch) raw->observer_.on_batch(windows, forward_s);
  };
  p.on_windows_cancelled = [raw = s.get()](int64_t windows) {
    if (raw->observer_.on_windows_cancelled) raw->observer_.on_windows_cancelled(windows);
  };
  ModelService* raw = s.get();
  s->pipeline_ = std::make_unique<PickingPipeline>(
      s->executors_.instances, p,
      [raw](BlockOutput&& b) {
        std::lock_guard<std::mutex> lock(raw->mu_);
        raw->job_of_stream_.at(b.stream)->blocks.push_back(std::move(b));
      },
      [raw](uint64_t stream, const std::string& trace_id, const std::string& message) {
        std::lock_guard<std::mutex> lock(raw->mu_);
        raw->job_of_stream_.at(stream)->errors.push_back(trace_id + ": " + message);
      },
      [raw](uint64_t stream) {
        std::lock_guard<std::mutex> lock(raw->mu_);
        auto it = raw->job_of_stream_.find(stream);
        std::shared_ptr<Job> job = it->second;
        raw->job_of_stream_.erase(it);
        if (--job->streams_left == 0) raw->FinishJob(job);
      });
  s->feeder_ = std::thread([raw] { raw->Feed(); });
  s->watchdog_ = std::thread([raw] { raw->WatchDeadlines(); });
  *out = std::move(s);
  return Status::OK();
}

ModelService::~ModelService() {
  Drain(std::chrono::milliseconds(0));
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  watch_cv_.notify_all();
  if (feeder_.joinable()) feeder_.join();
  if (watchdog_.joinable()) watchdog_.join();
  if (pipeline_) pipeline_->Finish();  // absent when Create failed before starting it
}

int64_t ModelService::queued_windows() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queued_windows_;
}

void ModelService::Submit(ServeRequest request, Done done) {
  const int64_t windows = EstimateWindows(request.segments, spec());
  ServeResult refusal;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (draining_) {
      refusal.status = 503;
      refusal.error = "draining: not accepting new requests";
    } else if (queued_windows_ > 0 && queued_windows_ + windows > max_queue_windows_) {
      refusal.status = 429;
      refusal.error = "queue full: " + std::to_string(queued_windows_) + " windows queued, this request adds " +
                      std::to_string(windows) + ", the limit is " + std::to_string(max_queue_windows_);
    } else {
      auto job = std::make_shared<Job>();
      job->id = next_job_++;
      job->request = std::move(request);
      job->done = std::move(done);
      job->windows = windows;
      queued_windows_ += windows;
      open_jobs_[job->id] = job;
      waiting_.push_back(job);
      work_cv_.notify_one();
      return;
    }
  }
  refusal.total_ms = MsBetween(request.received, ServeClock::now());
  done(std::move(refusal));
}

void ModelService::Feed() {
  while (true) {
    std::shared_ptr<Job> job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      work_cv_.wait(lock, [&] {
        return stopping_ || (!waiting_.empty() && (fed_windows_ < feed_ahead_windows_ || waiting_.front()->answered));
      });
      if (waiting_.empty()) return;  // stopping
      job = waiting_.front();
      waiting_.pop_front();
      if (job->answered) continue;  // timed out while waiting: never fed
      job->fed = true;
      job->fed_at = ServeClock::now();
      fed_windows_ += job->windows;
    }
    StartJob(job);
  }
}

void ModelService::StartJob(const std::shared_ptr<Job>& job) {
  std::vector<std::vector<TraceSegment>> instruments = GroupByInstrument(std::move(job->request.segments));
  {
    std::lock_guard<std::mutex> lock(mu_);
    job->streams_left = static_cast<int64_t>(instruments.size());
    if (instruments.empty()) {
      FinishJob(job);
      return;
    }
  }
  for (std::vector<TraceSegment>& instrument : instruments) {
    const std::string station = instrument.front().id.StationKey();
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (job->answered) {  // past its deadline while being fed: the rest is not fed
        if (observer_.on_windows_cancelled) observer_.on_windows_cancelled(EstimateWindows(instrument, spec()));
        if (--job->streams_left == 0) FinishJob(job);
        continue;
      }
    }
    // Not under mu_: the pipeline calls back into this service holding its own lock.
    const uint64_t stream = pipeline_->OpenStream();
    {
      std::lock_guard<std::mutex> lock(mu_);
      job_of_stream_[stream] = job;
      job->streams.push_back(stream);
    }
    std::vector<std::string> notes;
    Status pushed = pipeline_->Push(stream, std::move(instrument), &notes);
    Status closed = pipeline_->CloseStream(stream, &notes);
    std::lock_guard<std::mutex> lock(mu_);
    job->notes.insert(job->notes.end(), notes.begin(), notes.end());
    if (!pushed.ok()) job->errors.push_back(station + ": " + pushed.message());
    if (!closed.ok()) job->errors.push_back(station + ": " + closed.message());
  }
}

void ModelService::FinishJob(const std::shared_ptr<Job>& job) {
  if (!job->released) {
    queued_windows_ -= job->windows;
    job->released = true;
  }
  fed_windows_ -= job->windows;
  work_cv_.notify_all();  // the feeder may feed more
  ServeResult r;
  r.windows = job->windows;
  const ModelSpec& s = spec();
  std::set<std::string> stations;
  for (BlockOutput& b : job->blocks) {
    stations.insert(b.trace_id);
    std::sort(b.traces.begin(), b.traces.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
    if (b.traces.empty()) continue;
    const Annotation& first = b.traces.front().second;
    for (size_t l = 0; l < s.labels.size(); ++l) {
      if (s.labels[l] == s.noise_label) continue;
      std::vector<Pick>* out = s.labels[l] == s.detection_label ? &r.detections : &r.picks;
      PickStream picker(b.trace_id, s.labels[l], first.block_start, first.rate_hz, LabelThreshold(s.labels[l], job->request.thresholds, s));
      for (const auto& [number, a] : b.traces) {
        picker.Feed(a.traces[l].data(), static_cast<int64_t>(a.traces[l].size()), a.offset, out);
      }
      picker.Close(out);
    }
    if (job->request.keep_traces) {
      for (auto& [number, a] : b.traces) r.traces.push_back(std::move(a));
    }
  }
  SortPicks(&r.picks);
  SortPicks(&r.detections);
  r.stations.assign(stations.begin(), stations.end());
  r.errors = std::move(job->errors);
  r.notes = std::move(job->notes);
  r.memory = std::move(job->request.memory);
  r.queue_ms = MsBetween(job->request.received, job->fed_at);
  r.compute_ms = MsBetween(job->fed_at, ServeClock::now());
  if (observer_.on_request_done) observer_.on_request_done(r.windows, r.queue_ms / 1000.0, r.compute_ms / 1000.0);
  Answer(job, std::move(r));
}

void ModelService::Answer(const std::shared_ptr<Job>& job, ServeResult&& result) {
  if (job->answered) return;
  job->answered = true;
  result.total_ms = MsBetween(job->request.received, ServeClock::now());
  open_jobs_.erase(job->id);
  Done done = std::move(job->done);
  done(std::move(result));
  idle_cv_.notify_all();
}

void ModelService::WatchDeadlines() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    watch_cv_.wait_for(lock, std::chrono::milliseconds(5));
    const auto now = ServeClock::now();
    std::vector<std::shared_ptr<Job>> late;
    for (const auto& [id, job] : open_jobs_) {
      if (now >= job->request.deadline) late.push_back(job);
    }
    std::vector<uint64_t> cancel;  // streams of fed requests
    int64_t never_fed_windows = 0;
    for (const std::shared_ptr<Job>& job : late) {
      if (!job->fed && !job->released) {  // never fed: its windows leave the queue
        queued_windows_ -= job->windows;
        never_fed_windows += job->windows;
        job->released = true;
        work_cv_.notify_all();  // the feeder skips it
      }
      if (job->fed) cancel.insert(cancel.end(), job->streams.begin(), job->streams.end());
      ServeResult r;
      r.status = 504;
      r.error = job->fed ? "the request was being computed at --request-timeout (its queued windows were dropped)"
                         : "the request waited in the queue past --request-timeout (not computed)";
      Answer(job, std::move(r));
    }
    // The pipeline calls back into this service under its own locks: cancel without mu_.
    lock.unlock();
    for (uint64_t stream : cancel) pipeline_->CancelStream(stream, "request past --request-timeout");
    if (never_fed_windows > 0 && observer_.on_windows_cancelled) observer_.on_windows_cancelled(never_fed_windows);
    lock.lock();
  }
}

bool ModelService::Drain(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  draining_ = true;
  return idle_cv_.wait_for(lock, timeout, [&] { return open_jobs_.empty(); });
}

}  // namespace rapid
