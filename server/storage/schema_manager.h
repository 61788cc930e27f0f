#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace cycle_claimer {

// The indexes the service keeps on public.arbitrage_cycles: the claim's, and
// the one that finds the next retry-due moment for long polls.
inline constexpr char kClaimIndexName[] = "cycle_claimer_claimable_idx";
inline constexpr char kRetryIndexName[] = "cycle_claimer_retry_due_idx";
// The trigger that wakes long polls.
inline constexpr char kNotifyTriggerName[] = "cycle_claimer_notify_claimable";

// What the service owns in the database, and the one thing it keeps on
// kimP's table. Each call opens a connection of its own, so that slow DDL
// never holds a connection of the request pool. Thread-compatible.
class SchemaManager {
 public:
  explicit SchemaManager(std::string database_url);

  // Applies the migrations of server/sql/migrations not yet recorded in
  // cycle_claimer.schema_migrations, in order, in one transaction, under an
  // advisory lock (replicas may start together). Additive and idempotent: on
  // an existing kimP database it changes no row and no column of
  // arbitrage_cycles. UNAVAILABLE when the database cannot be reached.
  absl::Status Migrate();

  // Re-creates what the service keeps on arbitrage_cycles when it is gone:
  // the notify trigger, and each index (dropped and built again when a
  // failed build left it invalid), concurrently so kimP's apps keep writing.
  // Returns how many objects it built; 0 also when another replica holds the
  // maintenance lock.
  absl::StatusOr<int> EnsureKeptObjects();

  // Runs ANALYZE on arbitrage_cycles when it has rows but no statistics on
  // status (the claim's plan depends on them), under the maintenance lock.
  // Returns whether it ran; false also when another replica holds the lock.
  absl::StatusOr<bool> EnsureClaimStatistics();

  // Whether index `name` exists and is valid.
  absl::StatusOr<bool> IndexPresent(const std::string& name);

 private:
  const std::string database_url_;
};

}  // namespace cycle_claimer
