#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace cycle_claimer {

// The name of the index the claim relies on, on public.arbitrage_cycles.
inline constexpr char kClaimIndexName[] = "cycle_claimer_claimable_idx";

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

  // Creates the claim index on arbitrage_cycles when it is absent, or drops
  // and re-creates it when a failed build left it invalid; concurrently, so
  // kimP's apps keep writing. Returns whether it built the index. Returns
  // false without building when another replica is building it.
  absl::StatusOr<bool> EnsureClaimIndex();

  // Whether the claim index exists and is valid.
  absl::StatusOr<bool> ClaimIndexPresent();

 private:
  const std::string database_url_;
};

}  // namespace cycle_claimer
