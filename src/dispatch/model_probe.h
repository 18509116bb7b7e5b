// Model probe: measures what one model instance costs on the host — weight bytes, activation
// (workspace) bytes per window and forward time per window — by running it, not by tables.
// The planner (planner.h) turns these numbers into batch sizes and instance counts.
//
// Method (CPU, host RSS):
//   1. Input (deterministic noise) and output buffers for probe_batch windows are allocated and
//      touched first, so they are not counted as activations.
//   2. Warm-up: one forward of a single window. One-off costs (thread pool, lazy library init,
//      kernel selection) land in the baseline, not in the per-window figure.
//   3. Probe: rss_before = CurrentRssBytes(); one forward of probe_batch windows while a sampler
//      thread reads RSS every ~0.5 ms; the peak is max(sampled RSS, getrusage peak when that rose
//      during the call, so a spike between samples is not lost).
//      activation_bytes_per_window = (peak − rss_before) / probe_batch.
//   4. Timing: a second forward of probe_batch windows (now warm for that shape) is timed, not
//      sampled (the sampler would steal a core on small machines); its RSS after the call and a
//      rise of the getrusage peak still count towards the growth.
// Limits (why the figure is an estimate, biased high where it matters):
//   * RSS sees pages, not allocations: memory the allocator kept from the warm-up and reuses is
//     not seen as growth; memory it keeps after the probe is (counted once per instance anyway).
//   * Growth that does not scale with the batch (per-call scratch) is spread over probe_batch
//     windows, so the figure is slightly high for larger batches and slightly low for much
//     smaller ones — probe with a batch near the one you expect to plan.
//   * Other threads of the process allocating during the probe inflate the figure: probe before
//     the pipeline starts.
//   * The result is clamped to at least kMinActivationFactor × (input + output window bytes):
//     a forward pass cannot run without materialising tensors of at least that size, and a
//     reading below it means the allocator reused cached pages.
//   * GPU memory is not seen here; MeasureCudaActivation measures it on the device and the run
//     passes it to the planner per device (DeviceMeasurement::activation_bytes_per_window).
// Thread safety: MeasureModel uses `model` exclusively for its duration and reads process-wide RSS;
// run it while no other thread allocates much.
#pragma once

#include <cstdint>

#include "core/status.h"
#include "dispatch/planner.h"
#include "models/model.h"

namespace rapid {

// Lower bound on activation bytes per window, in multiples of input + output window bytes.
constexpr int64_t kMinActivationFactor = 4;

struct ModelMeasurement {
  int64_t probe_batch = 0;                  // windows in each measured forward
  int64_t weight_bytes = 0;                 // Model::WeightBytes()
  int64_t window_input_bytes = 0;           // channels × in_samples × sizeof(float)
  int64_t window_output_bytes = 0;          // labels × in_samples × sizeof(float)
  int64_t activation_bytes_per_window = 0;  // after clamping (what the planner should use)
  int64_t measured_growth_bytes = 0;        // raw peak RSS growth of the probe forward (whole batch)
  bool activation_clamped = false;          // true when the raw figure was below the minimum
  int64_t rss_before_bytes = 0;             // RSS just before the probe forward
  double forward_s_per_window = 0;          // wall time of the timed forward / probe_batch
};

// Runs `model` as described above and fills *out.
// OK: *out is filled. InvalidArgument: probe_batch < 1 or a model spec with no channels, labels
// or samples. Any error of Model::Forward is returned unchanged (e.g. ResourceExhausted when
// the probe batch itself does not fit).
// REQUIRES: `model` is not used by another thread during the call; it is borrowed, not kept.
Status MeasureModel(Model* model, int64_t probe_batch, ModelMeasurement* out);

// The planner's view of a measurement.
ModelFootprint FootprintOf(const ModelMeasurement& m);

// Activation bytes per window of `model`, an instance on CUDA device `device_index`: the drop of
// the device's free memory (models/device.h CudaMemoryInfo) over one forward of probe_batch
// windows after a one-window warm-up, divided by probe_batch — libtorch's caching allocator keeps
// what the forward reserved, so the drop is its peak. Clamped below like MeasureModel's figure.
// NotFound when the CUDA runtime cannot be queried; Model::Forward's errors unchanged.
Status MeasureCudaActivation(Model* model, int device_index, int64_t probe_batch, int64_t* bytes_per_window);

}  // namespace rapid
