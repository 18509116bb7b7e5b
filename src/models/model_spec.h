// What the pipeline needs to know about a picking model, and nothing about its internals.
#pragma once

#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace rapid {

// How overlapping window predictions are combined into one trace (NaN-ignoring).
enum class Stacking { kAvg, kMax };

// Per-window amplitude normalisation after demeaning each channel.
enum class WindowNorm {
  kStdPerChannel,    // PhaseNet "std": each channel / (its unbiased std + 1e-10)
  kPeakPerChannel,   // PhaseNet "peak": each channel / (its max |x| + 1e-10)
  // CRED: one unbiased std over channels and time (+ 1e-10).
  kStdAllChannels,
  // EQTransformer/EQCCT "std": kStdAllChannels, then both ends of every channel tapered over 6
  // samples by 0.5·(1 + cos(linspace(π, 2π, 6))) as SeisBench does.
  kStdAllChannelsTapered,
  // Demean only: the model scales the window itself (GPD divides by its peak inside forward).
  kDemeanOnly,
  // EQCCTPro's native EQCCT mode (`--preset eqcctpro`): each channel demeaned and divided by its
  // population std (ddof 0), in float32 as NumPy computes them on a float32 window (the
  // reference's arithmetic); a channel whose std is 0 is divided by 1. No epsilon, no taper.
  kStdPerChannelPopulation,
};

struct ModelSpec {
  std::string class_name;                 // SeisBench class, e.g. "PhaseNet" (annotation channel prefix)
  std::string component_order = "ZNE";    // model input channel i takes component component_order[i]
  std::vector<std::string> labels;        // output class order, e.g. {"N","P","S"}
  std::string noise_label = "N";          // never picked; empty when the model has none
  // A label whose trace marks event presence (EQTransformer's "Detection"): triggered into
  // detections (start, end, peak), not phase picks. Empty when the model has none.
  std::string detection_label;
  double rate_hz = 100.0;
  int64_t in_samples = 3001;
  int64_t overlap_samples = 1500;         // window stride = in_samples - overlap_samples
  // Output samples per window and label: 0 means in_samples (array models: PhaseNet, EQTransformer…,
  // one probability per input sample); 1 for point models (GPD: one probability vector per window).
  int64_t out_samples = 0;
  int64_t blinding_pre_samples = 0;       // ignored at each window's start when stacking
  int64_t blinding_post_samples = 0;      // ignored at each window's end when stacking
  Stacking stacking = Stacking::kAvg;
  WindowNorm norm = WindowNorm::kStdPerChannel;
  std::map<std::string, double> thresholds;  // label → trigger-on threshold (off = half)

  int64_t StrideSamples() const { return in_samples - overlap_samples; }
  int64_t Channels() const { return static_cast<int64_t>(component_order.size()); }
  int64_t Labels() const { return static_cast<int64_t>(labels.size()); }
  int64_t OutSamples() const { return out_samples == 0 ? in_samples : out_samples; }
  // Array models: the window starting at input sample s fills output samples
  // [OutputIndex(s), OutputIndex(s) + OutSamples()) of a trace at OutputRateHz(); both are the
  // identity for models with one output per input sample. A model with fewer outputs than inputs
  // (CRED: 19 per 3000-sample window) is mapped as SeisBench maps it: int(s · out / in) in double.
  double OutputFactor() const { return static_cast<double>(OutSamples()) / static_cast<double>(in_samples); }
  int64_t OutputIndex(int64_t input_sample) const {
    return static_cast<int64_t>(static_cast<double>(input_sample) * OutputFactor());
  }
  // Output samples of a block of `input_samples` (SeisBench's int(ceil(n · out / in))).
  int64_t OutputLength(int64_t input_samples) const {
    return static_cast<int64_t>(std::ceil(static_cast<double>(input_samples) * OutputFactor()));
  }
  // Point models (one output per window): window k of a block is stamped at its centre sample,
  // k·stride + in_samples / 2 (SeisBench's pred_sample), so their traces run at rate_hz / stride
  // from in_samples / 2 samples after the block start, and the window grid has no final
  // end-aligned window (SeisBench's point annotation).
  bool PointOutput() const { return OutSamples() == 1; }
};

}  // namespace rapid
