#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace cycle_claimer {

// The status of an arbitrage cycle: the labels of kimP's PostgreSQL enum
// arbitrage_cycles_status_enum, in its order.
enum class CycleStatus {
  kStarted,
  kInitialTradeCompleted,
  kAwaitingRebalance,
  kRebalancingInProgress,
  kRebalanceTradeCompleted,
  kCompleted,
  kFailed,
  kAwaitingRetry,
  kDeadLetter,
};

// Every status, in the enum's order.
inline constexpr CycleStatus kAllCycleStatuses[] = {
    CycleStatus::kStarted,
    CycleStatus::kInitialTradeCompleted,
    CycleStatus::kAwaitingRebalance,
    CycleStatus::kRebalancingInProgress,
    CycleStatus::kRebalanceTradeCompleted,
    CycleStatus::kCompleted,
    CycleStatus::kFailed,
    CycleStatus::kAwaitingRetry,
    CycleStatus::kDeadLetter,
};

// The database label of `status`, e.g. "AWAITING_REBALANCE".
absl::string_view CycleStatusLabel(CycleStatus status);

// The status whose database label is `label`; nullopt for an unknown label.
std::optional<CycleStatus> CycleStatusFromLabel(absl::string_view label);

// One row of arbitrage_cycles together with this service's lease on it.
// Optional members are SQL NULLs. Numeric columns are kept as the decimal
// text PostgreSQL prints, so no amount is ever rounded through a double.
struct Cycle {
  std::string id;
  absl::Time start_time;
  std::optional<absl::Time> end_time;
  CycleStatus status = CycleStatus::kStarted;
  std::optional<std::string> initial_trade_id;
  std::optional<std::string> rebalance_trade_id;
  std::optional<std::string> total_net_profit_krw;
  std::optional<std::string> total_net_profit_percent;
  std::optional<std::string> initial_investment_krw;
  std::optional<std::string> error_details;
  std::optional<absl::Time> locked_at;
  int32_t retry_count = 0;
  std::optional<absl::Time> last_retry_at;
  std::optional<absl::Time> next_retry_at;
  std::optional<std::string> failure_reason;
  // The lease: who holds it and until when (both unset when nobody does),
  // and the fencing token of the latest claim (0 if never claimed here).
  std::optional<std::string> locked_by;
  std::optional<absl::Time> lease_expires_at;
  int64_t lease_token = 0;
};

}  // namespace cycle_claimer
