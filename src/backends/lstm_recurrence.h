// The recurrence of Graph::Lstm (models/graph.h) on one window, as a plain loop over float rows:
// what both CPU backends run (hidden sizes here are 16–64, far too small for a BLAS call per step).
// The gates' tanh and logistic function are backends/fast_math.h's, vectorised along the hidden
// units (libm's calls were a tenth of EQTransformer's time).
// Thread safety: immutable once built; Run may be called from several threads at once.
#pragma once

#include <cstdint>
#include <vector>

#include "models/graph.h"

namespace rapid {

class LstmRecurrence {
 public:
  // recurrent: W_hh, directions × 4H × H (Graph::Lstm's weight).
  LstmRecurrence(const WeightTensor& recurrent, GateActivation gate);

  int64_t Directions() const { return directions_; }
  int64_t Hidden() const { return hidden_; }

  // gates: `length` rows of directions·4H floats (time-major), `gates_stride` floats apart;
  // out: `length` rows of directions·H floats, `out_stride` apart. The two must not overlap.
  void Run(const float* gates, int64_t gates_stride, int64_t length, float* out, int64_t out_stride) const;

 private:
  int64_t directions_, hidden_;
  GateActivation gate_;
  std::vector<float> w_hh_t_;  // per direction: W_hh transposed, in panels of gates (see the .cc)
};

}  // namespace rapid
