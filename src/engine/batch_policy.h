// The batching decision, as a pure function of the queue, the policy and the time (as Triton's
// dynamic batcher keeps its scheduling decision apart from its threads): a batch goes when it is
// full, when its oldest window has waited the policy's longest delay, or when nothing more can
// come soon (the producer has finished, or waits for room that only running what is queued frees).
// The Annotator's instance threads ask it what to do; the HTTP service will use the same policy.
// Thread safety: pure functions on values.
#pragma once

#include <cstdint>

namespace rapid {

struct BatchPolicy {
  int64_t max_batch = 1;     // windows per forward call (>= 1)
  int64_t max_delay_ns = 0;  // longest wait of the oldest queued window; 0: wait for a full batch
};

struct BatchQueueState {
  int64_t queued_windows = 0;       // windows not yet handed to an instance
  int64_t oldest_enqueued_ns = 0;   // when the oldest of them was queued (any monotonic clock)
  bool producer_done = false;       // no more windows will be queued
  bool producer_waiting = false;    // the producer waits for room: queued windows should run now
};

struct BatchDecision {
  int64_t take = 0;  // windows to take now (0: wait)
  // With take == 0: look again at this time (same clock as the state), or -1: only when the
  // queue changes.
  int64_t wake_at_ns = -1;
  bool finished = false;  // nothing queued and nothing will come: the instance may stop
};

BatchDecision DecideBatch(const BatchPolicy& policy, const BatchQueueState& queue, int64_t now_ns);

}  // namespace rapid
