#include "server/service/long_poll_limiter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

namespace cycle_claimer {
namespace {

TEST(LongPollLimiterTest, LimitsPerWorkerAndInAll) {
  LongPollLimiter limiter(/*max_total=*/3, /*max_per_worker=*/2);
  std::vector<LongPollLimiter::Permit> held;
  held.push_back(*limiter.Admit("a"));
  held.push_back(*limiter.Admit("a"));
  const auto third_a = limiter.Admit("a");
  EXPECT_EQ(third_a.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(third_a.status().message()),
              ::testing::HasSubstr("max_long_polls_per_worker"));
  held.push_back(*limiter.Admit("b"));
  const auto fourth = limiter.Admit("c");
  EXPECT_EQ(fourth.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(fourth.status().message()),
              ::testing::HasSubstr("--max_long_polls"));
  EXPECT_EQ(limiter.active(), 3u);

  held.erase(held.begin());  // one of a's ends
  EXPECT_EQ(limiter.active(), 2u);
  EXPECT_TRUE(limiter.Admit("a").ok());  // and its place is free again
  EXPECT_EQ(limiter.active(), 2u);  // the permit above died at once
}

TEST(LongPollLimiterTest, MovedPermitsGiveBackOnce) {
  LongPollLimiter limiter(1, 1);
  {
    LongPollLimiter::Permit outer;
    {
      LongPollLimiter::Permit inner = *limiter.Admit("w");
      outer = std::move(inner);
    }
    EXPECT_EQ(limiter.active(), 1u);
    EXPECT_FALSE(limiter.Admit("w").ok());
  }
  EXPECT_EQ(limiter.active(), 0u);
  EXPECT_TRUE(limiter.Admit("w").ok());
}

}  // namespace
}  // namespace cycle_claimer
