#pragma once

#include <cstdint>

namespace cycle_claimer {

// When to re-plan the prepared statements. PostgreSQL plans a prepared
// statement with the table sizes of that moment and, once it settles on a
// generic plan, keeps it until something invalidates it (an ANALYZE or a
// VACUUM of a table it reads, DDL). A plan made while cycle_leases was empty
// looks leases up with a sequential scan; kept while the table grows to
// millions of rows, every claim reads all of them. Autovacuum invalidates
// such plans only up to a minute later, and not at all while it is off.
//
// PlanGrowth watches the sizes of the tables and answers true when either
// has more than doubled since the last re-plan (or since it was smallest),
// counting nothing below kFloorBytes: a table growing from empty to 1 GiB
// causes 14 re-plans. Not thread-safe; one thread observes.
class PlanGrowth {
 public:
  static constexpr int64_t kFloorBytes = 64 * 1024;

  // Records the current sizes; true when the statements should be re-planned.
  bool Observe(int64_t cycles_bytes, int64_t leases_bytes);

 private:
  // Sizes the current plans were made for; -1: nothing observed yet.
  int64_t cycles_planned_ = -1;
  int64_t leases_planned_ = -1;
};

}  // namespace cycle_claimer
