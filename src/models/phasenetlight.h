// PhaseNetLight: SeisBench's reduced PhaseNet (its implementation before v0.3), with SeisBench's
// state_dict names (`inc`, `in_bn`, `conv<1..4>.conv`, `bnd<1..4>`, `up<1..4>`, `bnu<1..4>`, `out`)
// so SeisBench weight files load unchanged.
// How it differs from PhaseNet (models/phasenet.h), each one a parity trap:
//   - input convolution of kernel 1; four stride-4 kernel-7 convolutions with bias and fixed widths
//     8 → 11 → 16 → 22 → 32, without the same-resolution convolutions in between;
//   - batch-norm eps 1e-5 (PyTorch's default), not 1e-3;
//   - the decoder concatenates [upsampled, skip], not [skip, upsampled];
//   - the output layer is a transposed convolution (weight stored in × out × 1, with bias).
#pragma once

#include <string>

#include "core/status.h"
#include "models/graph.h"
#include "models/model_spec.h"
#include "models/stored_tensor.h"

namespace rapid {

// Describes PhaseNetLight for `spec` (Channels() inputs, Labels() classes, in_samples 3001) with
// the weights in `tensors`, strictly: a missing, extra or mis-shaped key is an
// InvalidArgument/NotFound naming `source` and the key. OK: *graph holds the model.
Status DescribePhaseNetLight(const NamedStoredTensors& tensors, const std::string& source, const ModelSpec& spec,
                             Graph* graph);

}  // namespace rapid
