// core/byte_budget.h: leases grow only within the capacity, shrink always, move with their bytes
// and give them back when destroyed, also under concurrent use.
#include "core/byte_budget.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <utility>
#include <vector>

namespace rapid {
namespace {

TEST(ByteBudgetTest, LeasesGrowWithinTheCapacityAndGiveBackWhenDestroyed) {
  ByteBudget budget(100);
  ByteLease a(&budget);
  EXPECT_TRUE(a.Resize(60));
  {
    ByteLease b(&budget);
    EXPECT_FALSE(b.Resize(41));  // 60 + 41 > 100: nothing taken
    EXPECT_EQ(b.bytes(), 0);
    EXPECT_TRUE(b.Resize(40));
    EXPECT_EQ(budget.held(), 100);
    EXPECT_FALSE(a.Resize(61));  // growing past the capacity fails and keeps what it had
    EXPECT_EQ(a.bytes(), 60);
    EXPECT_TRUE(a.Resize(10));  // shrinking always succeeds
    EXPECT_EQ(budget.held(), 50);
  }
  EXPECT_EQ(budget.held(), 10);  // b's 40 given back
  EXPECT_FALSE(a.Resize(101));  // more than the whole capacity never fits
  EXPECT_TRUE(a.Resize(100));
}

TEST(ByteBudgetTest, MovingALeaseMovesItsBytes) {
  ByteBudget budget(100);
  ByteLease a(&budget);
  ASSERT_TRUE(a.Resize(30));
  ByteLease b = std::move(a);
  EXPECT_EQ(b.bytes(), 30);
  EXPECT_EQ(budget.held(), 30);
  ByteLease c(&budget);
  ASSERT_TRUE(c.Resize(50));
  c = std::move(b);  // c's own 50 go back, b's 30 come with it
  EXPECT_EQ(c.bytes(), 30);
  EXPECT_EQ(budget.held(), 30);
  ByteLease none;  // of no budget
  EXPECT_TRUE(none.Resize(int64_t{1} << 40));
  none = std::move(c);
  EXPECT_EQ(budget.held(), 30);
  none = ByteLease();
  EXPECT_EQ(budget.held(), 0);
}

TEST(ByteBudgetTest, ConcurrentLeasesNeverPassTheCapacity) {
  ByteBudget budget(1000);
  std::atomic<bool> over{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20000; ++i) {
        ByteLease lease(&budget);
        if (lease.Resize(1 + (i * 7 + t * 13) % 400) && budget.held() > budget.capacity()) over = true;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_FALSE(over);
  EXPECT_EQ(budget.held(), 0);
}

}  // namespace
}  // namespace rapid
