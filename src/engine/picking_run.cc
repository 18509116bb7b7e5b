#include "engine/picking_run.h"
#include "engine/picking_run_steps.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <set>

#include "core/hz_text.h"
#include "dispatch/cpu_confinement.h"
#include "dispatch/resource_probe.h"
#include "dispatch/vram_monitor.h"
#include "engine/picking_pipeline.h"
#include "engine/eqcctpro_windows.h"
#include "engine/progress_reporter.h"
#include "engine/rate_survey.h"
#include "engine/run_plan.h"
#include "engine/station_block.h"
#include "engine/station_stream.h"
#include "engine/time_chunks.h"
#include "engine/unit_producer.h"
#include "engine/unit_tracker.h"
#include "models/device.h"
#include "models/registry.h"
#include "models/respecified_model.h"
#include "sinks/journal.h"
#include "sinks/pick_spill.h"
#include "sinks/run_outputs.h"

namespace rapid {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

}  // namespace

Status PrepareModel(const RunOptions& opts, RunReport* report, PreparedRun* run) {
  if (Status s = run->confinement.Confine(opts.plan.cpus); !s.ok()) return Status::InvalidArgument("--cpus: " + s.message());
  RAPID_RETURN_IF_ERROR(LoadModel(opts.model, opts.weights, &run->loaded, "cpu", opts.plan.cpu_backend));
  const ModelSpec& spec = run->loaded.model->Spec();
  report->model = run->loaded.name;
  report->model_class = spec.class_name;
  report->weights_path = run->loaded.weights_path;
  report->weights_sha256 = run->loaded.weights_sha256;
  report->backend = run->loaded.backend;
  if (opts.eqcctpro_preset && run->loaded.name != "eqcct") {
    return Status::InvalidArgument("--preset eqcctpro runs EQCCTPro's EQCCT (--model eqcct), not " + run->loaded.name);
  }
  const ModelSpec run_spec = opts.eqcctpro_preset ? EqcctproSpec(spec) : spec;
  for (const std::string& label : run_spec.labels) {
    if (label == run_spec.noise_label) continue;
    report->thresholds[label] = LabelThreshold(label, opts.thresholds, run_spec);
  }
  report->filter = opts.filter;
  if (opts.eqcctpro_preset) report->preset = "eqcctpro";
  return Status::OK();
}

namespace {

// What preprocessing the input may hold at once: the largest StationStream::PreprocessBytesBound
// at the rates its units start with, for channels as long as their files allow
// (engine/rate_survey.h), and a line for the plan's reasons.
int64_t PreprocessBytes(const PreparedRun& run, std::string* reason) {
  const ModelSpec& spec = run.loaded.model->Spec();
  int64_t bytes = 0;
  std::string fourier_rates;
  const ResamplePieces pieces;  // rapid run's
  for (const SurveyedRate& r : SurveySampleRates(run.units, pieces.fourier_whole_max_samples)) {
    const int64_t b = StationStream::PreprocessBytesBound(spec, r.rate_hz, r.max_channel_samples, pieces);
    if (b == 0) continue;
    bytes = std::max(bytes, b);
    fourier_rates += (fourier_rates.empty() ? "" : ", ") + HzText(r.rate_hz);
  }
  if (bytes > 0) {
    *reason = "preprocessing: up to " + FormatBytes(bytes) + " for the Fourier resampling of whole segments " +
              "(input at " + fourier_rates + ", model at " + HzText(spec.rate_hz) + ")";
  }
  return bytes;
}

}  // namespace

Status PrepareInput(const RunOptions& opts, RunReport* report, PreparedRun* run) {
  if (opts.chunk_ns > 0) {
    if (opts.start == kUnsetTime || opts.end == kUnsetTime) {
      return Status::InvalidArgument("--chunk needs --start and --end (the chunks are planned over that span)");
    }
    RAPID_RETURN_IF_ERROR(PlanTimeChunks(opts.start, opts.end, opts.chunk_ns, opts.overlap_ns, &run->time_chunks));
    report->time_chunks = static_cast<int64_t>(run->time_chunks.size());
    report->chunk_s = static_cast<double>(opts.chunk_ns) / kNanosPerSecond;
    report->chunk_overlap_s = static_cast<double>(opts.overlap_ns) / kNanosPerSecond;
  } else if (opts.overlap_ns > 0) {
    return Status::InvalidArgument("--overlap needs --chunk");
  }
  InputLayout detected = InputLayout::kFiles;
  ScanOptions scan;
  scan.layout = opts.layout;
  scan.start = opts.start;
  scan.end = opts.end;
  RAPID_RETURN_IF_ERROR(ScanInput(opts.input, scan, &run->files, &detected, &report->notes));
  report->layout = LayoutName(detected);
  if (opts.eqcctpro_preset) {
    if (detected != InputLayout::kChunks) {
      return Status::InvalidArgument("--preset eqcctpro reads EQCCTPro's timechunk layout (<start>_<end>/<STA>/*mseed); " +
                                     opts.input + " is laid out as " + LayoutName(detected));
    }
    if (opts.chunk_ns > 0) {
      return Status::InvalidArgument("--preset eqcctpro takes its chunks from the timechunk folders; drop --chunk");
    }
    if (opts.save_probabilities) {
      return Status::InvalidArgument("--save-probabilities is not available with --preset eqcctpro: EQCCTPro's 60 s "
                                     "windows overlap and are never stacked into one trace per station");
    }
  }
  report->files_total = static_cast<int64_t>(run->files.size());
  run->units = ListWorkUnits(run->files, detected, opts.max_stations, &report->notes);
  run->preprocess_bytes = PreprocessBytes(*run, &run->preprocess_reason);
  return Status::OK();
}

namespace {

// What besides model, weights and input changes the picks, for the journal's header: a resumed run
// must have the same. Empty for a plain run.
std::string RunSettings(const RunOptions& opts, const RunReport& r) {
  std::string s;
  if (!r.preset.empty()) s += "preset=" + r.preset + " ";
  if (r.filter.active()) {
    s += "taper_s=" + std::to_string(r.filter.taper_s) + " ";
    if (r.filter.bandpass) {
      s += "bandpass=" + std::to_string(r.filter.low_hz) + "," + std::to_string(r.filter.high_hz) + "," +
           std::to_string(r.filter.corners) + " ";
    }
  }
  if (!r.preset.empty() || !opts.thresholds.empty()) {
    for (const auto& [label, th] : r.thresholds) s += label + "=" + std::to_string(th) + " ";
  }
  if (!s.empty()) s.pop_back();
  return s;
}

}  // namespace

Status PrepareInstances(const RunOptions& opts, RunReport* report, PreparedRun* run) {
  PlanRequest request = opts.plan;
  request.preprocess_bytes = run->preprocess_bytes;
  RAPID_RETURN_IF_ERROR(PlanRun(request, run->loaded, &report->plan));
  if (!run->preprocess_reason.empty()) report->plan.reasons.push_back(run->preprocess_reason);
  RAPID_RETURN_IF_ERROR(LoadExecutors(report->plan, run->loaded, &run->executors));
  if (opts.eqcctpro_preset) {
    for (Model*& instance : run->executors.instances) {
      run->respecified.push_back(std::make_unique<RespecifiedModel>(instance, EqcctproSpec(instance->Spec())));
      instance = run->respecified.back().get();
    }
  }
  report->rss_after_load_bytes = CurrentRssBytes();
  for (const RunDevicePlan& d : report->plan.devices) {
    if (d.name != "cpu") run->cuda_devices.push_back(d.name);
  }
  return Status::OK();
}

Status PrepareOutputs(const RunOptions& opts, RunReport* report, PreparedRun* run) {
  std::error_code ec;
  fs::create_directories(opts.output_dir, ec);
  if (ec || !fs::is_directory(opts.output_dir)) return Status::IOError(opts.output_dir + ": cannot create output folder");
  RAPID_RETURN_IF_ERROR(run->picks.Open(opts.output_dir + "/.picks.spill"));
  RAPID_RETURN_IF_ERROR(run->detections.Open(opts.output_dir + "/.detections.spill"));
  // The journal: completed units of an earlier, unfinished run of this output (with --resume).
  RAPID_RETURN_IF_ERROR(run->journal.Open(opts.output_dir + "/journal.jsonl",
                                          {run->loaded.name, run->loaded.weights_sha256, opts.input, RunSettings(opts, *report)},
                                          opts.resume,
                                          [&](JournalUnit&& u) {
                                            run->resumed_units.insert(u.unit);
                                            run->AddUnitResults(std::move(u), report);
                                            return Status::OK();
                                          }));
  if (!run->resumed_units.empty()) {
    report->notes.push_back("resumed: " + std::to_string(run->resumed_units.size()) + " units from " +
                            opts.output_dir + "/journal.jsonl");
  }
  return Status::OK();
}

namespace {

PipelineOptions PipelineOptionsOf(const RunOptions& opts, const RunPlan& plan, const Executors& executors) {
  PipelineOptions p;
  p.keep_traces = opts.save_probabilities;
  p.thresholds = opts.thresholds;
  AnnotateOptions& a = p.annotate;
  a.batch_size = plan.batch_size;
  a.instance_batch_sizes = executors.batch_sizes;
  a.instance_threads = executors.threads;
  a.max_batch_wait_ms = opts.max_batch_wait_ms;
  a.stop = opts.stop;
  a.intra_threads = plan.intra_threads;
  a.cpus = plan.cpus;
  a.queue_capacity_bytes = plan.queue_capacity_bytes;  // the planner's, read-ahead included
  return p;
}

}  // namespace

PickedUnits PickUnits(const RunOptions& opts, PreparedRun* run, const UnitFlow& flow, RunReport* report) {
  const ModelSpec& spec = run->executors.instances.front()->Spec();
  std::vector<int> cuda_indices;
  for (const std::string& d : run->cuda_devices) cuda_indices.push_back(CudaIndex(d));
  VramMonitor vram_monitor(cuda_indices, std::chrono::milliseconds(100), CudaMemoryInfo);
  UnitTracker tracker(spec, flow.journal, opts.save_probabilities ? opts.output_dir + "/probabilities" : "", flow.complete,
                      opts.output_dir + "/eqcctpro");
  PickingPipeline pipeline(
      run->executors.instances, PipelineOptionsOf(opts, report->plan, run->executors),
      [&](BlockOutput&& b) { tracker.OnBlock(std::move(b)); },
      [&](uint64_t stream, const std::string& id, const std::string& m) { tracker.OnFailure(stream, id, m); },
      [&](uint64_t stream) { tracker.OnStreamDone(stream); });
  UnitProducer producer(opts, &pipeline, &tracker, report);
  ProgressReporter progress(opts.progress != RunOptions::Progress::kOff && flow.units_total > 0, flow.units_total);
  size_t units_read = 0;
  while (!pipeline.stopped()) {
    if (opts.stop != nullptr && opts.stop->load()) {
      report->interrupted = true;
      break;
    }
    progress.Update(units_read, pipeline.windows_done(), false);
    const WorkUnit* unit = flow.next();
    if (unit == nullptr) break;
    producer.ReadUnit(*unit);
    ++units_read;
  }
  pipeline.Finish();
  vram_monitor.Stop();
  const std::vector<int64_t> vram_peaks = vram_monitor.PeakUsedBytes();
  for (size_t i = 0; i < run->cuda_devices.size(); ++i) report->vram_peak_used_bytes[run->cuda_devices[i]] = vram_peaks[i];
  const AnnotateStats& stats = pipeline.stats();
  progress.Update(units_read, stats.windows, true);
  PickedUnits picked;
  picked.incomplete = tracker.Incomplete();
  picked.units_read = static_cast<int64_t>(units_read);
  picked.selection = producer.selection();
  if (opts.stop != nullptr && opts.stop->load() && !picked.incomplete.empty()) report->interrupted = true;
  picked.complete = picked.incomplete.empty() && !report->interrupted;
  picked.journal = tracker.status();
  if (!picked.journal.ok()) report->errors.push_back({"", "", picked.journal.message()});
  report->stage_s["read"] = producer.read_s;
  report->stage_s["preprocess"] = producer.preprocess_s - stats.producer_wait_s;
  report->stage_s["producer_wait"] = stats.producer_wait_s;
  report->stage_s["normalise"] = stats.normalise_s;
  report->stage_s["forward"] = stats.forward_s;
  report->stage_s["stitch"] = stats.stitch_s;
  report->stage_s["annotate_wall"] = stats.wall_s;
  report->stage_s["pick"] = pipeline.pick_s();
  report->annotated_station_s = pipeline.annotated_station_s();
  report->queue_high_water_bytes = stats.queue_high_water_bytes;
  for (const InstanceStats& i : stats.instances) {
    report->instances.push_back({i.windows, i.batches, i.busy_s, stats.wall_s > 0 ? i.busy_s / stats.wall_s : 0.0});
  }
  report->windows = stats.windows;
  report->batches = stats.batches;
  report->blocks = stats.blocks;
  return picked;
}

// Units left incomplete (a stop dropped some of their blocks) are not journaled: a resumed run
// does them again. Their stations count as failed here.
void AddIncompleteUnits(const std::vector<JournalUnit>& incomplete, PreparedRun* run, RunReport* report) {
  for (const JournalUnit& u : incomplete) {
    for (const auto& [station, code] : u.stations) {
      run->stations.insert(station);
      run->failed_stations.insert(station);
    }
    report->errors.insert(report->errors.end(), u.errors.begin(), u.errors.end());
  }
}

Status WriteOutputs(const RunOptions& opts, PreparedRun* run, const PickedUnits& picked, RunReport* report) {
  report->picks = run->picks.size();
  report->detections = run->detections.size();
  for (const std::string& u : run->failed_stations) run->stations.insert(u);
  report->units_total = static_cast<int64_t>(run->stations.size());
  report->units_failed = static_cast<int64_t>(run->failed_stations.size());
  report->units_done = report->units_total - report->units_failed;
  RunOutputOptions out;
  out.dir = opts.output_dir;
  out.model_name = run->loaded.name;
  out.detections = !run->loaded.model->Spec().detection_label.empty();
  out.quakeml = opts.write_quakeml;
  out.eqcctpro = opts.write_eqcctpro && !opts.eqcctpro_preset;  // the preset wrote its own tables
  out.creation_time = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::system_clock::now().time_since_epoch()).count();
  // EQCCTPro's chunks: the planned ones, else the input's timechunk folders.
  std::set<std::pair<NanoTime, NanoTime>> chunks;
  for (const TimeChunk& c : run->time_chunks) chunks.insert({c.start, c.end});
  for (const InputFile& f : run->files) {
    if (run->time_chunks.empty() && f.chunk_start != kUnsetTime) chunks.insert({f.chunk_start, f.chunk_end});
  }
  out.eqcctpro_chunks.assign(chunks.begin(), chunks.end());
  out.instrument_by_station = run->instrument_by_station;
  Status s = run->spill_status;
  if (s.ok()) s = WriteRunOutputs(out, run->picks, run->detections);
  if (!s.ok()) report->errors.push_back({"", "", s.message()});
  if (s.ok() && picked.complete && picked.journal.ok()) s = run->journal.Remove();
  return s;
}

RunOutcome RunPicking(const RunOptions& opts, RunReport* report) {
  const auto run_start = Clock::now();
  report->rapid_version = RAPID_VERSION;
  report->input = opts.input;
  PreparedRun run;
  Status config = PrepareModel(opts, report, &run);
  if (config.ok()) config = PrepareInput(opts, report, &run);
  if (config.ok()) config = PrepareInstances(opts, report, &run);
  if (config.ok()) config = PrepareOutputs(opts, report, &run);
  if (!config.ok()) return RunOutcome::ConfigurationError(config);
  size_t next = 0;
  UnitFlow flow;
  flow.next = [&]() -> const WorkUnit* {
    while (next < run.units.size() && run.resumed_units.count(run.units[next].name) > 0) ++next;
    return next < run.units.size() ? &run.units[next++] : nullptr;
  };
  flow.complete = [&](JournalUnit&& u) { run.AddUnitResults(std::move(u), report); };
  flow.journal = &run.journal;
  flow.units_total = run.units.size() - std::min(run.units.size(), run.resumed_units.size());
  const PickedUnits picked = PickUnits(opts, &run, flow, report);
  CheckSelection(opts, picked.selection, report);
  AddIncompleteUnits(picked.incomplete, &run, report);
  const auto t = Clock::now();
  Status outputs = WriteOutputs(opts, &run, picked, report);
  report->stage_s["write"] = Since(t);
  report->peak_rss_bytes = PeakRssBytes();
  report->wall_s = Since(run_start);
  Status written = WriteRunReport(opts.output_dir + "/run.json", *report);
  return RunOutcome::Finished(outputs.ok() ? written : outputs);
}

}  // namespace rapid
