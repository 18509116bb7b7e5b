// Preprocess stage: turns the merged channel segments of one instrument into "blocks" — arrays
// of the model's components at the model's rate over spans where data exist — with SeisBench's
// annotate() semantics (resample each segment, align it to the model-rate grid, join the spans
// the components cover).
// Thread safety: pure functions.
#pragma once

#include <string>
#include <vector>

#include "core/nano_time.h"
#include "core/status.h"
#include "io/trace.h"
#include "models/model_spec.h"

namespace rapid {

// StationBlock::window_count of a block's last piece: its windows are the piece's whole window
// grid, including the final end-aligned window (windower.h WindowStarts).
constexpr int64_t kWindowsToTheEnd = -1;

// A continuous multi-component array at the model rate: row c holds component
// spec.component_order[c]; all rows have `samples_per_channel` samples starting at `start`.
struct StationBlock {
  std::string trace_id;             // "NET.STA.LOC"
  NanoTime start = kUnsetTime;
  double rate_hz = 0.0;
  int64_t channels = 0;
  int64_t samples_per_channel = 0;
  // channels × samples_per_channel, row-major. float32: windows are normalised from float32 values
  // (as SeisBench does on float32 tensors), so keeping doubles here would only double the memory.
  std::vector<float> samples;

  // A block may be handed out in pieces cut on its window grid (engine/station_stream.h). A whole
  // block is its own only piece (piece 0, last_piece, first_window 0, block_offset 0).
  uint64_t block_id = 0;       // shared by the pieces of one block, distinct between blocks of a run
  int64_t piece = 0;           // 0, 1, … in time order
  bool last_piece = true;
  int64_t first_window = 0;    // grid index (within the block) of this piece's first window
  // Windows at 0, stride, …, (window_count − 1)·stride of this piece; kWindowsToTheEnd (the last
  // piece): the window grid of the piece including its final end-aligned window.
  int64_t window_count = kWindowsToTheEnd;
  NanoTime block_start = kUnsetTime;  // time of the block's sample 0; kUnsetTime: `start`
  int64_t block_offset = 0;           // index of this piece's sample 0 in the block
  // The mean, over the block's segments, of each segment's start minus its grid-aligned start.
  // SeisBench reports a block's outputs at the grid times plus this, so every output time of the
  // block (probability traces, picks) is its grid time + time_shift_ns. Final on the last piece (the
  // block's segments are known only when it ends); on earlier pieces, the mean over the segments
  // joined so far (the same unless a later segment of the block starts at another sub-sample offset).
  NanoTime time_shift_ns = 0;
  // The data this piece waited for: grid time just after the last sample that had to exist before
  // it could be cut (a piece before the last also needs its successor's first window, whose data
  // tell that no end-aligned window reaches back into it; the last piece: the block's end).
  NanoTime data_until = kUnsetTime;
  // Independent windows (EQCCTPro's grid, engine/eqcctpro_windows.h): when not empty, this piece's
  // windows lie end to end in `samples` (the spec's stride is in_samples, no blinding) and its
  // window j starts at window_times[j]. Their outputs are picked window by window
  // (picking/window_peak.h), never as one continuous trace. Empty for continuous blocks.
  std::vector<NanoTime> window_times;

  const float* Row(int64_t c) const { return samples.data() + c * samples_per_channel; }
};

// Index of the model input channel a channel code feeds, or -1. The last character of the code is
// mapped through `component_order`; 1 stands for N and 2 for E (and vice versa), as SeisBench's
// flexible horizontal components do.
int ComponentIndex(const std::string& channel_code, const std::string& component_order);

// "NET.STA.LOC.XY": the instrument a channel belongs to (XY: band and instrument codes).
std::string InstrumentKey(const ChannelId& id);

// Groups segments by instrument: "NET.STA.LOC.XY" where XY are the band and instrument codes.
// Segments of one instrument are returned together, sorted by channel and start time.
std::vector<std::vector<TraceSegment>> GroupByInstrument(std::vector<TraceSegment> segments);

// Builds the blocks of one instrument. `segments` are merged (continuous) segments of one
// instrument at their native rates. Each segment is resampled to spec.rate_hz and placed on the
// model-rate grid; blocks are the spans some component covers, zero where a component has no data
// (SeisBench's strict=False; engine/station_stream.h states the rules), and a component with no
// data in a block is noted.
// Channels whose code does not map to a component (e.g. a hydrophone HHH) are ignored with a
// note. Blocks shorter than spec.in_samples are dropped with a note. Notes are human-readable
// lines naming the channel or span. Errors: InvalidArgument if resampling fails.
Status BuildStationBlocks(const std::vector<TraceSegment>& segments, const ModelSpec& spec,
                          std::vector<StationBlock>* blocks, std::vector<std::string>* notes);

}  // namespace rapid
