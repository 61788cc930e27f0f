#include "server/domain/lease_policy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>

namespace cycle_claimer {
namespace {

using ::testing::HasSubstr;

TEST(RetryDelayTest, DoublesFromTheBaseDelayPerFailedAttempt) {
  const absl::Duration base = absl::Minutes(10);
  EXPECT_EQ(RetryDelay(1, base), absl::Minutes(10));
  EXPECT_EQ(RetryDelay(2, base), absl::Minutes(20));
  EXPECT_EQ(RetryDelay(3, base), absl::Minutes(40));
  EXPECT_EQ(RetryDelay(4, base), absl::Minutes(80));
}

TEST(RetryDelayTest, IsCappedInsteadOfOverflowing) {
  EXPECT_EQ(RetryDelay(64, absl::Minutes(10)), kMaxRetryDelay);
  EXPECT_EQ(RetryDelay(1000000, absl::Seconds(1)), kMaxRetryDelay);
  EXPECT_LE(RetryDelay(22, absl::Seconds(1)), kMaxRetryDelay);
}

TEST(DecideFailureTest, RetriesUntilMaxAttemptsThenDeadLetters) {
  const LeasePolicy policy;  // kimP's defaults: 5 attempts, 10 min base
  for (int before = 0; before < 4; ++before) {
    const FailureOutcome outcome = DecideFailure(before, false, policy);
    EXPECT_EQ(outcome.status, CycleStatus::kAwaitingRetry);
    EXPECT_EQ(outcome.retry_count, before + 1);
    ASSERT_TRUE(outcome.retry_delay.has_value());
    EXPECT_EQ(*outcome.retry_delay,
              RetryDelay(before + 1, policy.retry_base_delay));
  }
  const FailureOutcome fifth = DecideFailure(4, false, policy);
  EXPECT_EQ(fifth.status, CycleStatus::kDeadLetter);
  EXPECT_EQ(fifth.retry_count, 5);
  EXPECT_FALSE(fifth.retry_delay.has_value());
}

TEST(DecideFailureTest, TheLargestRetryCountDeadLettersWithoutOverflow) {
  // retry_count is kimP's integer column; any value may be there.
  const int largest = std::numeric_limits<int>::max();
  const FailureOutcome outcome = DecideFailure(largest, false, LeasePolicy{});
  EXPECT_EQ(outcome.status, CycleStatus::kDeadLetter);
  EXPECT_EQ(outcome.retry_count, largest);
}

TEST(DecideFailureTest, PermanentFailureDeadLettersOnTheFirstAttempt) {
  const FailureOutcome outcome = DecideFailure(0, true, LeasePolicy{});
  EXPECT_EQ(outcome.status, CycleStatus::kDeadLetter);
  EXPECT_EQ(outcome.retry_count, 1);
}

TEST(DecideFailureTest, CountsAlreadyPastTheLimitStillDeadLetter) {
  // An operator may lower max_attempts while cycles are mid-retry.
  EXPECT_EQ(DecideFailure(9, false, LeasePolicy{}).status,
            CycleStatus::kDeadLetter);
}

TEST(ResolveLeaseDurationTest, DefaultsAndBounds) {
  const LeasePolicy policy;
  EXPECT_EQ(*ResolveLeaseDuration(std::nullopt, policy), absl::Minutes(5));
  EXPECT_EQ(*ResolveLeaseDuration(absl::Seconds(30), policy),
            absl::Seconds(30));
  EXPECT_EQ(*ResolveLeaseDuration(absl::Hours(1), policy), absl::Hours(1));
  for (absl::Duration bad :
       {absl::ZeroDuration(), absl::Seconds(-1), absl::Milliseconds(999),
        absl::Hours(1) + absl::Seconds(1)}) {
    auto resolved = ResolveLeaseDuration(bad, policy);
    EXPECT_EQ(resolved.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(resolved.status().message(), HasSubstr("lease_duration"));
  }
}

TEST(ValidateLeasePolicyTest, RefusesUnusableSettings) {
  EXPECT_TRUE(ValidateLeasePolicy(LeasePolicy{}).ok());
  LeasePolicy policy;
  policy.default_lease = absl::Hours(2);
  EXPECT_THAT(ValidateLeasePolicy(policy).message(),
              HasSubstr("default_lease"));
  policy = LeasePolicy{};
  policy.max_attempts = 0;
  EXPECT_THAT(ValidateLeasePolicy(policy).message(), HasSubstr("max_attempts"));
  policy = LeasePolicy{};
  policy.retry_base_delay = absl::ZeroDuration();
  EXPECT_THAT(ValidateLeasePolicy(policy).message(),
              HasSubstr("retry_base_delay"));
}

TEST(LeaseLostErrorTest, IsFailedPreconditionSayingLeaseLost) {
  const absl::Status lost =
      LeaseLostError("abc", CycleStatus::kCompleted, 3, 2);
  EXPECT_EQ(lost.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(lost.message(), HasSubstr("lease lost"));
  EXPECT_THAT(lost.message(), HasSubstr("COMPLETED"));
}

}  // namespace
}  // namespace cycle_claimer

namespace cycle_claimer {
namespace {

TEST(ResolveWaitTimeoutTest, UnsetIsNoWaitAndTheMaximumIsALimit) {
  LeasePolicy policy;
  policy.max_wait = absl::Seconds(60);
  EXPECT_EQ(*ResolveWaitTimeout(std::nullopt, policy), absl::ZeroDuration());
  EXPECT_EQ(*ResolveWaitTimeout(absl::Seconds(60), policy), absl::Seconds(60));
  const auto negative = ResolveWaitTimeout(absl::Seconds(-1), policy);
  EXPECT_EQ(negative.status().code(), absl::StatusCode::kInvalidArgument);
  const auto beyond = ResolveWaitTimeout(absl::Seconds(61), policy);
  EXPECT_EQ(beyond.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(beyond.status().message()),
              ::testing::HasSubstr("wait_timeout"));
}

}  // namespace
}  // namespace cycle_claimer
