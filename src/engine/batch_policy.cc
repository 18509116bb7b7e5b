#include "engine/batch_policy.h"

#include <algorithm>

namespace rapid {

BatchDecision DecideBatch(const BatchPolicy& policy, const BatchQueueState& queue, int64_t now_ns) {
  BatchDecision d;
  const int64_t max_batch = std::max<int64_t>(1, policy.max_batch);
  if (queue.queued_windows <= 0) {
    d.finished = queue.producer_done;
    return d;
  }
  const int64_t deadline = queue.oldest_enqueued_ns + policy.max_delay_ns;
  const bool due = policy.max_delay_ns > 0 && now_ns >= deadline;
  if (queue.queued_windows >= max_batch || queue.producer_done || queue.producer_waiting || due) {
    d.take = std::min(queue.queued_windows, max_batch);
    return d;
  }
  if (policy.max_delay_ns > 0) d.wake_at_ns = deadline;
  return d;
}

}  // namespace rapid
