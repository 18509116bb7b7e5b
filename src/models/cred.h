// CRED (Mousavi et al., 2019) with SeisBench's architecture and state_dict names (`conv1`,
// `cnn_block1`, `conv2`, `cnn_block2`, `lstm_block.lstms.<0,1>`, `lstm`, `norm1`, `fc1`, `norm2`,
// `fc2`), default variant (original_compatible=False) only: a detection model.
//
// Input: windows of 3000 samples normalised by the pipeline (WindowNorm::kStdAllChannels). The
// model's front end is SeisBench's STFT magnitude spectrogram (a kSpectrogram node: per channel
// 0.025 · |STFT|, n_fft 80, hop 40, periodic Hann, centred zero-padded frames: 3 × 76 frames × 41
// frequencies); the network returns the detection probability at 19 time steps per window
// (spec.out_samples 19), which the pipeline places at int(s · 19 / 3000) of the block's output
// trace (ModelSpec::OutputIndex).
#pragma once

#include <string>

#include "core/status.h"
#include "models/graph.h"
#include "models/model_spec.h"
#include "models/stored_tensor.h"

namespace rapid {

// Describes CRED for `spec` (3 channels, in_samples 3000, one label, out_samples 19) from
// `tensors`, strictly: a missing, extra or mis-shaped key is an InvalidArgument/NotFound naming
// `source` and the key; another spec is an InvalidArgument naming `source`. A weights JSON
// (`metadata_json`, empty when there is none) declaring `model_args.original_compatible` true is an
// InvalidArgument naming `metadata_source` (that variant is not implemented).
// Each LSTM is described as a 1×1 convolution computing its input projections (W_ih·x + b_ih +
// b_hh, both directions stacked) and the recurrence over them; fc1 and fc2 as 1×1 convolutions.
// OK: *graph holds the model.
Status DescribeCred(const NamedStoredTensors& tensors, const std::string& source, const std::string& metadata_json,
                    const std::string& metadata_source, const ModelSpec& spec, Graph* graph);

}  // namespace rapid
