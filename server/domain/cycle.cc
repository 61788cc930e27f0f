#include "server/domain/cycle.h"

#include <array>
#include <utility>

namespace cycle_claimer {
namespace {

constexpr std::array<std::pair<CycleStatus, absl::string_view>, 9> kLabels = {{
    {CycleStatus::kStarted, "STARTED"},
    {CycleStatus::kInitialTradeCompleted, "INITIAL_TRADE_COMPLETED"},
    {CycleStatus::kAwaitingRebalance, "AWAITING_REBALANCE"},
    {CycleStatus::kRebalancingInProgress, "REBALANCING_IN_PROGRESS"},
    {CycleStatus::kRebalanceTradeCompleted, "REBALANCE_TRADE_COMPLETED"},
    {CycleStatus::kCompleted, "COMPLETED"},
    {CycleStatus::kFailed, "FAILED"},
    {CycleStatus::kAwaitingRetry, "AWAITING_RETRY"},
    {CycleStatus::kDeadLetter, "DEAD_LETTER"},
}};

}  // namespace

absl::string_view CycleStatusLabel(CycleStatus status) {
  for (const auto& [value, label] : kLabels) {
    if (value == status) return label;
  }
  return "UNKNOWN";
}

std::optional<CycleStatus> CycleStatusFromLabel(absl::string_view label) {
  for (const auto& [value, known] : kLabels) {
    if (known == label) return value;
  }
  return std::nullopt;
}

}  // namespace cycle_claimer
