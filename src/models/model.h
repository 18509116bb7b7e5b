// The backend boundary: a loaded model that turns a batch of normalised windows into class
// probabilities. The engine sees only this interface; libtorch stays in the implementations.
// Thread safety: Forward may be called from one thread at a time per instance.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/status.h"
#include "models/model_spec.h"

namespace rapid {

class Model {
 public:
  virtual ~Model() = default;
  virtual const ModelSpec& Spec() const = 0;

  // input: batch × Spec().Channels() × Spec().in_samples float32, row-major, already normalised.
  // output: batch × Spec().Labels() × Spec().OutSamples() float32 probabilities (caller-owned,
  // preallocated). A failure inside the model (e.g. out of memory) is returned, never thrown.
  virtual Status Forward(const float* input, int64_t batch, float* output) = 0;

  // Pre-activation scores of the same shape, for parity tests against SeisBench's logits.
  virtual Status ForwardLogits(const float* input, int64_t batch, float* output) = 0;

  // Bytes held by the weights.
  virtual int64_t WeightBytes() const = 0;

  // Called once by the thread that will make this instance's forward calls, before the first: how
  // many threads one forward call may use (libtorch keeps the count per calling thread). A backend
  // without intra-op threads ignores it. REQUIRES: threads >= 1.
  virtual void UseIntraOpThreads(int threads) { (void)threads; }
};

}  // namespace rapid
