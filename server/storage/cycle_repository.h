#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/domain/cycle.h"
#include "server/domain/lease_policy.h"

namespace cycle_claimer {

class PgPool;

struct RepositoryOptions {
  // libpq connection string or URL.
  std::string database_url;
  // Database connections opened at most.
  int pool_size = 8;
  // How long a call waits for a free connection.
  absl::Duration acquire_timeout = absl::Seconds(10);
  LeasePolicy policy;
};

// What a claim did.
struct ClaimOutcome {
  // The cycle now leased to the caller; nullopt when nothing was claimable.
  std::optional<Cycle> claimed;
  // Cycles whose expired lease used up their last attempt on the way: they
  // went to DEAD_LETTER instead of being handed out.
  std::vector<Cycle> dead_lettered;
};

// Result fields stored by Complete. An empty string keeps the column as is.
// The caller has validated them (a UUID and two decimals).
struct CompletionResult {
  std::string rebalance_trade_id;
  std::string total_net_profit_krw;
  std::string total_net_profit_percent;
};

// Every SQL statement the service runs against arbitrage_cycles and its lease
// table, each a short transaction of its own. Methods block on the database
// and are safe to call from many threads at once.
//
// Errors: NOT_FOUND for an unknown cycle id; FAILED_PRECONDITION ("lease
// lost") when the cycle is not REBALANCING_IN_PROGRESS under the given lease
// token, in which case nothing changed; UNAVAILABLE when the database cannot
// be reached (the call may be retried; for a claim, its outcome is unknown);
// RESOURCE_EXHAUSTED when no connection is free in time.
class CycleRepository {
 public:
  explicit CycleRepository(RepositoryOptions options);
  ~CycleRepository();
  CycleRepository(const CycleRepository&) = delete;
  CycleRepository& operator=(const CycleRepository&) = delete;

  const LeasePolicy& policy() const { return options_.policy; }

  // Leases the oldest claimable cycle to `worker_id` for `lease`.
  absl::StatusOr<ClaimOutcome> ClaimNext(absl::string_view worker_id,
                                         absl::Duration lease);

  // Extends the lease held with `token` to now + `lease`.
  absl::StatusOr<Cycle> RenewLease(absl::string_view cycle_id, int64_t token,
                                   absl::Duration lease);

  // COMPLETED, end_time = now, lease cleared, `result` stored.
  absl::StatusOr<Cycle> Complete(absl::string_view cycle_id, int64_t token,
                                 const CompletionResult& result);

  // Records a failed attempt as the lease policy decides (DecideFailure).
  absl::StatusOr<Cycle> Fail(absl::string_view cycle_id, int64_t token,
                             absl::string_view reason, bool permanent);

  // AWAITING_REBALANCE, lease cleared, retry_count unchanged.
  absl::StatusOr<Cycle> Release(absl::string_view cycle_id, int64_t token);

  // The cycle with `cycle_id`, or nullopt when there is none.
  absl::StatusOr<std::optional<Cycle>> Get(absl::string_view cycle_id);

  // Inserts `count` AWAITING_REBALANCE cycles (demos and benchmarks).
  absl::Status InsertDemoCycles(int count);

 private:
  // The error for a lease operation on `cycle_id` with `token` that matched
  // no held lease: NOT_FOUND or FAILED_PRECONDITION.
  absl::Status LeaseMissError(absl::string_view cycle_id, int64_t token);

  const RepositoryOptions options_;
  std::unique_ptr<PgPool> pool_;
};

}  // namespace cycle_claimer
