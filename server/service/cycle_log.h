#pragma once

#include "absl/strings/string_view.h"
#include "server/domain/cycle.h"

namespace cycle_claimer {

// Logs one state change of `cycle` (claimed, completed, ...) as one line:
// cycle, status, token, retry count and, while a lease is held, its holder
// and expiry. A lease that ended shows no holder: its token names it, and
// the "claimed" line for that token says who held it.
void LogCycleChange(absl::string_view action, const Cycle& cycle);

}  // namespace cycle_claimer
