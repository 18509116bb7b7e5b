// CRED (Mousavi et al., 2019) with SeisBench's architecture and state_dict names (`conv1`,
// `cnn_block1`, `conv2`, `cnn_block2`, `lstm_block.lstms.<0,1>`, `lstm`, `norm1`, `fc1`, `norm2`,
// `fc2`), default variant (original_compatible=False) only: a detection model.
//
// Input: windows of 3000 samples normalised by the pipeline (WindowNorm::kStdAllChannels). The
// model's front end turns them into SeisBench's STFT magnitude spectrogram (CredSpectrogram); the
// network returns the detection probability at 19 time steps per window (spec.out_samples 19),
// which the pipeline places at int(s · 19 / 3000) of the block's output trace (ModelSpec::OutputIndex).
// Thread safety: as Model.
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>
#include <string>

#include "core/status.h"
#include "models/model.h"
#include "models/stored_tensor.h"

namespace rapid {

// SeisBench's CRED front end: per channel 0.025 · |STFT| (n_fft 80, hop 40, periodic Hann window
// of 80, centred frames zero-padded, not normalised), as (batch, 3, 76 frames, 41 frequencies).
// `windows`: float32 (batch, 3, 3000), already normalised. Throws on another shape (libtorch).
at::Tensor CredSpectrogram(const at::Tensor& windows);

// Builds CRED for `spec` (3 channels, in_samples 3000, one label, out_samples 19) from `tensors`,
// strictly: a missing, extra or mis-shaped key is an InvalidArgument/NotFound naming `source` and
// the key; a weights JSON declaring `model_args.original_compatible` true is an InvalidArgument
// naming `metadata_source` (that variant is not implemented). The weights are created on `device`
// ("cpu" or "cuda:N"), where the model then runs; one it cannot take is a ResourceExhausted naming
// `source` and the device. OK: *out owns the model.
Status BuildCred(const NamedStoredTensors& tensors, const std::string& source, const std::string& metadata_json,
                 const std::string& metadata_source, const ModelSpec& spec, const std::string& device,
                 std::unique_ptr<Model>* out);

}  // namespace rapid
