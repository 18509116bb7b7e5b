// GPD (Ross et al., 2018) with SeisBench's architecture and state_dict names (`conv1`…`conv4`,
// `bn1`…`bn6`, `fc1`…`fc3`), so SeisBench weight files load unchanged. A point model: each
// 400-sample window gives one score per label (spec.out_samples = 1), which SeisBench stamps at the
// window's sample 200 (its pred_sample).
//
// As in SeisBench's forward, the network itself divides each window by its peak |x| over all
// channels and time (+ 1e-10); the pipeline only demeans (WindowNorm::kDemeanOnly).
//
// The weights' JSON `model_args.original_compatible` (true: weights converted from the Keras
// original) flattens the last feature map time-major instead of channel-major before fc1; the two
// layouts have the same shapes, so only the JSON can tell them apart (default false).
#pragma once

#include <string>

#include "core/status.h"
#include "models/graph.h"
#include "models/model_spec.h"
#include "models/stored_tensor.h"

namespace rapid {

// Describes GPD for `spec` (Channels() inputs, Labels() classes, in_samples 400) with the weights
// in `tensors`, strictly: a missing, extra or mis-shaped key is an InvalidArgument/NotFound naming
// `source` and the key. `metadata_json` is the weights' JSON text (empty when there is none); a
// malformed `model_args.original_compatible` is an InvalidArgument naming `metadata_source`.
// Each fully connected layer is described as the convolution it equals: fc1 as one kernel over
// the whole last feature map (its weight rearranged to the flattening order), fc2 and fc3 as 1×1.
// OK: *graph holds the model.
Status DescribeGpd(const NamedStoredTensors& tensors, const std::string& source,
                   const std::string& metadata_json, const std::string& metadata_source, const ModelSpec& spec,
                   Graph* graph);

}  // namespace rapid
