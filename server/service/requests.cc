#include "server/service/requests.h"

#include <map>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
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

// The terms of a ClaimNextCycleRequest or ClaimCyclesRequest (their fields
// share names): unset lease means the default, unset wait means none.
template <typename Request>
absl::StatusOr<ClaimTerms> ParseTerms(const Request& request,
                                      const LeasePolicy& policy) {
  ClaimTerms terms;
  RETURN_IF_ERROR(
      CheckIdentifier("worker_id", request.worker_id(), kMaxWorkerIdBytes));
  terms.worker_id = request.worker_id();
  ASSIGN_OR_RETURN(std::optional<absl::Duration> lease,
                   FromProto("lease_duration", request.has_lease_duration(),
                             request.lease_duration()));
  ASSIGN_OR_RETURN(terms.lease, ResolveLeaseDuration(lease, policy));
  ASSIGN_OR_RETURN(std::optional<absl::Duration> wait,
                   FromProto("wait_timeout", request.has_wait_timeout(),
                             request.wait_timeout()));
  ASSIGN_OR_RETURN(terms.wait, ResolveWaitTimeout(wait, policy));
  return terms;
}

}  // namespace

absl::StatusOr<ClaimCommand> ParseClaim(
    const v1::ClaimNextCycleRequest& request, const LeasePolicy& policy) {
  ClaimCommand command;
  ASSIGN_OR_RETURN(command.terms, ParseTerms(request, policy));
  if (!request.request_id().empty()) {
    RETURN_IF_ERROR(CheckIdentifier("request_id", request.request_id(),
                                    kMaxRequestIdBytes));
    command.request_id = request.request_id();
  }
  return command;
}

absl::StatusOr<ClaimBatchCommand> ParseClaimBatch(
    const v1::ClaimCyclesRequest& request, const LeasePolicy& policy) {
  ClaimBatchCommand command;
  ASSIGN_OR_RETURN(command.terms, ParseTerms(request, policy));
  if (request.max_cycles() < 1 || request.max_cycles() > kMaxBatch) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_cycles must be between 1 and ", kMaxBatch, ", got ",
                     request.max_cycles()));
  }
  command.max_cycles = request.max_cycles();
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

absl::StatusOr<std::vector<absl::StatusOr<CompleteCommand>>> ParseCompleteBatch(
    const v1::CompleteCyclesRequest& request) {
  const int count = request.completions_size();
  if (count < 1 || count > kMaxBatch) {
    return absl::InvalidArgumentError(absl::StrCat(
        "completions must hold 1 to ", kMaxBatch, " items, got ", count));
  }
  std::vector<absl::StatusOr<CompleteCommand>> items;
  std::map<std::string, int> first_index;
  for (int i = 0; i < count; ++i) {
    absl::StatusOr<CompleteCommand> item =
        ParseComplete(request.completions(i));
    if (!item.ok()) {
      items.push_back(absl::InvalidArgumentError(
          absl::StrCat("completions[", i, "].", item.status().message())));
      continue;
    }
    const auto [earlier, inserted] =
        first_index.emplace(item->lease.cycle_id, i);
    if (!inserted) {
      items.push_back(absl::InvalidArgumentError(
          absl::StrCat("completions[", i, "].cycle_id repeats completions[",
                       earlier->second, "]")));
      continue;
    }
    items.push_back(std::move(item));
  }
  return items;
}

absl::StatusOr<NewCycle> ParseCreate(const v1::CreateCycleRequest& request) {
  NewCycle cycle;
  if (!request.initial_trade_id().empty()) {
    ASSIGN_OR_RETURN(cycle.initial_trade_id,
                     ParseUuid("initial_trade_id", request.initial_trade_id()));
  }
  RETURN_IF_ERROR(CheckOptionalDecimal(
      "initial_investment_krw", request.initial_investment_krw(), 20, 4));
  cycle.initial_investment_krw = request.initial_investment_krw();
  switch (request.status()) {
    case v1::CYCLE_STATUS_UNSPECIFIED:
    case v1::CYCLE_STATUS_AWAITING_REBALANCE:
      cycle.status = CycleStatus::kAwaitingRebalance;
      break;
    case v1::CYCLE_STATUS_STARTED:
      cycle.status = CycleStatus::kStarted;
      break;
    case v1::CYCLE_STATUS_INITIAL_TRADE_COMPLETED:
      cycle.status = CycleStatus::kInitialTradeCompleted;
      break;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("status must be STARTED, INITIAL_TRADE_COMPLETED or "
                       "AWAITING_REBALANCE for a new cycle, got ",
                       v1::CycleStatus_Name(request.status())));
  }
  return cycle;
}

absl::StatusOr<ListCommand> ParseList(const v1::ListCyclesRequest& request) {
  ListCommand command;
  for (int i = 0; i < request.statuses_size(); ++i) {
    std::optional<CycleStatus> status = FromProto(request.statuses(i));
    if (!status) {
      return absl::InvalidArgumentError(
          absl::StrCat("statuses[", i, "] is not a cycle status"));
    }
    command.statuses.push_back(*status);
  }
  if (request.page_size() < 0 || request.page_size() > kMaxPageSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_size must be between 1 and ", kMaxPageSize,
                     " (0: 100), got ", request.page_size()));
  }
  if (request.page_size() > 0) command.page_size = request.page_size();
  if (!request.page_token().empty()) {
    ASSIGN_OR_RETURN(command.after, DecodePageToken(request.page_token()));
  }
  return command;
}

std::string EncodePageToken(const PagePosition& position) {
  return absl::WebSafeBase64Escape(
      absl::StrCat(absl::ToUnixMicros(position.start_time), "/", position.id));
}

absl::StatusOr<PagePosition> DecodePageToken(absl::string_view token) {
  const auto bad = [] {
    return absl::InvalidArgumentError(
        "page_token is not one this server gave out; start again without it");
  };
  std::string text;
  if (token.size() > 200 || !absl::WebSafeBase64Unescape(token, &text)) {
    return bad();
  }
  const std::vector<absl::string_view> parts = absl::StrSplit(text, '/');
  int64_t micros = 0;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &micros)) return bad();
  absl::StatusOr<std::string> id = ParseUuid("page_token", parts[1]);
  if (!id.ok()) return bad();
  return PagePosition{absl::FromUnixMicros(micros), *std::move(id)};
}

absl::StatusOr<LeaseRef> ParseRelease(const v1::ReleaseCycleRequest& request) {
  return ParseLeaseRef(request.cycle_id(), request.lease_token());
}

}  // namespace cycle_claimer
