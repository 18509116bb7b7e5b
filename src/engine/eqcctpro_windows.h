// EQCCTPro's preprocessing and windowing (`--preset eqcctpro`): the 60 s windows its native EQCCT
// mode feeds the network for one station and one time chunk, reproduced step by step from
// EQCCTPro's _mseed2nparray (docs/decisions.md "EQCCTPro preset" lists every step and oddity):
//   per file: merge with gaps filled by 0, remove each trace's mean (EqcctproFileTraces);
//   per station: cosine taper, zero-phase Butterworth band-pass (high-pass where the high corner is
//   not below Nyquist), linear interpolation of every trace to 100 Hz when any is not at 100 Hz,
//   trim to the union of the spans with zero padding (each trace on its own sample grid);
//   windows of 6000 samples every 42 s from the first trace's start while the start is before its
//   end, each column (E or 1, N or 2, Z) sliced from its trace at the nearest sample, zero-padded.
// Normalisation (per window and channel) and picking happen later, in the pipeline
// (WindowNorm::kStdPerChannelPopulation, picking/window_peak.h).
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/nano_time.h"
#include "core/status.h"
#include "dsp/station_filter.h"
#include "engine/station_block.h"
#include "io/trace.h"
#include "models/model_spec.h"

namespace rapid {

constexpr int64_t kEqcctproWindowSamples = 6000;        // 60 s at 100 Hz
constexpr NanoTime kEqcctproWindowStep = 42 * kNanosPerSecond;  // int(60 − 0.3 · 60) s
constexpr double kEqcctproRateHz = 100.0;

// EQCCTPro's filtering before windowing: 5 s taper, 1–45 Hz band-pass, 2 corners.
StationFilter EqcctproDefaultFilter();

// EQCCT's spec as the preset runs it: windows end to end (no overlap, no blinding), EQCCTPro's
// normalisation, thresholds P 0.001 and S 0.02 (RunEQCCTPro's defaults).
ModelSpec EqcctproSpec(const ModelSpec& eqcct);

// The files of one station folder and time chunk in the order EQCCTPro reads them:
// glob("<chunk>/<STA>/*mseed") — directory (readdir) order, names ending in "mseed" and not
// starting with '.'. The others are appended to *skipped (paths). Files whose folder cannot be
// listed keep their given order after the listed ones.
std::vector<std::string> EqcctproReadingOrder(const std::vector<std::string>& paths, std::vector<std::string>* skipped);

// One ObsPy trace per channel of one file, in the order the file gives the channels: the file's
// segments of a channel (same rate) joined with zeros in their gaps (overlapping samples of a
// later segment are dropped), then the trace's mean removed. InvalidArgument when one channel
// comes at two rates (ObsPy's merge refuses it).
Status EqcctproFileTraces(const std::vector<TraceSegment>& file_segments, std::vector<TraceSegment>* traces);

struct EqcctproWindows {
  std::vector<NanoTime> starts;  // window k starts at starts[k] (the first trace's grid, 42 s apart)
  // component_order.size() rows of starts.size() × 6000 samples: row c holds, window after
  // window, the EQCCTPro column of component component_order[c] (E, N or Z; zeros where missing).
  std::vector<float> samples;
  std::vector<std::string> notes;  // high-pass instead of band-pass, missing components
};

// The windows of one station's traces (`traces` in EQCCTPro's reading order: files in directory
// order, each file's traces from EqcctproFileTraces; traces[0] sets the grid and the taper length).
// `component_order` is the model's, e.g. "ENZ". InvalidArgument when there are no traces or the
// band-pass cannot be designed for a trace's rate (naming the channel).
Status BuildEqcctproWindows(std::vector<TraceSegment> traces, const StationFilter& filter,
                            const std::string& component_order, EqcctproWindows* out);

// The windows as blocks for the annotator: pieces of at most `piece_windows` windows (<= 0: one
// piece), the windows end to end, each piece with its windows' start times
// (StationBlock::window_times). Block id `block_id`; `channels` = component_order.size().
std::vector<StationBlock> EqcctproBlockPieces(EqcctproWindows&& windows, const std::string& trace_id, int64_t channels,
                                              uint64_t block_id, int64_t piece_windows);

}  // namespace rapid
