// Stitcher stage: combines the predictions of overlapping windows of one block into continuous
// per-label probability traces, exactly as SeisBench reassembles them: window i of the block's grid
// goes to slot i mod coverage (coverage = ceil(in / stride + 1) windows can overlap one sample),
// blinded samples are left out, and each sample is the NaN-ignoring mean (float32, slot order) or
// max over the slots.
// Point models (ModelSpec::PointOutput) have one slot: output sample k is window k's prediction.
//
// Streaming: windows may arrive in any order; each is held until every earlier window of the
// piece has arrived (or was skipped), then committed in grid order. Committing a window makes
// final every sample before its first contributing sample — no later window reaches back there —
// and those samples are stacked at once from the few windows still covering them. So the stitcher
// holds the windows in flight and those overlapping the samples not yet final, never a copy of the
// whole trace per slot, and each sample's value does not depend on the arrival order.
//
// A long block may be stitched in pieces (engine/station_stream.h): the windows of a piece that
// reach past the samples it owns are carried (TakeCarry) into the next piece's stitcher
// (MergeHead), so a piece's samples end up with exactly the values the whole block's stitcher
// would give them. A stitcher made for a later piece stacks nothing until its head is merged.
//
// Thread safety: Add, Skip and MergeHead may be called concurrently (distinct windows); Finish
// and TakeCarry after all of them.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <vector>

#include "models/model_spec.h"

namespace rapid {

class Stitcher {
 public:
  // One window's prediction and where it lands in the piece's output samples.
  struct Window {
    int64_t index = 0;  // grid index in the block: its slot is index mod coverage
    int64_t pos = 0;    // output sample of its prediction's first sample (may be < 0 when carried)
    int64_t begin = 0;  // its contributing output samples [begin, end), after blinding and clipping
    int64_t end = 0;
    std::vector<float> values;  // labels × spec.OutSamples()
  };
  using Carry = std::vector<Window>;

  // Output traces of `out_samples` samples for a block (or piece of a block): its sample count for
  // array models, its window count for point models. Its windows have grid indices first_window,
  // first_window + 1, …; `expects_head`: a later piece of a block, whose first samples wait for
  // MergeHead. `spec` is borrowed and must outlive the stitcher.
  Stitcher(const ModelSpec& spec, int64_t out_samples, int64_t first_window = 0, bool expects_head = false);

  // Adds the prediction (labels × spec.OutSamples() floats, copied) of the window with grid index
  // `window_index` whose output begins at sample `out_start` of this piece's traces (array models:
  // the window's first input sample; point models: the window's index within the piece).
  // Outputs past the end of the trace are dropped. REQUIRES: each window index is added or skipped once.
  void Add(int64_t window_index, int64_t out_start, const float* prediction);
  // A window that has no prediction (the model failed on it): its samples count as not covered.
  void Skip(int64_t window_index);

  // The windows of the previous piece that reach into this one. REQUIRES: expects_head; once.
  void MergeHead(Carry head);

  // The stacked traces of samples [0, to), label-major. Samples no window covered (after
  // blinding) are NaN. Windows never added nor skipped count as skipped. Once.
  std::vector<std::vector<float>> Finish(int64_t to);

  // After Finish(from): the windows reaching samples at or after `from`, placed for the next
  // piece, whose sample 0 is this piece's sample `from`.
  Carry TakeCarry(int64_t from);

  // Windows that can overlap one sample: SeisBench's int(ceil(in / stride + 1)); 1 for point models.
  static int64_t Coverage(const ModelSpec& spec);
  // Memory a stitcher of `out_samples` holds at most, beyond the windows in flight: the traces and
  // the windows overlapping the samples not yet final.
  static int64_t HeldBytes(const ModelSpec& spec, int64_t out_samples);

 private:
  void Commit(Window w);
  void CommitPending();
  // Stacks samples [final_, limit) from ring_ into traces_ (nothing while the head is pending).
  void Finalise(int64_t limit);
  void Stack(const std::vector<const Window*>& cover, int64_t a, int64_t b);

  const ModelSpec& spec_;
  const int64_t out_samples_;
  const int64_t coverage_;
  const int64_t window_samples_;  // spec.OutSamples()
  const int64_t blind_from_, blind_to_;  // a window contributes its samples [blind_from_, blind_to_)

  std::mutex mu_;
  int64_t next_window_;  // grid index of the next window to commit
  bool head_pending_;
  int64_t safe_limit_ = 0;  // no window still to come contributes before this sample
  int64_t final_ = 0;       // samples [0, final_) are stacked into traces_
  std::map<int64_t, std::optional<Window>> pending_;  // arrived early; nullopt: skipped
  std::vector<Window> ring_;  // committed windows reaching samples >= final_ (or all, head pending)
  std::vector<std::vector<float>> spare_;  // value buffers of dropped windows, reused
  std::vector<std::vector<float>> traces_;  // one per label, samples [0, final_)
};

// Leading and trailing NaN count of a trace (SeisBench trims them from annotations).
void NanMargins(const std::vector<float>& trace, int64_t* leading, int64_t* trailing);

}  // namespace rapid
