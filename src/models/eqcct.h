// EQCCT (Saad et al., 2023), the compact convolutional transformer picker, as SeisBench runs it:
// two separate networks, EQCCTP (P probability) and EQCCTS (S probability), each a SeisBench
// wrapper whose state_dict keys start with `_eqcct_backbone.`. RAPID runs them as one model with
// labels {P, S}: output label 0 is the P network's sigmoid, label 1 the S network's. Both take the
// same window (6000 samples, 3 components), so one normalised window feeds both.
//
// Architecture (both networks): three residual convolution blocks (kernel 11, batch-norm eps 1e-3,
// exact GELU) widen 3 → 10 → 20 → 40 channels; the 6000 × 40 result is cut into 150 patches of
// 40 samples × 40 channels (flattened time-major), projected to 40 features plus a learned position
// embedding; four transformer blocks (layer-norm eps 1e-6, Keras-style multi-head attention with 4
// heads of 40, a two-layer GELU MLP) and a final layer norm follow; the 150 × 40 features are read
// back as 6000 samples and a kernel-15 convolution + sigmoid gives the probability. The S network
// adds a residual convolution block before each transformer block and one on the attention output.
#pragma once

#include <string>

#include "core/status.h"
#include "models/graph.h"
#include "models/model_spec.h"
#include "models/stored_tensor.h"

namespace rapid {

// Describes EQCCT for `spec` from the P network's tensors (`p_tensors`, read from file `p_source`)
// and the S network's (`s_tensors`, from `s_source`), strictly: a missing, extra or mis-shaped key
// is an InvalidArgument/NotFound naming the file and the key. A spec the networks cannot serve (not
// 3 components, not 6000 samples, labels other than exactly {"P", "S"}, or a normalisation other
// than WindowNorm::kStdAllChannelsTapered, the only tapered one) is an InvalidArgument. OK: *graph
// holds both networks over one input, their scores concatenated (P, S) under a sigmoid.
Status DescribeEqcct(const NamedStoredTensors& p_tensors, const std::string& p_source,
                     const NamedStoredTensors& s_tensors, const std::string& s_source, const ModelSpec& spec,
                     Graph* graph);

}  // namespace rapid
