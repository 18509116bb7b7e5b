// A one-layer LSTM as SeisBench's models store it, described in a graph: the input projections of
// every direction as one 1×1 convolution (W_ih stacked [forward; reverse], bias b_ih + b_hh), then
// the recurrence (Graph::Lstm).
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"
#include "models/graph.h"
#include "models/strict_params.h"

namespace rapid {

// How the LSTM's parameters are named: torch.nn.LSTM (`<prefix>.weight_ih_l0`, `…_l0_reverse`) or
// SeisBench's CustomLSTM of the converted Keras EQTransformer (`<prefix>.cell_f.weight_ih`,
// `<prefix>.cell_b.weight_ih`).
enum class LstmKeys { kTorch, kCustomCell };

// Takes LSTM `prefix` (hidden units `hidden`; the reverse direction too when `bidirectional`) from
// *p and adds it over node *x (in × steps) of *g; *x becomes its output (directions·hidden × steps,
// forward direction first). Errors: the first missing or mis-shaped key (StrictParams::Take).
Status TakeLstm(StrictParams* p, Graph* g, const std::string& prefix, LstmKeys keys, int64_t hidden,
                bool bidirectional, GateActivation gate, int* x);

}  // namespace rapid
