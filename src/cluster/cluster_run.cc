#include "cluster/cluster_run.h"

#include <spdlog/spdlog.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <mutex>

#include "cluster/cluster_messages.h"
#include "dispatch/resource_probe.h"
#include "engine/picking_run_steps.h"
#include "engine/progress_reporter.h"
#include "sinks/run_outputs.h"

namespace rapid {

namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// CPU time of the calling thread: what rank 0 spends on a message, without the time an
// oversubscribed MPI yields the core to other processes.
double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// The units not resumed, largest first (their files' bytes), so the longest come early and the
// run does not end waiting on one big station.
std::vector<const WorkUnit*> LargestFirst(const PreparedRun& run) {
  std::vector<std::pair<uintmax_t, const WorkUnit*>> sized;
  for (const WorkUnit& u : run.units) {
    if (run.resumed_units.count(u.name) > 0) continue;
    uintmax_t bytes = 0;
    for (const InputFile* f : u.files) {
      std::error_code ec;
      const uintmax_t n = std::filesystem::file_size(f->path, ec);
      if (!ec) bytes += n;
    }
    sized.push_back({bytes, &u});
  }
  std::stable_sort(sized.begin(), sized.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<const WorkUnit*> out;
  for (const auto& [bytes, u] : sized) out.push_back(u);
  return out;
}

// Rank 0: serves the workers until every one has reported, then writes the outputs.
class Coordinator {
 public:
  Coordinator(const RunOptions& opts, MpiComm* mpi, RunReport* report)
      : opts_(opts), mpi_(mpi), report_(report), workers_left_(mpi->size() - 1) {}

  RunOutcome Run() {
    config_ = PrepareModel(opts_, report_, &run_);
    if (config_.ok()) config_ = PrepareInput(opts_, report_, &run_);
    if (config_.ok()) config_ = PrepareOutputs(opts_, report_, &run_);
    if (config_.ok()) order_ = LargestFirst(run_);
    ProgressReporter progress(opts_.progress != RunOptions::Progress::kOff && config_.ok(), order_.size());
    while (workers_left_ > 0) {
      int from = 0, tag = 0;
      std::string message;
      if (!mpi_->Receive(std::chrono::milliseconds(100), &from, &tag, &message)) continue;
      const double cpu_before = ThreadCpuSeconds();
      Handle(from, tag, message);
      report_->coordinator_messages += 1;
      report_->coordinator_busy_s += ThreadCpuSeconds() - cpu_before;
      progress.Update(units_done_, 0, false);
    }
    progress.Update(units_done_, report_->windows, true);
    if (!config_.ok()) return RunOutcome::ConfigurationError(config_);
    if (!worker_config_.ok()) return RunOutcome::ConfigurationError(worker_config_);
    CheckSelection(opts_, selection_, report_);
    SummarisePlan();
    AddIncompleteUnits(picked_.incomplete, &run_, report_);
    if (next_ < order_.size()) report_->interrupted = true;  // a stop kept units from being handed out
    picked_.complete = picked_.incomplete.empty() && !report_->interrupted;
    if (!picked_.journal.ok()) report_->errors.push_back({"", "", picked_.journal.message()});
    const auto t = Clock::now();
    Status written = WriteOutputs(opts_, &run_, picked_, report_);
    report_->stage_s["write"] = Since(t);
    return RunOutcome::Finished(written);
  }

 private:
  void Handle(int from, int tag, const std::string& message) {
    switch (tag) {
      case kTagRequest:
        return Assign(from);
      case kTagFactsRequest:  // before the worker plans; nothing to reserve when the input is unusable
        return mpi_->Send(from, kTagFacts, EncodeInputFacts({run_.preprocess_bytes, run_.preprocess_reason}));
      case kTagResult:
      case kTagIncomplete: {
        JournalUnit u;
        if (!DecodeJournalUnit(message, &u)) {
          report_->errors.push_back({"", "", "rank " + std::to_string(from) + " sent a unit that does not parse"});
          return;
        }
        if (tag == kTagIncomplete) return picked_.incomplete.push_back(std::move(u));
        if (Status s = run_.journal.Append(u); !s.ok() && picked_.journal.ok()) picked_.journal = s;
        run_.AddUnitResults(std::move(u), report_);
        units_done_ += 1;
        return;
      }
      case kTagReport:
        return Reported(from, message);
      default:
        report_->errors.push_back({"", "", "rank " + std::to_string(from) + " sent a message of unknown tag " +
                                               std::to_string(tag)});
    }
  }

  void Assign(int to) {
    UnitAssignment a;
    if (!config_.ok() || !worker_config_.ok()) {
      a.kind = UnitAssignment::Kind::kError;
      a.error = !config_.ok() ? config_.message() : worker_config_.message();
    } else if (next_ < order_.size() && !(opts_.stop != nullptr && opts_.stop->load())) {
      const WorkUnit* u = order_[next_++];
      a.kind = UnitAssignment::Kind::kUnit;
      a.unit = u->name;
      for (const InputFile* f : u->files) a.files.push_back(*f);
    }
    mpi_->Send(to, kTagAssign, EncodeAssignment(a));
  }

  // run.json's plan for a run over ranks: every rank's instances, the first rank's shape (each
  // rank's own is in "ranks").
  void SummarisePlan() {
    RunPlan& p = report_->plan;
    p.source = "ranks";
    p.instances = 0;
    for (const RankReport& k : report_->ranks) p.instances += k.instances;
    if (report_->ranks.empty()) return;
    p.device = report_->ranks.front().device;
    p.intra_threads = report_->ranks.front().intra_threads;
    p.batch_size = report_->ranks.front().batch_size;
  }

  void Reported(int from, const std::string& message) {
    workers_left_ -= 1;
    WorkerReport w;
    if (!DecodeWorkerReport(message, &w)) {
      report_->errors.push_back({"", "", "rank " + std::to_string(from) + " sent a report that does not parse"});
      return;
    }
    if (!w.error.empty()) {
      if (worker_config_.ok()) worker_config_ = Status::InvalidArgument("rank " + std::to_string(from) + ": " + w.error);
      return;
    }
    MergeWorkerFigures(w, report_);
    selection_.Merge(w.selection);
  }

  const RunOptions& opts_;
  MpiComm* mpi_;
  RunReport* report_;
  PreparedRun run_;
  Status config_, worker_config_;
  std::vector<const WorkUnit*> order_;
  size_t next_ = 0, units_done_ = 0;
  int workers_left_;
  PickedUnits picked_;
  SelectionSeen selection_;
};

// A worker: plans its instances on its share of the host, then picks what rank 0 hands out.
class Worker {
 public:
  Worker(const RunOptions& opts, MpiComm* mpi, Clock::time_point started) : opts_(opts), mpi_(mpi), started_(started) {}

  RunOutcome Run() {
    const int here = mpi_->node_has_rank0() ? 1 : 0;  // the coordinator's rank shares this host
    if (mpi_->node_shares_affinity()) {
      ShareHost(mpi_->node_rank() - here, std::max(1, mpi_->node_size() - here), CurrentThreadCpus(), &opts_.plan);
    }
    opts_.progress = RunOptions::Progress::kOff;  // rank 0 tells the progress
    // A worker holds back its next unit until one of its two finishes (Next), so a batch waiting
    // to be filled by windows that never come must run as it is (padded: results do not change).
    if (opts_.max_batch_wait_ms <= 0) opts_.max_batch_wait_ms = kBatchWaitMs;
    RunReport report;
    PreparedRun run;
    Status s = PrepareModel(opts_, &report, &run);
    if (s.ok()) s = TakeInputFacts(&run);
    if (s.ok()) s = PrepareInstances(opts_, &report, &run);
    if (!s.ok()) {
      WorkerReport w;
      w.error = s.message();
      mpi_->Send(0, kTagReport, EncodeWorkerReport(w));
      return RunOutcome::ConfigurationError(s);
    }
    UnitFlow flow;
    flow.complete = [&](JournalUnit&& u) {
      std::lock_guard<std::mutex> lock(mu_);
      completed_.push_back(std::move(u));
      units_completed_ += 1;
      completed_cv_.notify_all();
    };
    flow.next = [&] { return Next(); };
    const auto started = Clock::now();
    const PickedUnits picked = PickUnits(opts_, &run, flow, &report);
    const double wall_s = Since(started);
    SendCompleted();
    for (const JournalUnit& u : picked.incomplete) mpi_->Send(0, kTagIncomplete, EncodeJournalUnit(u));
    mpi_->Send(0, kTagReport, EncodeWorkerReport(Summary(report, picked, wall_s)));
    if (!coordinator_error_.empty()) return RunOutcome::ConfigurationError(Status::InvalidArgument(coordinator_error_));
    return RunOutcome::Finished(Status::OK());
  }

 private:
  // Rank 0's survey of the input (the worker does not list it), for this worker's plan.
  Status TakeInputFacts(PreparedRun* run) {
    mpi_->Send(0, kTagFactsRequest, "");
    InputFacts facts;
    if (!DecodeInputFacts(mpi_->ReceiveFrom(0, kTagFacts), &facts)) {
      return Status::Internal("rank 0 sent input facts that do not parse");
    }
    run->preprocess_bytes = facts.preprocess_bytes;
    run->preprocess_reason = facts.preprocess_reason;
    return Status::OK();
  }

  // Once fewer than kInFlight units are unfinished here (sending each as it completes), asks for
  // the next unit and waits for it: one unit annotated while the next is read keeps the instances
  // busy, and holding no more leaves the rest to idle ranks.
  const WorkUnit* Next() {
    for (;;) {
      SendCompleted();
      if (opts_.stop != nullptr && opts_.stop->load()) return nullptr;
      std::unique_lock<std::mutex> lock(mu_);
      if (units_ - units_completed_ < kInFlight) break;
      completed_cv_.wait_for(lock, std::chrono::milliseconds(50), [&] { return !completed_.empty(); });
    }
    if (startup_s_ < 0) startup_s_ = Since(started_);
    mpi_->Send(0, kTagRequest, "");
    UnitAssignment a;
    if (!DecodeAssignment(mpi_->ReceiveFrom(0, kTagAssign), &a)) a.kind = UnitAssignment::Kind::kDone;
    if (a.kind == UnitAssignment::Kind::kError) coordinator_error_ = a.error;
    if (a.kind != UnitAssignment::Kind::kUnit) return nullptr;
    files_.push_back(std::move(a.files));  // the unit's files stay while the pipeline may read them
    unit_ = WorkUnit{a.unit, {}};
    for (const InputFile& f : files_.back()) unit_.files.push_back(&f);
    units_ += 1;
    return &unit_;
  }

  void SendCompleted() {
    std::vector<JournalUnit> done;
    {
      std::lock_guard<std::mutex> lock(mu_);
      done.swap(completed_);
    }
    for (const JournalUnit& u : done) mpi_->Send(0, kTagResult, EncodeJournalUnit(u));
  }

  WorkerReport Summary(const RunReport& report, const PickedUnits& picked, double wall_s) const {
    WorkerReport w;
    w.figures = report;
    w.selection = picked.selection;
    RankReport& k = w.rank;
    k.rank = mpi_->rank();
    k.host = mpi_->host();
    k.units = units_;
    k.startup_s = std::max(0.0, startup_s_);
    k.windows = report.windows;
    k.wall_s = wall_s;
    k.windows_per_s = wall_s > 0 ? static_cast<double>(report.windows) / wall_s : 0.0;
    double busy_s = 0.0;
    for (const InstanceReport& i : report.instances) busy_s += i.busy_s;
    const double capacity_s = wall_s * static_cast<double>(std::max<size_t>(1, report.instances.size()));
    k.busy_fraction = capacity_s > 0 ? busy_s / capacity_s : 0.0;
    k.peak_rss_bytes = PeakRssBytes();
    k.instances = report.plan.instances;
    k.intra_threads = report.plan.intra_threads;
    k.batch_size = report.plan.batch_size;
    k.cpus = report.plan.cpus;
    k.device = report.plan.device;
    return w;
  }

  RunOptions opts_;
  MpiComm* mpi_;
  const Clock::time_point started_;
  double startup_s_ = -1.0;
  static constexpr int64_t kInFlight = 2;
  static constexpr int64_t kBatchWaitMs = 100;
  std::mutex mu_;
  std::condition_variable completed_cv_;
  std::vector<JournalUnit> completed_;  // by the pipeline's threads, sent by the main thread
  int64_t units_completed_ = 0;
  std::deque<std::vector<InputFile>> files_;
  WorkUnit unit_;
  int64_t units_ = 0;
  std::string coordinator_error_;
};

}  // namespace

void ShareHost(int index, int workers, const std::vector<int>& affinity, PlanRequest* plan) {
  if (workers <= 1) return;
  const std::vector<int> cpus = plan->cpus.empty() ? affinity : plan->cpus;
  if (!cpus.empty()) {
    const size_t n = cpus.size(), w = static_cast<size_t>(workers), i = static_cast<size_t>(index);
    std::vector<int> mine;
    if (n >= w) {
      for (size_t c = n * i / w; c < n * (i + 1) / w; ++c) mine.push_back(cpus[c]);
    } else {
      mine.push_back(cpus[i % n]);
    }
    plan->cpus = mine;
  }
  plan->ram_share /= workers;
  if (plan->max_ram_bytes > 0) plan->max_ram_bytes /= workers;
  std::vector<std::string> gpus, others;
  for (const std::string& d : plan->devices) (d.rfind("cuda", 0) == 0 ? gpus : others).push_back(d);
  if (gpus.empty()) return;
  const size_t n = gpus.size(), w = static_cast<size_t>(workers), i = static_cast<size_t>(index);
  std::vector<std::string> mine = others;
  if (n >= w) {
    for (size_t g = n * i / w; g < n * (i + 1) / w; ++g) mine.push_back(gpus[g]);
  } else {
    mine.push_back(gpus[i % n]);
  }
  plan->devices = mine;
}

RunOutcome RunPickingOnCluster(const RunOptions& opts, MpiComm* mpi, RunReport* report) {
  const auto started = Clock::now();
  if (mpi->rank() != 0) return Worker(opts, mpi, started).Run();
  report->rapid_version = RAPID_VERSION;
  report->input = opts.input;
  RunOutcome outcome = Coordinator(opts, mpi, report).Run();
  if (outcome.configuration_error()) return outcome;
  report->peak_rss_bytes = PeakRssBytes();
  report->wall_s = Since(started);
  Status written = WriteRunReport(opts.output_dir + "/run.json", *report);
  return RunOutcome::Finished(outcome.status().ok() ? written : outcome.status());
}

}  // namespace rapid
