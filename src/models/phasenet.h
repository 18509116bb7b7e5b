// PhaseNet (Zhu & Beroza, 2019) with SeisBench's architecture and state_dict names
// (`inc`, `in_bn`, `down_branch.<i>.<0..3>`, `up_branch.<i>.<0..3>`, `out`), so SeisBench
// weight files load unchanged. Depth 5, kernel 7, stride 4, 8 root filters, batch-norm eps 1e-3.
#pragma once

#include <string>

#include "core/status.h"
#include "models/graph.h"
#include "models/model_spec.h"
#include "models/stored_tensor.h"

namespace rapid {

// Describes PhaseNet for `spec` (Channels() inputs, Labels() classes, in_samples long) with the
// weights in `tensors`, strictly: a missing, extra or mis-shaped key is an InvalidArgument/NotFound
// naming `source` and the key. OK: *graph holds the model.
Status DescribePhaseNet(const NamedStoredTensors& tensors, const std::string& source, const ModelSpec& spec,
                        Graph* graph);

}  // namespace rapid
