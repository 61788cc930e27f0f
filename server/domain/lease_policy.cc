#include "server/domain/lease_policy.h"

#include <limits>

#include "absl/strings/str_cat.h"

namespace cycle_claimer {

absl::Status ValidateLeasePolicy(const LeasePolicy& policy) {
  if (policy.max_lease < kMinLease) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max_lease must be at least ", absl::FormatDuration(kMinLease)));
  }
  if (policy.default_lease < kMinLease ||
      policy.default_lease > policy.max_lease) {
    return absl::InvalidArgumentError(absl::StrCat(
        "default_lease must be between ", absl::FormatDuration(kMinLease),
        " and max_lease (", absl::FormatDuration(policy.max_lease), ")"));
  }
  if (policy.max_wait < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("max_wait_timeout must not be negative");
  }
  if (policy.max_attempts < 1) {
    return absl::InvalidArgumentError("max_attempts must be at least 1");
  }
  if (policy.retry_base_delay <= absl::ZeroDuration() ||
      policy.retry_base_delay > kMaxRetryDelay) {
    return absl::InvalidArgumentError(
        absl::StrCat("retry_base_delay must be positive and at most ",
                     absl::FormatDuration(kMaxRetryDelay)));
  }
  return absl::OkStatus();
}

absl::StatusOr<absl::Duration> ResolveLeaseDuration(
    std::optional<absl::Duration> requested, const LeasePolicy& policy,
    absl::string_view field) {
  if (!requested.has_value()) return policy.default_lease;
  if (*requested < kMinLease) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, " must be at least ", absl::FormatDuration(kMinLease), ", got ",
        absl::FormatDuration(*requested)));
  }
  if (*requested > policy.max_lease) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, " must be at most ", absl::FormatDuration(policy.max_lease),
        " (the server's maximum), got ", absl::FormatDuration(*requested)));
  }
  return *requested;
}

absl::StatusOr<absl::Duration> ResolveWaitTimeout(
    std::optional<absl::Duration> requested, const LeasePolicy& policy,
    absl::string_view field) {
  if (!requested.has_value()) return absl::ZeroDuration();
  if (*requested < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " must not be negative, got ",
                     absl::FormatDuration(*requested)));
  }
  if (*requested > policy.max_wait) {
    return absl::ResourceExhaustedError(absl::StrCat(
        field, " must be at most ", absl::FormatDuration(policy.max_wait),
        " (the server's --max_wait_timeout), got ",
        absl::FormatDuration(*requested)));
  }
  return *requested;
}

absl::Duration RetryDelay(int retry_count, absl::Duration base) {
  absl::Duration delay = base;
  for (int attempt = 1; attempt < retry_count; ++attempt) {
    if (delay >= kMaxRetryDelay / 2) return kMaxRetryDelay;
    delay *= 2;
  }
  return std::min(delay, kMaxRetryDelay);
}

bool AttemptsExhausted(int retry_count, int max_attempts) {
  return retry_count >= max_attempts;
}

FailureOutcome DecideFailure(int retry_count, bool permanent,
                             const LeasePolicy& policy) {
  // retry_count comes from kimP's table: no overflow at its largest value.
  const int failures = retry_count < std::numeric_limits<int>::max()
                           ? retry_count + 1
                           : retry_count;
  if (permanent || AttemptsExhausted(failures, policy.max_attempts)) {
    return {CycleStatus::kDeadLetter, failures, std::nullopt};
  }
  return {CycleStatus::kAwaitingRetry, failures,
          RetryDelay(failures, policy.retry_base_delay)};
}

absl::Status LeaseLostError(absl::string_view cycle_id, CycleStatus status,
                            int64_t current_token, int64_t presented_token) {
  return absl::FailedPreconditionError(absl::StrCat(
      "lease lost: cycle ", cycle_id, " is ", CycleStatusLabel(status),
      " with lease_token ", current_token, ", the request holds lease_token ",
      presented_token, "; abandon this cycle"));
}

}  // namespace cycle_claimer
