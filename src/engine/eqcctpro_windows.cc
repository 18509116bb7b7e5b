#include "engine/eqcctpro_windows.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <utility>
#include <map>

#include "dsp/linear_interp.h"
#include "dsp/taper.h"

namespace rapid {

namespace {

// ObsPy's round_away: halves away from zero.
int64_t RoundAway(double x) {
  return static_cast<int64_t>(x >= 0 ? std::floor(x + 0.5) : -std::floor(-x + 0.5));
}

// Seconds from `b` to `a`, as UTCDateTime subtraction gives them.
double SecondsBetween(NanoTime a, NanoTime b) { return static_cast<double>(a - b) / 1e9; }

// Stats.endtime: start + (npts − 1) · delta, in whole nanoseconds.
NanoTime EndTime(const TraceSegment& t) {
  const int64_t n = static_cast<int64_t>(t.samples.size());
  return t.start + std::llround(static_cast<double>(std::max<int64_t>(n - 1, 0)) * (1.0 / t.rate_hz) * 1e9);
}

// Trace.trim(start, end, pad=True, fill_value=0) with nearest_sample: the trace keeps its own grid
// and gains zeros up to the sample nearest each bound.
void PadToSpan(NanoTime start, NanoTime end, TraceSegment* t) {
  const int64_t before = -RoundAway(SecondsBetween(start, t->start) * t->rate_hz);
  if (before > 0) {
    t->samples.insert(t->samples.begin(), static_cast<size_t>(before), 0.0);
    t->start -= std::llround(static_cast<double>(before) * (1.0 / t->rate_hz) * 1e9);
  }
  const int64_t after =
      RoundAway(SecondsBetween(end, t->start) * t->rate_hz - static_cast<double>(t->samples.size()) + 1.0);
  if (after > 0) t->samples.insert(t->samples.end(), static_cast<size_t>(after), 0.0);
}

// Trace.slice(from, to)'s samples (nearest_sample, no padding), at most `limit` of them: a window
// starting before the trace takes it from its first sample; one starting after its end is empty.
void SliceInto(const TraceSegment& t, NanoTime from, NanoTime to, int64_t limit, float* out) {
  const int64_t n = static_cast<int64_t>(t.samples.size());
  int64_t first = RoundAway(SecondsBetween(from, t.start) * t.rate_hz);
  NanoTime first_time = t.start;
  if (first > 0) {
    if (from > EndTime(t)) return;
    first_time += std::llround(static_cast<double>(first) * (1.0 / t.rate_hz) * 1e9);
  } else {
    first = 0;
  }
  int64_t count = n - first;
  const int64_t cut = RoundAway(SecondsBetween(to, first_time) * t.rate_hz - static_cast<double>(count) + 1.0);
  if (cut < 0) {
    count += cut;  // Python's data[:len − |cut|]; a negative length counts from the end again
    if (count < 0) count = std::max<int64_t>(n - first + count, 0);
  }
  count = std::min(count, limit);
  for (int64_t i = 0; i < count; ++i) out[i] = static_cast<float>(t.samples[first + i]);
}

// The EQCCTPro column (0: E or 1, 1: N or 2, 2: Z) a component letter of the model feeds.
int ColumnOfComponent(char component) {
  switch (component) {
    case 'E': return 0;
    case 'N': return 1;
    case 'Z': return 2;
    default: return -1;
  }
}

}  // namespace

std::vector<std::string> EqcctproReadingOrder(const std::vector<std::string>& paths, std::vector<std::string>* skipped) {
  namespace fs = std::filesystem;
  std::map<std::string, int64_t> position;  // path → its place in its folder's listing
  std::map<std::string, bool> listed_folders;
  for (const std::string& path : paths) {
    const std::string folder = fs::path(path).parent_path().string();
    if (listed_folders.count(folder) > 0) continue;
    std::error_code ec;
    int64_t k = 0;
    for (fs::directory_iterator it(folder.empty() ? "." : folder, ec), end; !ec && it != end; it.increment(ec)) {
      position[(fs::path(folder) / it->path().filename()).string()] = k++;
    }
    listed_folders[folder] = !ec;
  }
  std::vector<std::pair<std::pair<int64_t, size_t>, std::string>> ordered;
  for (size_t i = 0; i < paths.size(); ++i) {
    const std::string name = fs::path(paths[i]).filename().string();
    const bool matches = name.size() >= 5 && name.compare(name.size() - 5, 5, "mseed") == 0 && name[0] != '.';
    if (!matches) {
      skipped->push_back(paths[i]);
      continue;
    }
    auto it = position.find((fs::path(paths[i]).parent_path() / name).string());
    ordered.push_back({{it == position.end() ? INT64_MAX : it->second, i}, paths[i]});
  }
  std::sort(ordered.begin(), ordered.end());
  std::vector<std::string> out;
  for (auto& entry : ordered) out.push_back(std::move(entry.second));
  return out;
}

Status EqcctproFileTraces(const std::vector<TraceSegment>& file_segments, std::vector<TraceSegment>* traces) {
  std::vector<std::vector<const TraceSegment*>> by_channel;  // in order of first appearance
  std::map<ChannelId, size_t> index;
  for (const TraceSegment& s : file_segments) {
    if (s.samples.empty()) continue;
    auto [it, fresh] = index.try_emplace(s.id, by_channel.size());
    if (fresh) by_channel.emplace_back();
    by_channel[it->second].push_back(&s);
  }
  for (std::vector<const TraceSegment*>& parts : by_channel) {
    std::stable_sort(parts.begin(), parts.end(), [](const auto* a, const auto* b) { return a->start < b->start; });
    TraceSegment trace = *parts.front();
    for (size_t i = 1; i < parts.size(); ++i) {
      const TraceSegment& next = *parts[i];
      if (next.rate_hz != trace.rate_hz) {
        return Status::InvalidArgument(trace.id.ToString() + " has two sampling rates (" + std::to_string(trace.rate_hz) +
                                       " and " + std::to_string(next.rate_hz) + " Hz) in one file");
      }
      // Index of next's first sample on the trace's grid; samples before the trace's end are dropped.
      const int64_t at = RoundAway(SecondsBetween(next.start, trace.start) * trace.rate_hz);
      const int64_t have = static_cast<int64_t>(trace.samples.size());
      if (at > have) trace.samples.insert(trace.samples.end(), static_cast<size_t>(at - have), 0.0);
      const int64_t skip = std::max<int64_t>(have - at, 0);
      if (skip < static_cast<int64_t>(next.samples.size())) {
        trace.samples.insert(trace.samples.end(), next.samples.begin() + skip, next.samples.end());
      }
    }
    double sum = 0.0;
    for (double v : trace.samples) sum += v;
    const double mean = sum / static_cast<double>(trace.samples.size());
    for (double& v : trace.samples) v -= mean;
    traces->push_back(std::move(trace));
  }
  return Status::OK();
}

StationFilter EqcctproDefaultFilter() {
  StationFilter f;
  f.taper_s = 5.0;
  f.bandpass = true;
  f.low_hz = 1.0;
  f.high_hz = 45.0;
  f.corners = 2;
  return f;
}

ModelSpec EqcctproSpec(const ModelSpec& eqcct) {
  ModelSpec s = eqcct;
  s.overlap_samples = 0;
  s.blinding_pre_samples = 0;
  s.blinding_post_samples = 0;
  s.norm = WindowNorm::kStdPerChannelPopulation;
  s.thresholds = {{"P", 0.001}, {"S", 0.02}};
  return s;
}

Status BuildEqcctproWindows(std::vector<TraceSegment> traces, const StationFilter& filter,
                            const std::string& component_order, EqcctproWindows* out) {
  *out = EqcctproWindows();
  if (traces.empty() || traces.front().samples.empty()) return Status::InvalidArgument("no samples to window");
  // The taper is a fraction of the first trace's length (5 s of it), applied to every trace.
  const TraceSegment& first = traces.front();
  const double taper_fraction = filter.taper_s / ((1.0 / first.rate_hz) * static_cast<double>(first.samples.size()));
  for (TraceSegment& t : traces) {
    std::string note;
    RAPID_RETURN_IF_ERROR(ApplyStationFilter(
        filter, TaperHalfLengthOfFraction(taper_fraction, static_cast<int64_t>(t.samples.size())), &t, &note));
    if (!note.empty()) out->notes.push_back(note);
  }
  const bool resample = std::any_of(traces.begin(), traces.end(), [](const auto& t) { return t.rate_hz != kEqcctproRateHz; });
  if (resample) {
    for (TraceSegment& t : traces) {
      t.samples = InterpolateLinearObspy(t.samples, t.start, t.rate_hz, kEqcctproRateHz);
      t.rate_hz = kEqcctproRateHz;
    }
  }
  NanoTime span_start = traces.front().start, span_end = EndTime(traces.front());
  for (const TraceSegment& t : traces) {
    span_start = std::min(span_start, t.start);
    span_end = std::max(span_end, EndTime(t));
  }
  for (TraceSegment& t : traces) PadToSpan(span_start, span_end, &t);
  // A later trace of a component letter replaces an earlier one (EQCCTPro's dict by channel[-1]).
  std::map<char, const TraceSegment*> by_letter;
  for (const TraceSegment& t : traces) {
    if (!t.id.channel.empty()) by_letter[t.id.channel.back()] = &t;
  }
  static const char* const kColumnLetters[3] = {"E1", "N2", "Z"};
  const TraceSegment* column_trace[3] = {nullptr, nullptr, nullptr};
  for (int c = 0; c < 3; ++c) {
    for (const char* l = kColumnLetters[c]; *l != '\0' && column_trace[c] == nullptr; ++l) {
      auto it = by_letter.find(*l);
      if (it != by_letter.end()) column_trace[c] = it->second;
    }
    if (column_trace[c] == nullptr) {
      out->notes.push_back(traces.front().id.StationKey() + ": no " + std::string(kColumnLetters[c]) +
                           " component: its column is zeros");
    }
  }
  const NanoTime grid_start = traces.front().start, grid_end = EndTime(traces.front());
  for (NanoTime t = grid_start; t < grid_end; t += kEqcctproWindowStep) out->starts.push_back(t);
  const int64_t windows = static_cast<int64_t>(out->starts.size());
  const int64_t row = windows * kEqcctproWindowSamples;
  const int64_t rows = static_cast<int64_t>(component_order.size());
  out->samples.assign(static_cast<size_t>(rows * row), 0.0f);
  for (int64_t r = 0; r < rows; ++r) {
    const int column = ColumnOfComponent(component_order[r]);
    if (column < 0 || column_trace[column] == nullptr) continue;
    for (int64_t k = 0; k < windows; ++k) {
      const NanoTime from = out->starts[k];
      SliceInto(*column_trace[column], from, from + 60 * kNanosPerSecond, kEqcctproWindowSamples,
                out->samples.data() + r * row + k * kEqcctproWindowSamples);
    }
  }
  return Status::OK();
}

std::vector<StationBlock> EqcctproBlockPieces(EqcctproWindows&& windows, const std::string& trace_id, int64_t channels,
                                              uint64_t block_id, int64_t piece_windows) {
  const int64_t total = static_cast<int64_t>(windows.starts.size());
  const int64_t per_piece = piece_windows > 0 ? piece_windows : std::max<int64_t>(total, 1);
  const int64_t row = total * kEqcctproWindowSamples;
  std::vector<StationBlock> pieces;
  for (int64_t first = 0; first < total; first += per_piece) {
    const int64_t count = std::min(per_piece, total - first);
    StationBlock b;
    b.trace_id = trace_id;
    b.start = windows.starts[first];
    b.rate_hz = kEqcctproRateHz;
    b.channels = channels;
    b.samples_per_channel = count * kEqcctproWindowSamples;
    b.samples.resize(static_cast<size_t>(channels * b.samples_per_channel));
    for (int64_t c = 0; c < channels; ++c) {
      const float* src = windows.samples.data() + c * row + first * kEqcctproWindowSamples;
      std::copy(src, src + b.samples_per_channel, b.samples.begin() + c * b.samples_per_channel);
    }
    b.block_id = block_id;
    b.piece = static_cast<int64_t>(pieces.size());
    b.last_piece = first + count == total;
    b.first_window = first;
    b.window_count = b.last_piece ? kWindowsToTheEnd : count;
    b.block_start = windows.starts.front();
    b.block_offset = first * kEqcctproWindowSamples;
    b.window_times.assign(windows.starts.begin() + first, windows.starts.begin() + first + count);
    pieces.push_back(std::move(b));
  }
  return pieces;
}

}  // namespace rapid
