#include "server/service/cycle_log.h"

#include <spdlog/spdlog.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "server/telemetry/logging.h"

namespace cycle_claimer {

void LogCycleChange(absl::string_view action, const Cycle& cycle) {
  if (!spdlog::should_log(spdlog::level::info)) return;
  std::vector<LogField> fields = {
      {"cycle", cycle.id},
      {"status", std::string(CycleStatusLabel(cycle.status))},
      {"token", absl::StrCat(cycle.lease_token), true},
      {"retry_count", absl::StrCat(cycle.retry_count), true},
  };
  if (cycle.locked_by) {
    fields.push_back({"worker", *cycle.locked_by});
    if (cycle.lease_expires_at) {
      fields.push_back(
          {"lease_expires_at",
           absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", *cycle.lease_expires_at,
                            absl::UTCTimeZone())});
    }
  }
  LogEvent(spdlog::level::info, action, fields);
}

}  // namespace cycle_claimer
