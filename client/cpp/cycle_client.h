#pragma once

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "kimp/cycles/v1/cycles.grpc.pb.h"

namespace cycle_claimer::client {

// A thin, synchronous C++ client of kimp.cycles.v1.CycleService. Every call
// carries a deadline and returns the server's status as an absl::Status with
// the same code (FAILED_PRECONDITION "lease lost": abandon the cycle;
// UNAVAILABLE: retry). Thread-safe: one client may serve many threads.
class CycleClient {
 public:
  explicit CycleClient(std::shared_ptr<grpc::Channel> channel,
                       absl::Duration call_timeout = absl::Seconds(30));

  // A client on a new plaintext channel to `target` ("host:port").
  static CycleClient Insecure(const std::string& target,
                              absl::Duration call_timeout = absl::Seconds(30));

  // The oldest claimable cycle, now leased to `worker_id` for `lease`
  // (absl::ZeroDuration(): the server's default); nullopt when none is
  // claimable.
  absl::StatusOr<std::optional<kimp::cycles::v1::Cycle>> Claim(
      absl::string_view worker_id, absl::Duration lease = absl::ZeroDuration());

  absl::StatusOr<kimp::cycles::v1::Cycle> Renew(
      absl::string_view cycle_id, int64_t lease_token,
      absl::Duration lease = absl::ZeroDuration());

  // Completes the cycle; `result` needs cycle_id and lease_token set, and may
  // carry the rebalance result fields.
  absl::StatusOr<kimp::cycles::v1::Cycle> Complete(
      const kimp::cycles::v1::CompleteCycleRequest& result);

  absl::StatusOr<kimp::cycles::v1::Cycle> Fail(absl::string_view cycle_id,
                                               int64_t lease_token,
                                               absl::string_view reason,
                                               bool permanent = false);

  absl::StatusOr<kimp::cycles::v1::Cycle> Release(absl::string_view cycle_id,
                                                  int64_t lease_token);

 private:
  void Prepare(grpc::ClientContext& context) const;

  std::unique_ptr<kimp::cycles::v1::CycleService::Stub> stub_;
  absl::Duration call_timeout_;
};

}  // namespace cycle_claimer::client
