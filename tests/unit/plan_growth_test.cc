#include "server/storage/plan_growth.h"

#include <gtest/gtest.h>

namespace cycle_claimer {
namespace {

constexpr int64_t kFloor = PlanGrowth::kFloorBytes;

TEST(PlanGrowthTest, TheFirstLookIsTheBaseline) {
  PlanGrowth growth;
  EXPECT_FALSE(growth.Observe(100 * kFloor, 100 * kFloor));
  EXPECT_FALSE(growth.Observe(200 * kFloor, 200 * kFloor));  // doubled, not more
  EXPECT_TRUE(growth.Observe(201 * kFloor, 100 * kFloor));
}

TEST(PlanGrowthTest, EitherTableDoublingReplansAndResetsBoth) {
  PlanGrowth growth;
  growth.Observe(10 * kFloor, 10 * kFloor);
  EXPECT_TRUE(growth.Observe(10 * kFloor, 21 * kFloor));
  // Both now count from these sizes.
  EXPECT_FALSE(growth.Observe(20 * kFloor, 42 * kFloor));
  EXPECT_TRUE(growth.Observe(21 * kFloor, 42 * kFloor));
}

TEST(PlanGrowthTest, NothingBelowTheFloorCounts) {
  PlanGrowth growth;
  growth.Observe(0, 0);
  EXPECT_FALSE(growth.Observe(kFloor, 8192));
  EXPECT_FALSE(growth.Observe(2 * kFloor, 2 * kFloor));
  EXPECT_TRUE(growth.Observe(2 * kFloor + 1, 0));
}

TEST(PlanGrowthTest, AnEmptyTableGrowingToAGibibyteReplansFourteenTimes) {
  PlanGrowth growth;
  growth.Observe(0, 0);
  int replans = 0;
  for (int64_t bytes = 8192; bytes <= (int64_t{1} << 30); bytes += bytes / 16) {
    replans += growth.Observe(bytes, 0) ? 1 : 0;
  }
  EXPECT_GE(replans, 13);
  EXPECT_LE(replans, 14);
}

TEST(PlanGrowthTest, ATableThatShrankCountsFromItsNewSize) {
  PlanGrowth growth;
  growth.Observe(0, 100 * kFloor);
  EXPECT_FALSE(growth.Observe(0, 0));  // TRUNCATE
  EXPECT_TRUE(growth.Observe(0, 3 * kFloor));
}

}  // namespace
}  // namespace cycle_claimer
