#include "tune/tune.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "core/atomic_file.h"
#include "dispatch/resource_probe.h"
#include "io/input_scan.h"
#include "synth/synth.h"
#include "tune/search.h"
#include "tune/trial_runner.h"

namespace rapid {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

const std::vector<int64_t> kCpuBatches = {1, 2, 4, 8, 16, 32, 64, 128, 256};
const std::vector<int64_t> kGpuBatches = {16, 32, 64, 128, 256, 512, 1024};
const std::vector<int64_t> kGpuInstances = {1, 2, 3, 4};

// What the input holds, for the trials' context columns.
struct InputFacts {
  int64_t stations = 0;
  int64_t chunks = 0;
  double chunk_s = 0.0;
};

Status ScanFacts(const std::string& input, InputFacts* facts) {
  std::vector<InputFile> files;
  InputLayout layout = InputLayout::kFiles;
  std::vector<std::string> notes;
  RAPID_RETURN_IF_ERROR(ScanInput(input, ScanOptions{}, &files, &layout, &notes));
  std::set<std::string> units;
  std::set<NanoTime> chunk_starts;
  for (const InputFile& f : files) {
    if (layout == InputLayout::kChunks && f.chunk_start == kUnsetTime) continue;  // as rapid run does
    units.insert(WorkUnitOfFile(f.path));
    if (f.chunk_start != kUnsetTime) {
      chunk_starts.insert(f.chunk_start);
      facts->chunk_s = static_cast<double>(f.chunk_end - f.chunk_start) / kNanosPerSecond;
    }
  }
  facts->stations = static_cast<int64_t>(units.size());
  facts->chunks = static_cast<int64_t>(chunk_starts.size());
  return Status::OK();
}

// The synthetic input in <output>/synth, written unless it is there with the same options.
Status PrepareSynthInput(const TuneOptions& opts, std::string* input) {
  *input = opts.output_dir + "/synth";
  std::ostringstream what;
  what << "stations=" << opts.synth_stations << " duration_s=" << opts.synth_duration_s << " rates_hz=";
  for (double r : opts.synth_rates_hz) what << r << ";";
  const std::string marker = *input + "/synth-options.txt";
  std::ifstream existing(marker);
  std::string line;
  if (existing && std::getline(existing, line) && line == what.str()) return Status::OK();
  std::error_code ec;
  fs::remove_all(*input, ec);
  SynthOptions s;
  s.stations = opts.synth_stations;
  s.duration_s = opts.synth_duration_s;
  s.rates_hz = opts.synth_rates_hz;
  RAPID_RETURN_IF_ERROR(WriteSynthArchive(*input, s, nullptr));
  return WriteFileAtomically(marker, what.str() + "\n");
}

// instances = cores / t for t = cores … 1, distinct: every core busy, threads = cores / instances.
std::vector<int64_t> CpuInstanceCounts(int64_t cores) {
  std::vector<int64_t> out;
  for (int64_t t = cores; t >= 1; --t) {
    if (out.empty() || out.back() != cores / t) out.push_back(cores / t);
  }
  return out;
}

template <typename T>
std::vector<T> FirstN(const std::vector<T>& v, int64_t n) {
  return std::vector<T>(v.begin(), v.begin() + std::min<int64_t>(n, static_cast<int64_t>(v.size())));
}

}  // namespace

std::string TuneContext::GpuList() const {
  std::string out;
  for (const std::string& g : gpus) out += (out.empty() ? "" : ",") + g;
  return out;
}

std::string TuneContext::Describe() const {
  return "CPUs " + FormatCpuList(cpus) + (gpus.empty() ? "" : ", GPUs " + GpuList()) + ", " + std::to_string(stations) +
         " stations";
}

// Most resources first: every GPU set with all CPUs and stations, then CPU only — all CPUs and
// stations, fewer CPUs, fewer stations, then both fewer.
std::vector<TuneContext> PlanTuneContexts(const TuneOptions& opts, const std::vector<int>& cpus,
                                          int64_t input_stations) {
  std::vector<int64_t> cpu_counts = opts.cpu_counts.empty() ? TwentyPercentSteps(static_cast<int64_t>(cpus.size()))
                                                            : opts.cpu_counts;
  std::vector<int64_t> station_counts =
      opts.station_counts.empty() ? TwentyPercentSteps(input_stations) : opts.station_counts;
  for (int64_t& c : cpu_counts) c = std::clamp<int64_t>(c, 1, static_cast<int64_t>(cpus.size()));
  for (int64_t& s : station_counts) s = std::clamp<int64_t>(s, 1, input_stations);
  std::sort(cpu_counts.rbegin(), cpu_counts.rend());
  std::sort(station_counts.rbegin(), station_counts.rend());
  cpu_counts.erase(std::unique(cpu_counts.begin(), cpu_counts.end()), cpu_counts.end());
  station_counts.erase(std::unique(station_counts.begin(), station_counts.end()), station_counts.end());
  const int64_t most_cpus = cpu_counts.front(), most_stations = station_counts.front();
  std::vector<TuneContext> out;
  std::vector<int64_t> gpu_counts = TwentyPercentSteps(static_cast<int64_t>(opts.gpus.size()));
  for (auto g = gpu_counts.rbegin(); g != gpu_counts.rend(); ++g) {
    out.push_back({FirstN(cpus, most_cpus), FirstN(opts.gpus, *g), most_stations});
  }
  out.push_back({FirstN(cpus, most_cpus), {}, most_stations});
  for (size_t c = 1; c < cpu_counts.size(); ++c) out.push_back({FirstN(cpus, cpu_counts[c]), {}, most_stations});
  for (size_t s = 1; s < station_counts.size(); ++s) out.push_back({FirstN(cpus, most_cpus), {}, station_counts[s]});
  for (size_t c = 1; c < cpu_counts.size(); ++c) {
    for (size_t s = 1; s < station_counts.size(); ++s) {
      out.push_back({FirstN(cpus, cpu_counts[c]), {}, station_counts[s]});
    }
  }
  return out;
}

namespace {

std::string Mib(int64_t bytes) { return std::to_string(bytes >> 20) + " MiB"; }

class Tuner {
 public:
  Tuner(const TuneOptions& opts, const std::string& input, const InputFacts& facts, TrialsFile* file,
        const std::vector<Trial>& existing, TuneResult* result)
      : opts_(opts), input_(input), facts_(facts), file_(file), result_(result), start_(Clock::now()) {
    for (const Trial& t : existing) {
      recorded_[TrialKey(t)] = t;
      next_number_ = std::max(next_number_, t.trial + 1);
    }
  }

  // Measures one context. *go_on false: the budget is spent or a stop was asked.
  Status MeasureContext(const TuneContext& c, bool* go_on) {
    *go_on = true;
    Log("context: " + c.Describe());
    Trial planner = Base(c);
    planner.source = "planner";
    planner.comment = "the planner's choice";
    timeout_s_ = opts_.trial_timeout_s > 0 ? opts_.trial_timeout_s : std::max(60.0, opts_.time_budget_s);
    bool stopped = false;
    RAPID_RETURN_IF_ERROR(Measure(&planner, &stopped));
    if (stopped) return Stopped(go_on);
    if (opts_.trial_timeout_s <= 0 && planner.success) timeout_s_ = std::max(60.0, 10.0 * planner.wall_s);

    const bool gpu = !c.gpus.empty();
    const int64_t cores = static_cast<int64_t>(c.cpus.size());
    std::vector<int64_t> batches = opts_.batch_sizes.empty() ? (gpu ? kGpuBatches : kCpuBatches) : opts_.batch_sizes;
    const std::vector<SearchDimension> dims = {{"instances", gpu ? kGpuInstances : CpuInstanceCounts(cores)},
                                               {"batch_size", batches}};
    const SearchPoint start = planner.success ? SearchPoint{planner.instances, planner.batch_size}
                                              : SearchPoint{gpu ? 1 : cores, gpu ? 256 : 8};
    Status status;
    auto objective = [&](const SearchPoint& p) {
      Trial t = Base(c);
      t.source = "search";
      t.instances = p[0];
      t.threads_per_instance = gpu ? 1 : std::max<int64_t>(1, cores / p[0]);
      t.batch_size = p[1];
      // The planner's trial already measured its own choice.
      if (planner.success && ConfigKey(t) == ConfigKey(planner)) return Evaluation::Scored(planner.windows_per_s);
      bool stop = false;
      status = Measure(&t, &stop);
      if (!status.ok() || stop) return Evaluation::Stop();
      return t.success ? Evaluation::Scored(t.windows_per_s) : Evaluation::Failed();
    };
    SearchOptions search;
    search.min_gain = opts_.min_gain;
    SearchResult found = CoordinateSearch(dims, start, objective, search);
    RAPID_RETURN_IF_ERROR(status);
    if (found.stopped) return Stopped(go_on);

    // A second measurement of the best few: the ranking uses their means. They are chosen from the
    // first measurements only, so a resumed tune chooses the same ones.
    std::vector<Trial> first_measurements = TrialsOf(c);
    std::erase_if(first_measurements, [](const Trial& t) { return t.source == "confirm"; });
    std::vector<ConfigSummary> ranked = SummariseConfigs(first_measurements);
    for (size_t i = 0; i < ranked.size() && static_cast<int64_t>(i) < opts_.confirm_top; ++i) {
      Trial t = Base(c);
      t.instances = ranked[i].config.instances;
      t.threads_per_instance = ranked[i].config.threads_per_instance;
      t.batch_size = ranked[i].config.batch_size;
      t.source = "confirm";
      t.repeat = 1;
      t.comment = "second measurement of the context's number " + std::to_string(i + 1);
      RAPID_RETURN_IF_ERROR(Measure(&t, &stopped));
      if (stopped) return Stopped(go_on);
    }
    ranked = SummariseConfigs(TrialsOf(c));
    if (!ranked.empty()) {
      const ConfigSummary& b = ranked.front();
      Log("  best for " + c.Describe() + ": " + Shape(b.config) + ", " + std::to_string(std::lround(b.windows_per_s)) +
          " windows/s (mean of " + std::to_string(b.measurements) + ")");
    } else {
      Log("  no configuration succeeded for " + c.Describe());
    }
    result_->contexts_done += 1;
    return WriteBest();
  }

  // Rewrites best.toml from every successful trial of this tune's model, weights, backend and input.
  Status WriteBest() {
    std::vector<Trial> mine;
    for (const auto& [key, t] : recorded_) {
      if (t.model == opts_.model && t.weights == opts_.weights && t.backend == opts_.backend && t.input == input_) {
        mine.push_back(t);
      }
    }
    ConfigSummary best;
    if (!BestOverall(mine, &best).ok()) return Status::OK();
    result_->found = true;
    result_->best = best;
    return WriteFileAtomically(opts_.output_dir + "/best.toml",
                               BestToml(best, "Best of " + std::to_string(mine.size()) +
                                                  " trials of rapid tune (trials.csv beside this file)"));
  }

  int64_t Recorded() const { return static_cast<int64_t>(recorded_.size()); }

 private:
  Trial Base(const TuneContext& c) const {
    Trial t;
    t.model = opts_.model;
    t.weights = opts_.weights;
    t.backend = opts_.backend;
    t.input = input_;
    t.stations = c.stations;
    t.chunks = facts_.chunks;
    t.chunk_s = facts_.chunk_s;
    t.cpus = FormatCpuList(c.cpus);
    t.cpu_count = static_cast<int64_t>(c.cpus.size());
    t.gpus = c.GpuList();
    t.gpu_count = static_cast<int64_t>(c.gpus.size());
    return t;
  }

  std::vector<Trial> TrialsOf(const TuneContext& c) const {
    const std::string context = ContextKey(Base(c));
    std::vector<Trial> out;
    for (const auto& [key, t] : recorded_) {
      if (ContextKey(t) == context) out.push_back(t);
    }
    std::sort(out.begin(), out.end(), [](const Trial& a, const Trial& b) { return a.trial < b.trial; });
    return out;
  }

  static std::string Shape(const Trial& t) {
    return std::to_string(t.instances) + (t.gpus.empty() ? " × " + std::to_string(t.threads_per_instance) + " threads"
                                                         : " per GPU") +
           ", batch " + std::to_string(t.batch_size);
  }

  Status Stopped(bool* go_on) {
    *go_on = false;
    return Status::OK();
  }

  // The recorded trial with t's key, else runs t — unless a stop was asked or the budget would be
  // overrun (*stopped).
  Status Measure(Trial* t, bool* stopped) {
    *stopped = false;
    if (auto it = recorded_.find(TrialKey(*t)); it != recorded_.end()) {
      *t = it->second;
      result_->trials_reused += 1;
      return Status::OK();
    }
    if (opts_.stop != nullptr && opts_.stop->load()) {
      result_->interrupted = true;
      *stopped = true;
      return Status::OK();
    }
    const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
    if (elapsed + last_wall_s_ > opts_.time_budget_s) {
      result_->budget_spent = true;
      *stopped = true;
      return Status::OK();
    }
    t->trial = next_number_++;
    TrialRunOptions run;
    run.rapid_binary = opts_.rapid_binary;
    run.folder = opts_.output_dir + "/trials/" + std::to_string(t->trial);
    run.timeout_s = timeout_s_;
    run.max_ram = opts_.max_ram;
    bool interrupted = false;
    RAPID_RETURN_IF_ERROR(RunTrial(run, t, &interrupted));
    // A trial that failed while a stop was asked may have failed because of it: not a measurement.
    if (interrupted || (!t->success && opts_.stop != nullptr && opts_.stop->load())) {
      result_->interrupted = true;
      *stopped = true;
      return Status::OK();
    }
    RAPID_RETURN_IF_ERROR(file_->Append(*t));
    recorded_[TrialKey(*t)] = *t;
    result_->trials_run += 1;
    last_wall_s_ = t->wall_s;
    if (t->success) {
      Log("  trial " + std::to_string(t->trial) + " (" + t->source + ") " + Shape(*t) + ": " +
          std::to_string(std::lround(t->windows_per_s)) + " windows/s, " + std::to_string(t->wall_s).substr(0, 5) +
          " s, peak RSS " + Mib(t->peak_rss_bytes));
    } else {
      Log("  trial " + std::to_string(t->trial) + " (" + t->source + ") " + Shape(*t) + " failed: " + t->error);
    }
    return Status::OK();
  }

  void Log(const std::string& line) const {
    if (opts_.log) opts_.log(line);
  }

  const TuneOptions& opts_;
  const std::string input_;
  const InputFacts facts_;
  TrialsFile* file_;
  TuneResult* result_;
  const Clock::time_point start_;
  std::map<std::string, Trial> recorded_;  // by TrialKey
  int64_t next_number_ = 1;
  double last_wall_s_ = 0.0;  // the last trial run: the next one is expected to take as long
  double timeout_s_ = 0.0;
};

}  // namespace

std::vector<int64_t> TwentyPercentSteps(int64_t n) {
  std::vector<int64_t> out;
  for (int64_t k = 1; k <= 5 && n > 0; ++k) {
    const int64_t v = (n * k + 4) / 5;
    if (out.empty() || out.back() != v) out.push_back(v);
  }
  return out;
}

Status RunTune(const TuneOptions& opts, TuneResult* result) {
  const auto start = Clock::now();
  *result = TuneResult();
  if (opts.rapid_binary.empty()) return Status::InvalidArgument("no rapid program to run trials with");
  if (opts.output_dir.empty()) return Status::InvalidArgument("--output: an output folder is needed");
  if (!(opts.time_budget_s > 0)) return Status::InvalidArgument("--time-budget must be positive");
  std::error_code ec;
  fs::create_directories(opts.output_dir, ec);
  if (ec || !fs::is_directory(opts.output_dir)) return Status::IOError(opts.output_dir + ": cannot create output folder");

  std::string input = opts.input;
  if (input.empty()) {
    if (opts.log) opts.log("writing a synthetic input of " + std::to_string(opts.synth_stations) + " stations to " +
                           opts.output_dir + "/synth");
    RAPID_RETURN_IF_ERROR(PrepareSynthInput(opts, &input));
  }
  InputFacts facts;
  RAPID_RETURN_IF_ERROR(ScanFacts(input, &facts));
  if (facts.stations == 0) return Status::NotFound(input + ": no stations found");
  const std::vector<int> allowed = CurrentThreadCpus();
  if (allowed.empty()) return Status::Internal("cannot read this process's CPUs (sched_getaffinity)");
  for (int cpu : opts.cpus) {
    if (std::find(allowed.begin(), allowed.end(), cpu) == allowed.end()) {
      return Status::InvalidArgument("--cpus: CPU " + std::to_string(cpu) + " is not one this process may use (" +
                                     FormatCpuList(allowed) + ")");
    }
  }
  const std::vector<int> cpus = opts.cpus.empty() ? allowed : opts.cpus;

  TrialsFile file;
  std::vector<Trial> existing;
  RAPID_RETURN_IF_ERROR(file.Open(opts.output_dir + "/trials.csv", &existing));
  Tuner tuner(opts, input, facts, &file, existing, result);
  std::vector<TuneContext> contexts = PlanTuneContexts(opts, cpus, facts.stations);
  bool go_on = true;
  for (const TuneContext& c : contexts) {
    if (!go_on) {
      result->contexts_skipped.push_back(c.Describe());
      continue;
    }
    RAPID_RETURN_IF_ERROR(tuner.MeasureContext(c, &go_on));
    if (!go_on) result->contexts_skipped.push_back(c.Describe());
  }
  RAPID_RETURN_IF_ERROR(tuner.WriteBest());
  result->trials_total = tuner.Recorded();
  result->wall_s = std::chrono::duration<double>(Clock::now() - start).count();
  return Status::OK();
}

}  // namespace rapid
