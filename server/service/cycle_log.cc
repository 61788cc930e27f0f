#include "server/service/cycle_log.h"

#include <spdlog/spdlog.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace cycle_claimer {

void LogCycleChange(absl::string_view action, const Cycle& cycle) {
  if (!spdlog::should_log(spdlog::level::info)) return;
  std::string lease;
  if (cycle.locked_by) {
    lease = absl::StrCat(
        " worker=", *cycle.locked_by, " lease_expires_at=",
        cycle.lease_expires_at
            ? absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", *cycle.lease_expires_at,
                               absl::UTCTimeZone())
            : "-");
  }
  spdlog::info("{} cycle={} status={} token={} retry_count={}{}",
               std::string(action), cycle.id,
               std::string(CycleStatusLabel(cycle.status)), cycle.lease_token,
               cycle.retry_count, lease);
}

}  // namespace cycle_claimer
