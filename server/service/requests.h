#pragma once

// Validation of CycleService requests into commands for the repository. Every
// error is INVALID_ARGUMENT and names the offending field.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "kimp/cycles/v1/cycles.pb.h"
#include "server/domain/lease_policy.h"
#include "server/storage/cycle_repository.h"

namespace cycle_claimer {

// What every claim states: who, how long a lease, how long to wait.
struct ClaimTerms {
  std::string worker_id;
  absl::Duration lease;
  absl::Duration wait;  // zero: answer at once
};

struct ClaimCommand {
  ClaimTerms terms;
  std::string request_id;  // empty: none
};

// The most cycles one ClaimCycles call may take, and the most completions
// one CompleteCycles call may carry.
inline constexpr int kMaxBatch = kMaxClaimSlots;

struct ClaimBatchCommand {
  ClaimTerms terms;
  int max_cycles = 1;
};

// A cycle id in canonical form and the lease token presented for it.
struct LeaseRef {
  std::string cycle_id;
  int64_t token = 0;
};

struct RenewCommand {
  LeaseRef lease;
  absl::Duration duration;
};

struct CompleteCommand {
  LeaseRef lease;
  CompletionResult result;
};

struct FailCommand {
  LeaseRef lease;
  std::string reason;
  bool permanent = false;
};

// CycleAdminService.
struct ListCommand {
  std::vector<CycleStatus> statuses;
  int page_size = 100;
  std::optional<PagePosition> after;
};
inline constexpr int kMaxPageSize = 1000;

absl::StatusOr<NewCycle> ParseCreate(
    const kimp::cycles::v1::CreateCycleRequest& request);
absl::StatusOr<ListCommand> ParseList(
    const kimp::cycles::v1::ListCyclesRequest& request);
// The opaque page token for `position`, and back; INVALID_ARGUMENT naming
// page_token for a token this server did not make.
std::string EncodePageToken(const PagePosition& position);
absl::StatusOr<PagePosition> DecodePageToken(absl::string_view token);

absl::StatusOr<ClaimCommand> ParseClaim(
    const kimp::cycles::v1::ClaimNextCycleRequest& request,
    const LeasePolicy& policy);
absl::StatusOr<ClaimBatchCommand> ParseClaimBatch(
    const kimp::cycles::v1::ClaimCyclesRequest& request,
    const LeasePolicy& policy);
// One entry per completion, in order: the command, or why the item is
// invalid (its own field errors, prefixed "completions[i].", or a cycle_id
// that an earlier item already names). The call as a whole is invalid only
// when it holds no completion or more than kMaxBatch.
absl::StatusOr<std::vector<absl::StatusOr<CompleteCommand>>> ParseCompleteBatch(
    const kimp::cycles::v1::CompleteCyclesRequest& request);
absl::StatusOr<RenewCommand> ParseRenew(
    const kimp::cycles::v1::RenewLeaseRequest& request,
    const LeasePolicy& policy);
absl::StatusOr<CompleteCommand> ParseComplete(
    const kimp::cycles::v1::CompleteCycleRequest& request);
absl::StatusOr<FailCommand> ParseFail(
    const kimp::cycles::v1::FailCycleRequest& request);
absl::StatusOr<LeaseRef> ParseRelease(
    const kimp::cycles::v1::ReleaseCycleRequest& request);

}  // namespace cycle_claimer
