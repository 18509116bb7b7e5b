#include "engine/picking_run.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <chrono>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <tuple>

#include "dispatch/resource_probe.h"
#include "dispatch/vram_monitor.h"
#include "engine/annotator.h"
#include "engine/run_plan.h"
#include "engine/station_block.h"
#include "engine/station_stream.h"
#include "engine/time_chunks.h"
#include "io/mseed_reader.h"
#include "io/segment_merge.h"
#include "models/device.h"
#include "models/registry.h"
#include "models/threads.h"
#include "picking/picker.h"
#include "sinks/eqcctpro_csv.h"
#include "sinks/journal.h"
#include "sinks/pick_spill.h"
#include "sinks/picks_csv.h"
#include "sinks/quakeml.h"
#include "sinks/probability_writer.h"

namespace rapid {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// Read-ahead for the block queue when the RAM budget allows it: a PhaseNet piece (~200 000 samples)
// is ~5 MB of samples and stitcher traces, so this keeps ~12 pieces queued — enough that the
// instances do not wait for reading (measured: the same windows/s as 256 MiB on 50 stations × 1 h),
// and small enough that a short run and a long one reach the same peak memory.
constexpr int64_t kMinBlockQueueBytes = int64_t{64} << 20;

// A label's pick threshold when neither the model nor its weights' metadata names one
// (SeisBench's default for P and S).
constexpr double kDefaultPickThreshold = 0.3;

// A block's times are known only up to its time shift until its last piece (StationBlock).
void ShiftPickTimes(NanoTime shift_ns, std::vector<Pick>* picks) {
  for (Pick& p : *picks) {
    p.start_time += shift_ns;
    p.peak_time += shift_ns;
    p.end_time += shift_ns;
  }
}

void ShiftAnnotationTimes(NanoTime shift_ns, Annotation* a) {
  a->start += shift_ns;
  a->block_start += shift_ns;
}

double Since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Drops the samples of `seg` outside [start, end] (either may be unset).
void TrimToSelection(NanoTime start, NanoTime end, TraceSegment* seg) {
  if (seg->samples.empty()) return;
  int64_t n = static_cast<int64_t>(seg->samples.size());
  int64_t first = 0, last = n;  // [first, last)
  while (start != kUnsetTime && first < n && seg->SampleTimeAt(first) < start) ++first;
  while (end != kUnsetTime && last > first && seg->SampleTimeAt(last - 1) > end) --last;
  seg->samples.erase(seg->samples.begin() + last, seg->samples.end());
  seg->samples.erase(seg->samples.begin(), seg->samples.begin() + first);
  seg->start = SampleTime(seg->start, first, seg->rate_hz);
}


// The span of the data read, to say what --start/--end left out when they leave nothing.
struct DataSpan {
  NanoTime lo = kUnsetTime, hi = kUnsetTime;
  void Add(NanoTime first, NanoTime last) {
    lo = lo == kUnsetTime ? first : std::min(lo, first);
    hi = hi == kUnsetTime ? last : std::max(hi, last);
  }
  void Add(const TraceSegment& seg) {
    if (!seg.samples.empty()) Add(seg.start, seg.LastSampleTime());
  }
  bool empty() const { return lo == kUnsetTime; }
  std::string Text() const { return FormatIsoMicros(lo) + " – " + FormatIsoMicros(hi); }
};

std::string SelectionText(NanoTime start, NanoTime end) {
  if (end == kUnsetTime) return "from " + FormatIsoMicros(start);
  if (start == kUnsetTime) return "until " + FormatIsoMicros(end);
  return FormatIsoMicros(start) + " – " + FormatIsoMicros(end);
}

// The planned time chunks, else the chunks of the input (timechunk folders), else one span covering
// every pick.
Status OutputChunks(const std::vector<TimeChunk>& planned, const std::vector<InputFile>& files, const PickSpill& picks,
                    std::vector<std::pair<NanoTime, NanoTime>>* chunks) {
  std::set<std::pair<NanoTime, NanoTime>> spans;
  for (const TimeChunk& c : planned) spans.insert({c.start, c.end});
  for (const InputFile& f : files) {
    if (!planned.empty()) break;
    if (f.chunk_start != kUnsetTime) spans.insert({f.chunk_start, f.chunk_end});
  }
  if (spans.empty() && picks.size() > 0) {
    NanoTime lo = std::numeric_limits<NanoTime>::max(), hi = std::numeric_limits<NanoTime>::min();
    RAPID_RETURN_IF_ERROR(picks.ForEach([&](const Pick& p) {
      lo = std::min(lo, p.start_time);
      hi = std::max(hi, p.end_time);
      return Status::OK();
    }));
    spans.insert({lo, hi});
  }
  chunks->assign(spans.begin(), spans.end());
  return Status::OK();
}

// Progress reports from the producer thread: units read, windows annotated, rate, ETA, RSS.
class ProgressReporter {
 public:
  ProgressReporter(bool enabled, size_t units_total)
      : enabled_(enabled), terminal_(isatty(STDERR_FILENO) != 0), units_total_(units_total), start_(Clock::now()) {}

  void Update(size_t units_done, int64_t windows_done, bool final_line) {
    if (!enabled_ || (units_done == 0 && !final_line)) return;
    const double elapsed = Since(start_);
    const double min_gap_s = terminal_ ? 0.2 : 10.0;
    if (!final_line && elapsed - last_s_ < min_gap_s) return;
    last_s_ = elapsed;
    const double rate = elapsed > 0 ? static_cast<double>(windows_done) / elapsed : 0.0;
    const double fraction = units_total_ > 0 ? static_cast<double>(units_done) / static_cast<double>(units_total_) : 1.0;
    const double eta = fraction > 0 ? elapsed * (1.0 - fraction) / fraction : 0.0;
    std::fprintf(stderr, "%sunits %zu/%zu  windows %lld  %.0f windows/s  ETA %.0f s  RSS %lld MiB%s",
                 terminal_ ? "\r" : "rapid: ", units_done, units_total_, static_cast<long long>(windows_done), rate,
                 eta, static_cast<long long>(CurrentRssBytes() >> 20), terminal_ && !final_line ? "" : "\n");
    std::fflush(stderr);
  }

 private:
  bool enabled_, terminal_;
  size_t units_total_;
  Clock::time_point start_;
  double last_s_ = -1e9;
};

// --cpus: the calling thread (and so every thread the run starts) keeps to `cpus` while this
// lives; its former CPUs are restored afterwards.
class CpuConfinement {
 public:
  Status Confine(const std::vector<int>& cpus) {
    if (cpus.empty()) return Status::OK();
    previous_ = CurrentThreadCpus();
    Status s = PinCurrentThread(cpus);
    if (!s.ok()) previous_.clear();
    return s;
  }
  ~CpuConfinement() {
    if (!previous_.empty()) (void)PinCurrentThread(previous_);
  }

 private:
  std::vector<int> previous_;
};

}  // namespace

Status RunPicking(const RunOptions& opts, RunReport* report) {
  const auto run_start = Clock::now();
  report->rapid_version = RAPID_VERSION;
  report->input = opts.input;
  CpuConfinement confinement;
  if (Status s = confinement.Confine(opts.cpus); !s.ok()) return Status::InvalidArgument("--cpus: " + s.message());

  // Configuration: model, input, output folder — all checked before any work.
  LoadedModel loaded;
  RAPID_RETURN_IF_ERROR(LoadModel(opts.model, opts.weights, &loaded));
  const ModelSpec& spec = loaded.model->Spec();
  report->model = loaded.name;
  report->model_class = spec.class_name;
  report->weights_path = loaded.weights_path;
  report->weights_sha256 = loaded.weights_sha256;

  std::vector<TimeChunk> time_chunks;
  if (opts.chunk_ns > 0) {
    if (opts.start == kUnsetTime || opts.end == kUnsetTime) {
      return Status::InvalidArgument("--chunk needs --start and --end (the chunks are planned over that span)");
    }
    RAPID_RETURN_IF_ERROR(PlanTimeChunks(opts.start, opts.end, opts.chunk_ns, opts.overlap_ns, &time_chunks));
    report->time_chunks = static_cast<int64_t>(time_chunks.size());
    report->chunk_s = static_cast<double>(opts.chunk_ns) / kNanosPerSecond;
    report->chunk_overlap_s = static_cast<double>(opts.overlap_ns) / kNanosPerSecond;
  } else if (opts.overlap_ns > 0) {
    return Status::InvalidArgument("--overlap needs --chunk");
  }

  std::vector<InputFile> files;
  InputLayout detected = InputLayout::kFiles;
  ScanOptions scan;
  scan.layout = opts.layout;
  scan.start = opts.start;
  scan.end = opts.end;
  RAPID_RETURN_IF_ERROR(ScanInput(opts.input, scan, &files, &detected, &report->notes));
  report->layout = LayoutName(detected);
  report->files_total = static_cast<int64_t>(files.size());

  RAPID_RETURN_IF_ERROR(PlanRun(opts, loaded, &report->plan));
  std::error_code ec;
  fs::create_directories(opts.output_dir, ec);
  if (ec || !fs::is_directory(opts.output_dir)) {
    return Status::IOError(opts.output_dir + ": cannot create output folder");
  }

  const RunPlan& plan = report->plan;
  Executors executors;
  RAPID_RETURN_IF_ERROR(LoadExecutors(plan, loaded, &executors));
  const std::vector<Model*>& instances = executors.instances;
  report->rss_after_load_bytes = CurrentRssBytes();
  std::vector<std::string> cuda_devices;
  std::vector<int> cuda_indices;
  for (const RunDevicePlan& d : plan.devices) {
    if (d.name == "cpu") continue;
    cuda_devices.push_back(d.name);
    cuda_indices.push_back(CudaIndex(d.name));
  }
  VramMonitor vram_monitor(cuda_indices, std::chrono::milliseconds(100), CudaMemoryInfo);

  // Producer (this thread): one unit of files at a time — read, merge, preprocess, submit — while
  // the model instances annotate what was submitted before. A bad file is an error of that file only.
  AnnotateOptions annotate_opts;
  annotate_opts.batch_size = plan.batch_size;
  annotate_opts.instance_batch_sizes = executors.batch_sizes;
  annotate_opts.instance_threads = executors.threads;
  annotate_opts.max_batch_wait_ms = opts.max_batch_wait_ms;
  annotate_opts.stop = opts.stop;
  annotate_opts.intra_threads = plan.intra_threads;
  annotate_opts.cpus = plan.cpus;
  // Read-ahead of whole blocks: at least kMinBlockQueueBytes so the producer stays a few blocks
  // ahead of the instances, within what the RAM budget leaves after the planned peak.
  const int64_t budget_left = plan.host_budget_bytes - plan.expected_peak_host_bytes;
  annotate_opts.queue_capacity_bytes =
      std::max(plan.queue_capacity_bytes, std::min(kMinBlockQueueBytes, std::max<int64_t>(budget_left, 0)));
  // Results of the whole run: units are added when complete (journaled), in any order. Their
  // picks wait on disk (the spills), so memory does not grow with the number of picks.
  PickSpill picks, detections;  // detections: triggers of spec.detection_label
  RAPID_RETURN_IF_ERROR(picks.Open(opts.output_dir + "/.picks.spill"));
  RAPID_RETURN_IF_ERROR(detections.Open(opts.output_dir + "/.detections.spill"));
  Status spill_status;  // the first failure to spill; the outputs are then not written
  std::set<std::string> failed_units;
  std::set<std::string> units;
  std::map<std::string, std::string> instrument_by_unit;  // "NET.STA.LOC" → band+instrument code
  auto add_unit_results = [&](JournalUnit&& u) {
    Status s = picks.Add(std::move(u.picks));
    if (s.ok()) s = detections.Add(std::move(u.detections));
    if (!s.ok() && spill_status.ok()) spill_status = s;
    for (const auto& [station, code] : u.stations) {
      units.insert(station);
      instrument_by_unit.emplace(station, code);
    }
    failed_units.insert(u.failed_stations.begin(), u.failed_stations.end());
    report->errors.insert(report->errors.end(), u.errors.begin(), u.errors.end());
  };
  // The journal: completed units of an earlier, unfinished run of this output (with --resume).
  Journal journal;
  std::set<std::string> resumed_units;
  RAPID_RETURN_IF_ERROR(journal.Open(opts.output_dir + "/journal.jsonl",
                                     {loaded.name, loaded.weights_sha256, opts.input}, opts.resume,
                                     [&](JournalUnit&& u) {
                                       resumed_units.insert(u.unit);
                                       add_unit_results(std::move(u));
                                       return Status::OK();
                                     }));
  if (!resumed_units.empty()) {
    report->notes.push_back("resumed: " + std::to_string(resumed_units.size()) + " units from " + opts.output_dir +
                            "/journal.jsonl");
  }

  // A unit is complete when the producer has submitted all its blocks and each has been picked;
  // then its probability traces are written, it is journaled, and its results join the run's.
  struct UnitProgress {
    int64_t blocks_submitted = 0, blocks_done = 0;
    bool all_submitted = false;
    JournalUnit result;
    std::vector<std::pair<size_t, Annotation>> annotations;  // --save-probabilities only
  };
  std::mutex units_mu;  // guards unit_progress, unit_of_stream, the results above and journal_status
  std::map<std::string, UnitProgress> unit_progress;
  std::map<uint64_t, std::string> unit_of_stream;  // StationStream index (block id >> 32) → unit
  Status journal_status;
  int64_t units_completed = 0;
  auto complete_if_done = [&](const std::string& name) {  // REQUIRES: units_mu held
    auto it = unit_progress.find(name);
    UnitProgress& u = it->second;
    if (!u.all_submitted || u.blocks_done < u.blocks_submitted) return;
    Status s;
    if (opts.save_probabilities && !u.annotations.empty()) {
      std::sort(u.annotations.begin(), u.annotations.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
      std::vector<Annotation> ordered;
      for (auto& entry : u.annotations) ordered.push_back(std::move(entry.second));
      s = WriteProbabilityTraces(opts.output_dir + "/probabilities", ordered, spec, nullptr);
    }
    if (s.ok()) s = journal.Append(u.result);
    if (!s.ok() && journal_status.ok()) journal_status = s;
    add_unit_results(std::move(u.result));
    units_completed += 1;
    unit_progress.erase(it);
  };

  double pick_s = 0.0;
  // A block's picks wait here until its last piece, which carries the block's time shift.
  struct BlockPicking {
    std::vector<PickStream> streams;  // one per spec.labels entry
    std::vector<Pick> picks, detections;
  };
  std::map<uint64_t, BlockPicking> pickers;  // by block id, until its last piece
  Annotator annotator(instances, annotate_opts, [&](size_t number, Annotation&& a) {
    const auto t0 = Clock::now();
    std::lock_guard<std::mutex> lock(units_mu);
    const std::string& unit = unit_of_stream.at(a.block_id >> 32);
    UnitProgress& up = unit_progress[unit];
    auto [it, fresh] = pickers.try_emplace(a.block_id);
    BlockPicking& bp = it->second;
    if (fresh) {
      for (const std::string& label : spec.labels) {
        auto th = spec.thresholds.find(label);
        bp.streams.emplace_back(a.trace_id, label, a.block_start, a.rate_hz,
                                th == spec.thresholds.end() ? kDefaultPickThreshold : th->second);
      }
    }
    for (size_t l = 0; l < spec.labels.size(); ++l) {
      const std::string& label = spec.labels[l];
      if (label == spec.noise_label) continue;
      std::vector<Pick>* out = label == spec.detection_label ? &bp.detections : &bp.picks;
      bp.streams[l].Feed(a.traces[l].data(), static_cast<int64_t>(a.traces[l].size()), a.offset, out);
      if (a.last_piece) bp.streams[l].Close(out);
    }
    if (a.last_piece) {
      ShiftPickTimes(a.time_shift_ns, &bp.picks);
      ShiftPickTimes(a.time_shift_ns, &bp.detections);
      up.result.picks.insert(up.result.picks.end(), bp.picks.begin(), bp.picks.end());
      up.result.detections.insert(up.result.detections.end(), bp.detections.begin(), bp.detections.end());
      if (opts.save_probabilities) {
        for (auto& [n, earlier] : up.annotations) {
          if (earlier.block_id == a.block_id) ShiftAnnotationTimes(a.time_shift_ns, &earlier);
        }
        ShiftAnnotationTimes(a.time_shift_ns, &a);
      }
    }
    if (!a.failure.empty()) {
      // The model failed on some window of this block even alone: the station is reported failed
      // with the reason, and the rest of its data is picked as usual.
      up.result.errors.push_back({a.trace_id, "", "model failed on a window from " + FormatIsoMicros(a.start) + ": " +
                                                      a.failure});
      if (std::find(up.result.failed_stations.begin(), up.result.failed_stations.end(), a.trace_id) ==
          up.result.failed_stations.end()) {
        up.result.failed_stations.push_back(a.trace_id);
      }
    }
    if (!a.traces.empty() && a.rate_hz > 0) {
      report->annotated_station_s += static_cast<double>(a.traces.front().size()) / a.rate_hz;
    }
    const bool last = a.last_piece;
    if (last) pickers.erase(it);
    if (opts.save_probabilities) up.annotations.emplace_back(number, std::move(a));
    if (last) {
      up.blocks_done += 1;
      complete_if_done(unit);
    }
    pick_s += Since(t0);
  });

  const ReaderOptions reader_opts;
  std::map<std::string, std::vector<const InputFile*>> files_by_unit;
  for (const InputFile& f : files) {
    if (detected == InputLayout::kChunks && f.chunk_start == kUnsetTime) {
      // E.g. arrivals.csv or a README beside the timechunk folders: not part of the layout.
      report->notes.push_back(f.path + ": outside the timechunk folders, not read");
      continue;
    }
    files_by_unit[WorkUnitOfFile(f.path)].push_back(&f);
  }
  if (opts.max_stations > 0 && static_cast<int64_t>(files_by_unit.size()) > opts.max_stations) {
    report->notes.push_back("--max-stations " + std::to_string(opts.max_stations) + ": " +
                            std::to_string(files_by_unit.size() - static_cast<size_t>(opts.max_stations)) +
                            " of " + std::to_string(files_by_unit.size()) + " stations not read");
    files_by_unit.erase(std::next(files_by_unit.begin(), opts.max_stations), files_by_unit.end());
  }
  double read_s = 0.0, preprocess_s = 0.0;
  bool stopped = false;  // the annotator refused a block: a stop was requested
  ProgressReporter progress(opts.progress != RunOptions::Progress::kOff, files_by_unit.size());
  size_t units_read = 0;
  uint64_t streams_opened = 0;
  const int64_t piece_windows = StationStream::DefaultPieceWindows(spec);
  const bool selecting = opts.start != kUnsetTime || opts.end != kUnsetTime;
  DataSpan all_data;          // with --start/--end: the span of every unit's data read
  bool any_selected = false;  // some unit has data in the selection
  for (auto& [name_unit, unit_files] : files_by_unit) {
    if (stopped) break;
    if (opts.stop != nullptr && opts.stop->load()) {
      report->interrupted = true;
      break;
    }
    progress.Update(units_read++, annotator.windows_done(), false);
    if (resumed_units.count(name_unit) > 0) continue;
    {
      std::lock_guard<std::mutex> lock(units_mu);
      unit_progress[name_unit].result.unit = name_unit;
    }
    const size_t first_error = report->errors.size();
    DataSpan unit_data;  // with --start/--end: what the unit's files hold, before the selection
    bool unit_selected = false;
    JournalUnit meta;  // what the producer learns of this unit: stations, failures, errors
    // One stream per instrument, fed one time group of files at a time (a timechunk folder, an SDS
    // day; files without a time of their own form one group), in time order.
    std::sort(unit_files.begin(), unit_files.end(), [](const InputFile* a, const InputFile* b) {
      return std::tie(a->chunk_start, a->path) < std::tie(b->chunk_start, b->path);
    });
    std::map<std::string, std::unique_ptr<StationStream>> streams;  // by instrument
    auto submit = [&](std::vector<StationBlock>* pieces) {
      for (StationBlock& b : *pieces) {
        if (b.last_piece) {
          std::lock_guard<std::mutex> lock(units_mu);
          unit_progress[name_unit].blocks_submitted += 1;
        }
        if (!annotator.Submit(std::move(b))) stopped = true;
      }
      pieces->clear();
    };
    for (size_t g = 0; g < unit_files.size() && !stopped;) {
      size_t group_end = g;
      while (group_end < unit_files.size() && unit_files[group_end]->chunk_start == unit_files[g]->chunk_start) ++group_end;
      auto t = Clock::now();
      std::vector<TraceSegment> pieces;
      for (; g < group_end; ++g) {
        const InputFile* f = unit_files[g];
        MseedFileContents contents;
        Status s = ReadMseedFile(f->path, reader_opts, &contents);
        if (!s.ok()) {
          report->errors.push_back({name_unit, f->path, s.message()});
          report->files_failed += 1;
          if (!name_unit.empty()) meta.failed_stations.push_back(name_unit);
          continue;
        }
        for (const std::string& p : contents.problems) report->errors.push_back({name_unit, f->path, p});
        for (TraceSegment& seg : contents.segments) pieces.push_back(std::move(seg));
      }
      std::vector<std::string> merge_problems;
      std::vector<TraceSegment> segments = MergeSegments(std::move(pieces), reader_opts, &merge_problems);
      for (const std::string& p : merge_problems) report->errors.push_back({name_unit, "", p});
      if (selecting) {
        for (TraceSegment& seg : segments) {
          unit_data.Add(seg);
          TrimToSelection(opts.start, opts.end, &seg);
          unit_selected = unit_selected || !seg.samples.empty();
        }
      }
      read_s += Since(t);

      t = Clock::now();
      for (std::vector<TraceSegment>& instrument : GroupByInstrument(std::move(segments))) {
        const std::string unit = instrument.front().id.StationKey();
        meta.stations.emplace(unit, instrument.front().id.channel.substr(0, 2));
        auto& stream = streams[InstrumentKey(instrument.front().id)];
        if (!stream) {
          {
            std::lock_guard<std::mutex> lock(units_mu);
            unit_of_stream[streams_opened] = name_unit;
          }
          stream = std::make_unique<StationStream>(spec, piece_windows, streams_opened++ << 32);
        }
        std::vector<StationBlock> ready;
        Status s = stream->Push(std::move(instrument), &ready, &report->notes);
        if (!s.ok()) {
          report->errors.push_back({unit, "", s.message()});
          meta.failed_stations.push_back(unit);
        }
        submit(&ready);
      }
      preprocess_s += Since(t);
    }
    const auto t = Clock::now();
    for (auto& [key, stream] : streams) {
      std::vector<StationBlock> ready;
      Status s = stream->Close(&ready, &report->notes);
      if (!s.ok()) {
        report->errors.push_back({key, "", s.message()});
        meta.failed_stations.push_back(key.substr(0, key.rfind('.')));
      }
      submit(&ready);
    }
    preprocess_s += Since(t);
    if (selecting && !unit_data.empty()) {
      all_data.Add(unit_data.lo, unit_data.hi);
      any_selected = any_selected || unit_selected;
      if (!unit_selected) {
        report->notes.push_back(name_unit + ": no data " + SelectionText(opts.start, opts.end) + " (its files hold " +
                                unit_data.Text() + ")");
      }
    }
    // The unit's errors move into its journal entry (they rejoin report->errors on completion).
    meta.errors.assign(report->errors.begin() + static_cast<std::ptrdiff_t>(first_error), report->errors.end());
    report->errors.resize(first_error);
    std::lock_guard<std::mutex> lock(units_mu);
    UnitProgress& u = unit_progress[name_unit];
    u.result.stations = std::move(meta.stations);
    // on_done may already have added model failures of this unit.
    u.result.failed_stations.insert(u.result.failed_stations.end(), meta.failed_stations.begin(),
                                    meta.failed_stations.end());
    u.result.errors.insert(u.result.errors.end(), meta.errors.begin(), meta.errors.end());
    u.all_submitted = true;
    complete_if_done(name_unit);
  }
  annotator.Finish();
  if (selecting && !all_data.empty() && !any_selected) {
    report->errors.push_back({"", "", "--start/--end select " + SelectionText(opts.start, opts.end) +
                                          ", but the data read cover " + all_data.Text() + ": nothing to pick"});
  }
  vram_monitor.Stop();
  const std::vector<int64_t> vram_peaks = vram_monitor.PeakUsedBytes();
  for (size_t i = 0; i < cuda_devices.size(); ++i) report->vram_peak_used_bytes[cuda_devices[i]] = vram_peaks[i];
  const AnnotateStats& stats = annotator.stats();
  progress.Update(units_read, stats.windows, true);
  // Units left incomplete (a stop dropped some of their blocks) are not journaled: a resumed run
  // does them again. Their stations count as failed here.
  for (auto& [name, u] : unit_progress) {
    for (const auto& [station, code] : u.result.stations) {
      units.insert(station);
      failed_units.insert(station);
    }
    report->errors.insert(report->errors.end(), u.result.errors.begin(), u.result.errors.end());
  }
  if (opts.stop != nullptr && opts.stop->load() && !unit_progress.empty()) report->interrupted = true;
  const bool complete = unit_progress.empty() && !report->interrupted;
  if (!journal_status.ok()) report->errors.push_back({"", "", journal_status.message()});
  report->stage_s["read"] = read_s;
  report->stage_s["preprocess"] = preprocess_s - stats.producer_wait_s;
  report->stage_s["producer_wait"] = stats.producer_wait_s;
  report->stage_s["normalise"] = stats.normalise_s;
  report->stage_s["forward"] = stats.forward_s;
  report->stage_s["stitch"] = stats.stitch_s;
  report->stage_s["annotate_wall"] = stats.wall_s;
  report->stage_s["pick"] = pick_s;
  report->queue_high_water_bytes = stats.queue_high_water_bytes;
  for (const InstanceStats& i : stats.instances) {
    report->instances.push_back({i.windows, i.batches, i.busy_s, stats.wall_s > 0 ? i.busy_s / stats.wall_s : 0.0});
  }
  report->windows = stats.windows;
  report->batches = stats.batches;
  report->blocks = stats.blocks;
  report->picks = picks.size();
  report->detections = detections.size();

  // Sinks.
  auto t = Clock::now();
  for (const std::string& u : failed_units) units.insert(u);
  report->units_total = static_cast<int64_t>(units.size());
  report->units_failed = static_cast<int64_t>(failed_units.size());
  report->units_done = report->units_total - report->units_failed;
  Status write_status = spill_status;
  if (write_status.ok()) write_status = WritePicksCsv(opts.output_dir + "/picks.csv", picks, loaded.name);
  if (write_status.ok() && !spec.detection_label.empty()) {
    write_status = WriteDetectionsCsv(opts.output_dir + "/detections.csv", detections, loaded.name);
  }
  if (write_status.ok() && opts.write_quakeml) {
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    QuakeMlOptions q;
    q.instrument_by_trace_id = &instrument_by_unit;
    write_status = WriteQuakeMl(opts.output_dir + "/picks.xml", picks, loaded.name,
                                std::chrono::duration_cast<std::chrono::nanoseconds>(now).count(), q);
  }
  if (write_status.ok() && opts.write_eqcctpro) {
    std::vector<std::pair<NanoTime, NanoTime>> chunks;
    write_status = OutputChunks(time_chunks, files, picks, &chunks);
    if (write_status.ok()) write_status = WriteEqcctproRun(opts.output_dir + "/eqcctpro", chunks, picks, instrument_by_unit);
  }
  if (!write_status.ok()) report->errors.push_back({"", "", write_status.message()});
  // Every unit is in the outputs: the journal has done its work.
  if (write_status.ok() && complete && journal_status.ok()) write_status = journal.Remove();
  report->stage_s["write"] = Since(t);
  report->peak_rss_bytes = PeakRssBytes();
  report->wall_s = Since(run_start);
  RAPID_RETURN_IF_ERROR(WriteRunReport(opts.output_dir + "/run.json", *report));
  return write_status;
}

}  // namespace rapid
