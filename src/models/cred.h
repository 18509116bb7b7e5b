// CRED (Mousavi et al., 2019) with SeisBench's architecture and state_dict names (`conv1`,
// `cnn_block1`, `conv2`, `cnn_block2`, `lstm_block.lstms.<0,1>`, `lstm`, `norm1`, `fc1`, `norm2`,
// `fc2`), default variant (original_compatible=False) only.
//
// Only the network: it takes SeisBench's STFT magnitude spectrogram, batch × 3 × 76 time frames ×
// 41 frequencies (scipy stft, nperseg 80, of a 3000-sample window demeaned and divided by its std),
// and returns the detection probability of 19 time steps, batch × 19 × 1. The waveform → spectrogram
// front end and the registry entry (a Model over waveform windows) are not implemented yet.
// Thread safety: Detection may be called from one thread at a time.
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"

namespace rapid {

class CredNetwork {
 public:
  virtual ~CredNetwork() = default;
  // spectrogram: float32 (batch, 3, 76, 41) on the CPU. OK: *out is (batch, 19, 1), detection
  // probabilities, or the pre-sigmoid scores when `logits`. InvalidArgument on another shape;
  // Internal when libtorch fails.
  virtual Status Detection(const at::Tensor& spectrogram, bool logits, at::Tensor* out) const = 0;
};

// Builds the network from `tensors`, strictly: a missing, extra or mis-shaped key is an
// InvalidArgument/NotFound naming `source` and the key. OK: *out owns the network (CPU).
Status BuildCredNetwork(const std::vector<std::pair<std::string, at::Tensor>>& tensors, const std::string& source,
                        std::unique_ptr<CredNetwork>* out);

}  // namespace rapid
