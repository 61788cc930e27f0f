// Whole requests as gRPC hands them to the service: arbitrary bytes parsed as
// each request message (the first byte picks which), then the server's parser
// for it (server/service/requests.h). A parser never crashes, answers OK,
// INVALID_ARGUMENT or (claims only, a wait past the server's maximum)
// RESOURCE_EXHAUSTED, and what it accepts is what the repository may take:
// canonical UUIDs, positive tokens, leases and waits within the policy,
// decimals numeric(20,4)/(10,4) hold.

#include <google/protobuf/stubs/logging.h>

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "kimp/cycles/v1/cycles.pb.h"
#include "server/domain/lease_policy.h"
#include "server/domain/validation.h"
#include "server/service/requests.h"
#include "tests/fuzz/fuzz_support.h"

namespace cycle_claimer {
namespace {

namespace v1 = kimp::cycles::v1;

const LeasePolicy kPolicy;  // kimP's defaults: 5 min, at most 1 h, wait 60 s

void CheckCode(const absl::Status& status, bool may_exhaust) {
  const absl::StatusCode code = status.code();
  FUZZ_CHECK(code == absl::StatusCode::kOk ||
                 code == absl::StatusCode::kInvalidArgument ||
                 (may_exhaust && code == absl::StatusCode::kResourceExhausted),
             status.ToString());
  if (status.ok()) return;
  FUZZ_CHECK(!status.message().empty(), status.ToString());
  // The request's strings are valid UTF-8 (protobuf refuses others), and
  // error messages end up in JSON log lines.
  FUZZ_CHECK(fuzz::IsValidUtf8(status.message()), status.ToString());
}

void CheckCanonicalUuid(absl::string_view id) {
  const absl::StatusOr<std::string> again = ParseUuid("id", id);
  FUZZ_CHECK(again.ok() && *again == id, id);
}

void CheckLeaseRef(const LeaseRef& lease) {
  CheckCanonicalUuid(lease.cycle_id);
  FUZZ_CHECK(lease.token > 0, lease.token);
}

void CheckTerms(const ClaimTerms& terms) {
  FUZZ_CHECK(
      CheckIdentifier("worker_id", terms.worker_id, kMaxWorkerIdBytes).ok(),
      terms.worker_id);
  FUZZ_CHECK(terms.lease >= kMinLease && terms.lease <= kPolicy.max_lease,
             absl::FormatDuration(terms.lease));
  FUZZ_CHECK(
      terms.wait >= absl::ZeroDuration() && terms.wait <= kPolicy.max_wait,
      absl::FormatDuration(terms.wait));
}

void CheckDecimalOrEmpty(const std::string& text, int precision, int scale) {
  FUZZ_CHECK(text.empty() || CheckDecimal("x", text, precision, scale).ok(),
             text);
}

void CheckComplete(const CompleteCommand& command) {
  CheckLeaseRef(command.lease);
  if (!command.result.rebalance_trade_id.empty()) {
    CheckCanonicalUuid(command.result.rebalance_trade_id);
  }
  CheckDecimalOrEmpty(command.result.total_net_profit_krw, 20, 4);
  CheckDecimalOrEmpty(command.result.total_net_profit_percent, 10, 4);
}

template <typename Request>
bool Parse(const uint8_t* data, std::size_t size, Request& request) {
  return request.ParseFromArray(data, static_cast<int>(size));
}

void FuzzRequest(uint8_t kind, const uint8_t* data, std::size_t size) {
  switch (kind % 11) {
    case 0: {
      v1::ClaimNextCycleRequest request;
      if (!Parse(data, size, request)) return;
      const auto claim = ParseClaim(request, kPolicy);
      CheckCode(claim.status(), /*may_exhaust=*/true);
      if (!claim.ok()) return;
      CheckTerms(claim->terms);
      FUZZ_CHECK(claim->request_id.empty() ||
                     CheckIdentifier("request_id", claim->request_id,
                                     kMaxRequestIdBytes)
                         .ok(),
                 claim->request_id);
      return;
    }
    case 1: {
      v1::ClaimCyclesRequest request;
      if (!Parse(data, size, request)) return;
      const auto claim = ParseClaimBatch(request, kPolicy);
      CheckCode(claim.status(), /*may_exhaust=*/true);
      if (!claim.ok()) return;
      CheckTerms(claim->terms);
      FUZZ_CHECK(claim->max_cycles >= 1 && claim->max_cycles <= kMaxBatch,
                 claim->max_cycles);
      return;
    }
    case 2: {
      v1::RenewLeaseRequest request;
      if (!Parse(data, size, request)) return;
      const auto renew = ParseRenew(request, kPolicy);
      CheckCode(renew.status(), /*may_exhaust=*/false);
      if (!renew.ok()) return;
      CheckLeaseRef(renew->lease);
      FUZZ_CHECK(
          renew->duration >= kMinLease && renew->duration <= kPolicy.max_lease,
          absl::FormatDuration(renew->duration));
      return;
    }
    case 3: {
      v1::CompleteCycleRequest request;
      if (!Parse(data, size, request)) return;
      const auto complete = ParseComplete(request);
      CheckCode(complete.status(), /*may_exhaust=*/false);
      if (complete.ok()) CheckComplete(*complete);
      return;
    }
    case 4: {
      v1::FailCycleRequest request;
      if (!Parse(data, size, request)) return;
      const auto fail = ParseFail(request);
      CheckCode(fail.status(), /*may_exhaust=*/false);
      if (!fail.ok()) return;
      CheckLeaseRef(fail->lease);
      FUZZ_CHECK(CheckText("reason", fail->reason, kMaxReasonBytes, true).ok(),
                 fail->reason);
      return;
    }
    case 5: {
      v1::ReleaseCycleRequest request;
      if (!Parse(data, size, request)) return;
      const auto release = ParseRelease(request);
      CheckCode(release.status(), /*may_exhaust=*/false);
      if (release.ok()) CheckLeaseRef(*release);
      return;
    }
    case 6: {
      v1::CompleteCyclesRequest request;
      if (!Parse(data, size, request)) return;
      const auto batch = ParseCompleteBatch(request);
      CheckCode(batch.status(), /*may_exhaust=*/false);
      if (!batch.ok()) return;
      FUZZ_CHECK(
          static_cast<int>(batch->size()) == request.completions_size() &&
              !batch->empty() &&
              batch->size() <= static_cast<std::size_t>(kMaxBatch),
          batch->size());
      std::set<std::string> ids;
      for (std::size_t i = 0; i < batch->size(); ++i) {
        const auto& item = (*batch)[i];
        CheckCode(item.status(), /*may_exhaust=*/false);
        if (!item.ok()) {
          FUZZ_CHECK(absl::StartsWith(item.status().message(),
                                      absl::StrCat("completions[", i, "].")),
                     item.status().ToString());
          continue;
        }
        CheckComplete(*item);
        FUZZ_CHECK(ids.insert(item->lease.cycle_id).second,
                   "two items complete ", item->lease.cycle_id);
      }
      return;
    }
    case 7: {
      v1::CreateCycleRequest request;
      if (!Parse(data, size, request)) return;
      const auto cycle = ParseCreate(request);
      CheckCode(cycle.status(), /*may_exhaust=*/false);
      if (!cycle.ok()) return;
      if (!cycle->initial_trade_id.empty()) {
        CheckCanonicalUuid(cycle->initial_trade_id);
      }
      CheckDecimalOrEmpty(cycle->initial_investment_krw, 20, 4);
      FUZZ_CHECK(cycle->status == CycleStatus::kAwaitingRebalance ||
                     cycle->status == CycleStatus::kStarted ||
                     cycle->status == CycleStatus::kInitialTradeCompleted,
                 CycleStatusLabel(cycle->status));
      return;
    }
    case 8: {
      v1::ListCyclesRequest request;
      if (!Parse(data, size, request)) return;
      const auto list = ParseList(request);
      CheckCode(list.status(), /*may_exhaust=*/false);
      if (!list.ok()) return;
      FUZZ_CHECK(list->page_size >= 1 && list->page_size <= kMaxPageSize,
                 list->page_size);
      FUZZ_CHECK(
          static_cast<int>(list->statuses.size()) == request.statuses_size(),
          list->statuses.size());
      FUZZ_CHECK(list->after.has_value() == !request.page_token().empty(),
                 request.page_token());
      if (list->after) CheckCanonicalUuid(list->after->id);
      return;
    }
    case 9: {
      // GetCycle and RequeueCycle take their id through ParseUuid alone.
      v1::GetCycleRequest request;
      if (!Parse(data, size, request)) return;
      const auto id = ParseUuid("id", request.id());
      CheckCode(id.status(), /*may_exhaust=*/false);
      if (id.ok()) CheckCanonicalUuid(*id);
      return;
    }
    default: {
      v1::RequeueCycleRequest request;
      if (!Parse(data, size, request)) return;
      const auto id = ParseUuid("id", request.id());
      CheckCode(id.status(), /*may_exhaust=*/false);
      return;
    }
  }
}

}  // namespace
}  // namespace cycle_claimer

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Protobuf logs every string that is not UTF-8 as it refuses it.
  google::protobuf::SetLogHandler(
      [](google::protobuf::LogLevel, const char*, int, const std::string&) {});
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  cycle_claimer::FuzzRequest(data[0], data + 1, size - 1);
  return 0;
}
