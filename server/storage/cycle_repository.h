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

// The most slots one claim statement serves (Claim's limit).
inline constexpr int kMaxClaimSlots = 100;

struct RepositoryOptions {
  // libpq connection string or URL.
  std::string database_url;
  // Database connections opened at most.
  int pool_size = 8;
  // How long a call waits for a free connection.
  absl::Duration acquire_timeout = absl::Seconds(10);
  // The longest any statement may run (and at most until the RPC's deadline,
  // see ScopedCallDeadline); zero: no limit.
  absl::Duration statement_timeout = absl::Seconds(30);
  LeasePolicy policy;
  // Prepare statements on each connection; off behind a transaction-mode
  // pooler that cannot carry them (PgPoolOptions::prepared_statements).
  bool prepared_statements = true;
};

// The connection pool right now (for metrics).
struct PoolStats {
  int open = 0;
  int in_use = 0;
  int64_t waits = 0;
  int64_t acquire_timeouts = 0;
  int64_t connect_failures = 0;
  int64_t cancelled_statements = 0;
};

// One claim to serve: who, for how long, and with which request id (empty:
// none). The caller has validated the fields.
struct ClaimSlot {
  std::string worker_id;
  absl::Duration lease;
  std::string request_id;
};

// What a claim did.
struct ClaimOutcome {
  // One entry per slot, in slot order: the cycle now leased to that slot's
  // worker, or nullopt when there was not enough claimable. Earlier slots
  // get older cycles.
  std::vector<std::optional<Cycle>> claimed;
  // Cycles whose expired lease used up their last attempt on the way: they
  // went to DEAD_LETTER instead of being handed out.
  std::vector<Cycle> dead_lettered;
  // Claimed cycles whose holder's lease had expired (taken over).
  int takeovers = 0;
};

// Result fields stored by Complete. An empty string keeps the column as is.
// The caller has validated them (a UUID and two decimals).
struct CompletionResult {
  std::string rebalance_trade_id;
  std::string total_net_profit_krw;
  std::string total_net_profit_percent;
};

// A lease to complete, with its result.
struct CompletionItem {
  std::string cycle_id;
  int64_t token = 0;
  CompletionResult result;
};

// A cycle to insert (CreateCycle). Empty strings are NULL; the caller has
// validated them.
struct NewCycle {
  std::string initial_trade_id;
  std::string initial_investment_krw;
  CycleStatus status = CycleStatus::kAwaitingRebalance;
};

// A position in the newest-first order of ListCycles: the last row of a page.
struct PagePosition {
  absl::Time start_time;
  std::string id;
};

struct CyclePage {
  std::vector<Cycle> cycles;
  // Where the next page starts; nullopt on the last page.
  std::optional<PagePosition> next;
};

struct QueueStats {
  // Cycles per status; statuses with none are absent.
  std::vector<std::pair<CycleStatus, int64_t>> counts;
  // How long the oldest claimable cycle has waited; nullopt when none is.
  std::optional<absl::Duration> oldest_claimable_age;
  int64_t live_leases = 0;
  int64_t expired_leases = 0;
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

  // Leases the oldest claimable cycles to 1 to kMaxClaimSlots `slots`, in one
  // statement (more
  // only when cycles were dead-lettered or lost to a race on the way).
  // Slots with a request id must be unique per (worker_id, request_id); see
  // FindClaim. ABORTED when such a pair was claimed concurrently elsewhere.
  absl::StatusOr<ClaimOutcome> Claim(const std::vector<ClaimSlot>& slots);

  // The cycle `worker_id` claimed with `request_id` and still holds (its
  // lease may have expired, as long as nobody took it over), or nullopt.
  absl::StatusOr<std::optional<Cycle>> FindClaim(absl::string_view worker_id,
                                                 absl::string_view request_id);

  // Extends the lease held with `token` to now + `lease`.
  absl::StatusOr<Cycle> RenewLease(absl::string_view cycle_id, int64_t token,
                                   absl::Duration lease);

  // COMPLETED, end_time = now, lease cleared, `result` stored.
  absl::StatusOr<Cycle> Complete(absl::string_view cycle_id, int64_t token,
                                 const CompletionResult& result);

  // Completes every item in one statement (one transaction). Returns one
  // entry per item, in order: the completed cycle, or that item's NOT_FOUND
  // or FAILED_PRECONDITION (its lease is lost; nothing changed for it). The
  // cycle ids must be distinct. The whole call fails only when the database
  // does (UNAVAILABLE and so on), and then nothing was completed.
  absl::StatusOr<std::vector<absl::StatusOr<Cycle>>> CompleteAll(
      const std::vector<CompletionItem>& items);

  // Records a failed attempt as the lease policy decides (DecideFailure).
  absl::StatusOr<Cycle> Fail(absl::string_view cycle_id, int64_t token,
                             absl::string_view reason, bool permanent);

  // AWAITING_REBALANCE, lease cleared, retry_count unchanged.
  absl::StatusOr<Cycle> Release(absl::string_view cycle_id, int64_t token);

  // The cycle with `cycle_id`, or nullopt when there is none.
  absl::StatusOr<std::optional<Cycle>> Get(absl::string_view cycle_id);

  // Inserts `cycle` and returns it.
  absl::StatusOr<Cycle> Create(const NewCycle& cycle);

  // Up to `page_size` cycles newest first (start_time, then id) after
  // `after` (nullopt: from the newest), of `statuses` (empty: all).
  absl::StatusOr<CyclePage> List(const std::vector<CycleStatus>& statuses,
                                 int page_size,
                                 const std::optional<PagePosition>& after);

  // DEAD_LETTER or FAILED back to AWAITING_REBALANCE, attempts and lease
  // reset. NOT_FOUND, or FAILED_PRECONDITION for any other status.
  absl::StatusOr<Cycle> Requeue(absl::string_view cycle_id);

  absl::StatusOr<QueueStats> Stats();

  // How long until a cycle becomes claimable by the clock alone (a retry
  // falls due, a lease expires), by the database's clock; nullopt when no
  // cycle waits on the clock. Negative when one is due already.
  absl::StatusOr<std::optional<absl::Duration>> NextDueIn();

  // Inserts `count` AWAITING_REBALANCE cycles (demos and benchmarks).
  absl::Status InsertDemoCycles(int count);

  // Replaces every connection of the pool, lazily: after the database was
  // lost, the ones from before are broken.
  void DropConnections();

  // The sizes of arbitrage_cycles and cycle_leases on disk, in bytes.
  absl::StatusOr<std::pair<int64_t, int64_t>> ClaimTableSizes();

  // Has every connection plan its prepared statements again (PgPool).
  void ReplanStatements();

  PoolStats pool_stats();

 private:
  // The error for a lease operation on `cycle_id` with `token` that matched
  // no held lease: NOT_FOUND or FAILED_PRECONDITION.
  absl::Status LeaseMissError(absl::string_view cycle_id, int64_t token);

  const RepositoryOptions options_;
  std::unique_ptr<PgPool> pool_;
};

}  // namespace cycle_claimer
