#pragma once

#include <cstdint>
#include <optional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/domain/cycle.h"

namespace cycle_claimer {

// The rules for leases and retries. The defaults are kimP's own.
struct LeasePolicy {
  // Lease length when a request leaves it unset.
  absl::Duration default_lease = absl::Minutes(5);
  // Longest lease a request may ask for.
  absl::Duration max_lease = absl::Hours(1);
  // A cycle whose retry_count reaches this goes to DEAD_LETTER.
  int max_attempts = 5;
  // The n-th failed attempt waits retry_base_delay * 2^(n-1).
  absl::Duration retry_base_delay = absl::Minutes(10);
  // Longest a claim may wait for a cycle (longer requests are capped).
  absl::Duration max_wait = absl::Seconds(60);
};

// The shortest lease a request may ask for. Shorter ones are almost always a
// unit mistake (milliseconds for seconds) and would make every cycle look
// abandoned.
inline constexpr absl::Duration kMinLease = absl::Seconds(1);
// No retry waits longer than this, however many attempts max_attempts allows.
inline constexpr absl::Duration kMaxRetryDelay = absl::Hours(24 * 30);

// OK when `policy` is usable; INVALID_ARGUMENT naming the setting otherwise.
absl::Status ValidateLeasePolicy(const LeasePolicy& policy);

// The lease length for a request that asked for `requested` (nullopt: not
// given). INVALID_ARGUMENT naming `field` when it is below kMinLease or above
// policy.max_lease.
absl::StatusOr<absl::Duration> ResolveLeaseDuration(
    std::optional<absl::Duration> requested, const LeasePolicy& policy,
    absl::string_view field = "lease_duration");

// How long a claim waits for a cycle when it asked for `requested` (nullopt:
// not given): zero when unset. INVALID_ARGUMENT naming `field` when negative;
// RESOURCE_EXHAUSTED naming it when above policy.max_wait (a limit of the
// server's, not a malformed request).
absl::StatusOr<absl::Duration> ResolveWaitTimeout(
    std::optional<absl::Duration> requested, const LeasePolicy& policy,
    absl::string_view field = "wait_timeout");

// How long a cycle waits after its `retry_count`-th failed attempt (>= 1):
// base * 2^(retry_count - 1), capped at kMaxRetryDelay.
absl::Duration RetryDelay(int retry_count, absl::Duration base);

// Whether a cycle that has failed `retry_count` times is done retrying. The
// claim statement applies the same rule to an expired lease taken over.
bool AttemptsExhausted(int retry_count, int max_attempts);

// What a failed attempt does to a cycle.
struct FailureOutcome {
  CycleStatus status;  // kAwaitingRetry or kDeadLetter
  int retry_count;     // the count including this failure
  // When the cycle becomes claimable again; nullopt for kDeadLetter.
  std::optional<absl::Duration> retry_delay;
};

// The outcome of a failure reported for a cycle that had failed
// `retry_count` times before; `permanent` dead-letters at once.
FailureOutcome DecideFailure(int retry_count, bool permanent,
                             const LeasePolicy& policy);

// The FAILED_PRECONDITION returned when `presented_token` no longer holds
// cycle `cycle_id`, whose current state is `status` and `current_token`.
absl::Status LeaseLostError(absl::string_view cycle_id, CycleStatus status,
                            int64_t current_token, int64_t presented_token);

}  // namespace cycle_claimer
