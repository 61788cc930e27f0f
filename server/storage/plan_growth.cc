#include "server/storage/plan_growth.h"

#include <algorithm>

namespace cycle_claimer {
namespace {

// Whether a table of `bytes`, planned for `planned`, more than doubled.
bool Doubled(int64_t planned, int64_t bytes) {
  return bytes > 2 * std::max(planned, PlanGrowth::kFloorBytes);
}

}  // namespace

bool PlanGrowth::Observe(int64_t cycles_bytes, int64_t leases_bytes) {
  if (cycles_planned_ < 0) {
    // The first look: plans made so far saw about these sizes.
    cycles_planned_ = cycles_bytes;
    leases_planned_ = leases_bytes;
    return false;
  }
  // A table that shrank (TRUNCATE, VACUUM FULL) counts from its new size.
  cycles_planned_ = std::min(cycles_planned_, cycles_bytes);
  leases_planned_ = std::min(leases_planned_, leases_bytes);
  if (!Doubled(cycles_planned_, cycles_bytes) &&
      !Doubled(leases_planned_, leases_bytes)) {
    return false;
  }
  // Re-planned statements see both tables as they are now.
  cycles_planned_ = cycles_bytes;
  leases_planned_ = leases_bytes;
  return true;
}

}  // namespace cycle_claimer
