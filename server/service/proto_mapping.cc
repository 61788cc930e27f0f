#include "server/service/proto_mapping.h"

#include "absl/strings/str_cat.h"
#include "google/protobuf/timestamp.pb.h"

namespace cycle_claimer {
namespace {

namespace v1 = kimp::cycles::v1;

void SetTime(absl::Time time, google::protobuf::Timestamp& out) {
  const int64_t micros = absl::ToUnixMicros(time);
  // Floor division keeps nanos in [0, 1e9) for times before 1970 too.
  int64_t seconds = micros / 1000000;
  int64_t rest = micros % 1000000;
  if (rest < 0) {
    rest += 1000000;
    seconds -= 1;
  }
  out.set_seconds(seconds);
  out.set_nanos(static_cast<int32_t>(rest * 1000));
}

void SetTime(const std::optional<absl::Time>& time,
             google::protobuf::Timestamp* (v1::Cycle::*mutable_field)(),
             v1::Cycle& out) {
  if (time) SetTime(*time, *(out.*mutable_field)());
}

}  // namespace

v1::CycleStatus ToProto(CycleStatus status) {
  switch (status) {
    case CycleStatus::kStarted:
      return v1::CYCLE_STATUS_STARTED;
    case CycleStatus::kInitialTradeCompleted:
      return v1::CYCLE_STATUS_INITIAL_TRADE_COMPLETED;
    case CycleStatus::kAwaitingRebalance:
      return v1::CYCLE_STATUS_AWAITING_REBALANCE;
    case CycleStatus::kRebalancingInProgress:
      return v1::CYCLE_STATUS_REBALANCING_IN_PROGRESS;
    case CycleStatus::kRebalanceTradeCompleted:
      return v1::CYCLE_STATUS_REBALANCE_TRADE_COMPLETED;
    case CycleStatus::kCompleted:
      return v1::CYCLE_STATUS_COMPLETED;
    case CycleStatus::kFailed:
      return v1::CYCLE_STATUS_FAILED;
    case CycleStatus::kAwaitingRetry:
      return v1::CYCLE_STATUS_AWAITING_RETRY;
    case CycleStatus::kDeadLetter:
      return v1::CYCLE_STATUS_DEAD_LETTER;
  }
  return v1::CYCLE_STATUS_UNSPECIFIED;
}

std::optional<CycleStatus> FromProto(v1::CycleStatus status) {
  for (CycleStatus candidate : kAllCycleStatuses) {
    if (ToProto(candidate) == status) return candidate;
  }
  return std::nullopt;
}

void ToProto(const Cycle& cycle, v1::Cycle& out) {
  out.Clear();
  out.set_id(cycle.id);
  SetTime(cycle.start_time, *out.mutable_start_time());
  SetTime(cycle.end_time, &v1::Cycle::mutable_end_time, out);
  out.set_status(ToProto(cycle.status));
  out.set_initial_trade_id(cycle.initial_trade_id.value_or(""));
  out.set_rebalance_trade_id(cycle.rebalance_trade_id.value_or(""));
  out.set_total_net_profit_krw(cycle.total_net_profit_krw.value_or(""));
  out.set_total_net_profit_percent(cycle.total_net_profit_percent.value_or(""));
  out.set_initial_investment_krw(cycle.initial_investment_krw.value_or(""));
  out.set_error_details(cycle.error_details.value_or(""));
  SetTime(cycle.locked_at, &v1::Cycle::mutable_locked_at, out);
  out.set_retry_count(cycle.retry_count);
  SetTime(cycle.last_retry_at, &v1::Cycle::mutable_last_retry_at, out);
  SetTime(cycle.next_retry_at, &v1::Cycle::mutable_next_retry_at, out);
  out.set_failure_reason(cycle.failure_reason.value_or(""));
  out.set_locked_by(cycle.locked_by.value_or(""));
  SetTime(cycle.lease_expires_at, &v1::Cycle::mutable_lease_expires_at, out);
  out.set_lease_token(cycle.lease_token);
}

absl::StatusOr<std::optional<absl::Duration>> FromProto(
    absl::string_view field, bool present,
    const google::protobuf::Duration& duration) {
  if (!present) return std::optional<absl::Duration>();
  constexpr int64_t kMaxSeconds = 315576000000;  // the Duration spec's range
  const int64_t seconds = duration.seconds();
  const int32_t nanos = duration.nanos();
  const bool in_range = seconds >= -kMaxSeconds && seconds <= kMaxSeconds &&
                        nanos > -1000000000 && nanos < 1000000000;
  const bool signs_agree =
      !((seconds > 0 && nanos < 0) || (seconds < 0 && nanos > 0));
  if (!in_range || !signs_agree) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " is not a valid Duration (seconds ", seconds,
                     ", nanos ", nanos, ")"));
  }
  return std::optional<absl::Duration>(absl::Seconds(seconds) +
                                       absl::Nanoseconds(nanos));
}

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

}  // namespace cycle_claimer
