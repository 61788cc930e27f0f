#include "server/service/requests.h"

#include "server/domain/status_macros.h"
#include "server/domain/validation.h"
#include "server/service/proto_mapping.h"

namespace cycle_claimer {
namespace {

namespace v1 = kimp::cycles::v1;

absl::StatusOr<LeaseRef> ParseLeaseRef(const std::string& cycle_id,
                                       int64_t token) {
  LeaseRef ref;
  ASSIGN_OR_RETURN(ref.cycle_id, ParseUuid("cycle_id", cycle_id));
  RETURN_IF_ERROR(CheckLeaseToken("lease_token", token));
  ref.token = token;
  return ref;
}

// An optional decimal: empty means "not given".
absl::Status CheckOptionalDecimal(absl::string_view field,
                                  const std::string& text, int precision,
                                  int scale) {
  if (text.empty()) return absl::OkStatus();
  return CheckDecimal(field, text, precision, scale);
}

}  // namespace

absl::StatusOr<ClaimCommand> ParseClaim(
    const v1::ClaimNextCycleRequest& request, const LeasePolicy& policy) {
  RETURN_IF_ERROR(CheckWorkerId("worker_id", request.worker_id()));
  ASSIGN_OR_RETURN(std::optional<absl::Duration> requested,
                   FromProto("lease_duration", request.has_lease_duration(),
                             request.lease_duration()));
  ClaimCommand command;
  command.worker_id = request.worker_id();
  ASSIGN_OR_RETURN(command.lease, ResolveLeaseDuration(requested, policy));
  return command;
}

absl::StatusOr<RenewCommand> ParseRenew(const v1::RenewLeaseRequest& request,
                                        const LeasePolicy& policy) {
  RenewCommand command;
  ASSIGN_OR_RETURN(command.lease,
                   ParseLeaseRef(request.cycle_id(), request.lease_token()));
  ASSIGN_OR_RETURN(std::optional<absl::Duration> requested,
                   FromProto("lease_duration", request.has_lease_duration(),
                             request.lease_duration()));
  ASSIGN_OR_RETURN(command.duration, ResolveLeaseDuration(requested, policy));
  return command;
}

absl::StatusOr<CompleteCommand> ParseComplete(
    const v1::CompleteCycleRequest& request) {
  CompleteCommand command;
  ASSIGN_OR_RETURN(command.lease,
                   ParseLeaseRef(request.cycle_id(), request.lease_token()));
  if (!request.rebalance_trade_id().empty()) {
    ASSIGN_OR_RETURN(
        command.result.rebalance_trade_id,
        ParseUuid("rebalance_trade_id", request.rebalance_trade_id()));
  }
  // The precision and scale of kimP's columns: numeric(20,4), numeric(10,4).
  RETURN_IF_ERROR(CheckOptionalDecimal("total_net_profit_krw",
                                       request.total_net_profit_krw(), 20, 4));
  RETURN_IF_ERROR(CheckOptionalDecimal(
      "total_net_profit_percent", request.total_net_profit_percent(), 10, 4));
  command.result.total_net_profit_krw = request.total_net_profit_krw();
  command.result.total_net_profit_percent = request.total_net_profit_percent();
  return command;
}

absl::StatusOr<FailCommand> ParseFail(const v1::FailCycleRequest& request) {
  FailCommand command;
  ASSIGN_OR_RETURN(command.lease,
                   ParseLeaseRef(request.cycle_id(), request.lease_token()));
  RETURN_IF_ERROR(CheckText("reason", request.reason(), kMaxReasonBytes,
                            /*required=*/true));
  command.reason = request.reason();
  command.permanent = request.permanent();
  return command;
}

absl::StatusOr<LeaseRef> ParseRelease(const v1::ReleaseCycleRequest& request) {
  return ParseLeaseRef(request.cycle_id(), request.lease_token());
}

}  // namespace cycle_claimer
