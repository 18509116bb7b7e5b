// The batching decision (engine/batch_policy.h) as a pure function: no threads, no sleeping.
#include <gtest/gtest.h>

#include "engine/batch_policy.h"

namespace rapid {
namespace {

constexpr int64_t kMs = 1'000'000;

BatchQueueState Queued(int64_t windows, int64_t oldest_ns = 0) {
  BatchQueueState q;
  q.queued_windows = windows;
  q.oldest_enqueued_ns = oldest_ns;
  return q;
}

TEST(BatchPolicyTest, AFullBatchGoesAtOnceAndTakesNoMoreThanTheMaximum) {
  const BatchPolicy policy{8, 0};
  EXPECT_EQ(DecideBatch(policy, Queued(8), 0).take, 8);
  EXPECT_EQ(DecideBatch(policy, Queued(30), 0).take, 8);
}

TEST(BatchPolicyTest, WithoutADelayAShortBatchWaitsForTheQueueToChange) {
  const BatchDecision d = DecideBatch({8, 0}, Queued(3), 1'000 * kMs);
  EXPECT_EQ(d.take, 0);
  EXPECT_EQ(d.wake_at_ns, -1);
  EXPECT_FALSE(d.finished);
}

TEST(BatchPolicyTest, AShortBatchGoesWhenItsOldestWindowHasWaitedTheDelay) {
  const BatchPolicy policy{8, 5 * kMs};
  const BatchDecision early = DecideBatch(policy, Queued(3, 100 * kMs), 102 * kMs);
  EXPECT_EQ(early.take, 0);
  EXPECT_EQ(early.wake_at_ns, 105 * kMs);  // look again when the oldest window is due
  EXPECT_EQ(DecideBatch(policy, Queued(3, 100 * kMs), 105 * kMs).take, 3);
  EXPECT_EQ(DecideBatch(policy, Queued(3, 100 * kMs), 900 * kMs).take, 3);
  // A full batch does not wait for the delay.
  EXPECT_EQ(DecideBatch(policy, Queued(9, 100 * kMs), 100 * kMs).take, 8);
}

TEST(BatchPolicyTest, WhatIsQueuedRunsWhenTheProducerIsDoneOrWaitsForRoom) {
  BatchQueueState done = Queued(3);
  done.producer_done = true;
  EXPECT_EQ(DecideBatch({8, 0}, done, 0).take, 3);
  BatchQueueState waiting = Queued(5);
  waiting.producer_waiting = true;  // room comes only from running what is queued
  EXPECT_EQ(DecideBatch({8, 0}, waiting, 0).take, 5);
}

TEST(BatchPolicyTest, AnEmptyQueueWaitsUntilTheProducerIsDone) {
  const BatchDecision idle = DecideBatch({8, 5 * kMs}, Queued(0), 0);
  EXPECT_EQ(idle.take, 0);
  EXPECT_EQ(idle.wake_at_ns, -1);
  EXPECT_FALSE(idle.finished);
  BatchQueueState done = Queued(0);
  done.producer_done = true;
  EXPECT_TRUE(DecideBatch({8, 5 * kMs}, done, 0).finished);
}

TEST(BatchPolicyTest, ABatchSizeBelowOneActsAsOne) {
  EXPECT_EQ(DecideBatch({0, 0}, Queued(4), 0).take, 1);
}

}  // namespace
}  // namespace rapid
