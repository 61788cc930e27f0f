// Lease and wait durations as requests give them: any google.protobuf.Duration
// (seconds, nanos) through FromProto (server/service/proto_mapping.h), then
// ResolveLeaseDuration and ResolveWaitTimeout (server/domain/lease_policy.h)
// under any valid LeasePolicy; and the retry backoff for any attempt count.

#include <fuzzer/FuzzedDataProvider.h>

#include <climits>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "google/protobuf/duration.pb.h"
#include "server/domain/lease_policy.h"
#include "server/service/proto_mapping.h"
#include "tests/fuzz/fuzz_support.h"

namespace cycle_claimer {
namespace {

constexpr int64_t kMaxDurationSeconds = 315576000000;  // the Duration spec

LeasePolicy PolicyFrom(FuzzedDataProvider& input) {
  LeasePolicy policy;
  policy.max_lease = absl::Milliseconds(
      input.ConsumeIntegralInRange<int64_t>(1000, 1000000000));
  policy.default_lease =
      absl::Milliseconds(input.ConsumeIntegralInRange<int64_t>(
          1000, absl::ToInt64Milliseconds(policy.max_lease)));
  policy.max_wait =
      absl::Milliseconds(input.ConsumeIntegralInRange<int64_t>(0, 100000000));
  policy.max_attempts = input.ConsumeIntegralInRange(1, 1000);
  policy.retry_base_delay =
      absl::Microseconds(input.ConsumeIntegralInRange<int64_t>(
          1, absl::ToInt64Microseconds(kMaxRetryDelay)));
  const absl::Status valid = ValidateLeasePolicy(policy);
  FUZZ_CHECK(valid.ok(), valid.ToString());
  return policy;
}

// FromProto's verdict on (seconds, nanos), against the Duration spec.
std::optional<absl::Duration> CheckFromProto(bool present, int64_t seconds,
                                             int32_t nanos) {
  google::protobuf::Duration wire;
  wire.set_seconds(seconds);
  wire.set_nanos(nanos);
  const absl::StatusOr<std::optional<absl::Duration>> parsed =
      FromProto("lease_duration", present, wire);
  if (!present) {
    FUZZ_CHECK(parsed.ok() && !parsed->has_value(), "unset must be nullopt");
    return std::nullopt;
  }
  const bool valid = seconds >= -kMaxDurationSeconds &&
                     seconds <= kMaxDurationSeconds && nanos > -1000000000 &&
                     nanos < 1000000000 && !(seconds > 0 && nanos < 0) &&
                     !(seconds < 0 && nanos > 0);
  FUZZ_CHECK(parsed.ok() == valid, parsed.status().ToString(), " for ", seconds,
             "s ", nanos, "ns");
  if (!parsed.ok()) {
    FUZZ_CHECK(parsed.status().code() == absl::StatusCode::kInvalidArgument,
               parsed.status().ToString());
    FUZZ_CHECK(absl::StartsWith(parsed.status().message(), "lease_duration"),
               parsed.status().ToString());
    return std::nullopt;
  }
  FUZZ_CHECK(parsed->has_value(), "set must have a value");
  const absl::Duration duration = **parsed;
  FUZZ_CHECK(absl::ToInt64Seconds(duration) == seconds &&
                 duration - absl::Seconds(seconds) == absl::Nanoseconds(nanos),
             absl::FormatDuration(duration), " for ", seconds, "s ", nanos,
             "ns");
  return duration;
}

void CheckLease(std::optional<absl::Duration> requested,
                const LeasePolicy& policy) {
  const absl::StatusOr<absl::Duration> lease =
      ResolveLeaseDuration(requested, policy);
  if (!requested) {
    FUZZ_CHECK(lease.ok() && *lease == policy.default_lease,
               lease.status().ToString());
    return;
  }
  const bool allowed =
      *requested >= kMinLease && *requested <= policy.max_lease;
  FUZZ_CHECK(lease.ok() == allowed, lease.status().ToString());
  if (lease.ok()) {
    FUZZ_CHECK(*lease == *requested, absl::FormatDuration(*lease));
  } else {
    FUZZ_CHECK(lease.status().code() == absl::StatusCode::kInvalidArgument,
               lease.status().ToString());
    FUZZ_CHECK(absl::StartsWith(lease.status().message(), "lease_duration"),
               lease.status().ToString());
  }
}

void CheckWait(std::optional<absl::Duration> requested,
               const LeasePolicy& policy) {
  const absl::StatusOr<absl::Duration> wait =
      ResolveWaitTimeout(requested, policy);
  if (!requested) {
    FUZZ_CHECK(wait.ok() && *wait == absl::ZeroDuration(),
               wait.status().ToString());
    return;
  }
  absl::StatusCode expected = absl::StatusCode::kOk;
  if (*requested < absl::ZeroDuration()) {
    expected = absl::StatusCode::kInvalidArgument;
  } else if (*requested > policy.max_wait) {
    expected = absl::StatusCode::kResourceExhausted;
  }
  FUZZ_CHECK(wait.status().code() == expected, wait.status().ToString(),
             " for ", absl::FormatDuration(*requested));
  if (wait.ok()) {
    FUZZ_CHECK(*wait == *requested, absl::FormatDuration(*wait));
  } else {
    FUZZ_CHECK(absl::StartsWith(wait.status().message(), "wait_timeout"),
               wait.status().ToString());
  }
}

void CheckBackoff(int retry_count, const LeasePolicy& policy) {
  const absl::Duration delay = RetryDelay(retry_count, policy.retry_base_delay);
  FUZZ_CHECK(delay > absl::ZeroDuration() && delay <= kMaxRetryDelay,
             absl::FormatDuration(delay));
  if (retry_count >= 1 && retry_count < INT_MAX) {
    const absl::Duration next =
        RetryDelay(retry_count + 1, policy.retry_base_delay);
    FUZZ_CHECK(next >= delay && (next == kMaxRetryDelay || next == 2 * delay),
               retry_count, ": ", absl::FormatDuration(delay), " then ",
               absl::FormatDuration(next));
  }
  // retry_count comes from the table; INT_MAX failures cannot be counted.
  if (retry_count >= 0 && retry_count < INT_MAX) {
    for (const bool permanent : {false, true}) {
      const FailureOutcome outcome =
          DecideFailure(retry_count, permanent, policy);
      FUZZ_CHECK(outcome.retry_count == retry_count + 1, outcome.retry_count);
      const bool dead = permanent || retry_count + 1 >= policy.max_attempts;
      FUZZ_CHECK((outcome.status == CycleStatus::kDeadLetter) == dead &&
                     outcome.retry_delay.has_value() == !dead,
                 retry_count, permanent ? " permanent" : "");
    }
  }
}

}  // namespace
}  // namespace cycle_claimer

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  using namespace cycle_claimer;
  FuzzedDataProvider input(data, size);
  const LeasePolicy policy = PolicyFrom(input);
  const bool present = input.ConsumeBool();
  // Mostly near the interesting range, sometimes anything at all.
  const int64_t seconds = input.ConsumeBool()
                              ? input.ConsumeIntegralInRange<int64_t>(-5, 4000)
                              : input.ConsumeIntegral<int64_t>();
  const int32_t nanos = input.ConsumeIntegral<int32_t>();
  const std::optional<absl::Duration> duration =
      CheckFromProto(present, seconds, nanos);
  if (duration || !present) {
    CheckLease(duration, policy);
    CheckWait(duration, policy);
  }
  CheckBackoff(input.ConsumeIntegral<int>(), policy);
  return 0;
}
