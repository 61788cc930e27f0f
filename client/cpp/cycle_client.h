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
  // `bearer_token`, when not empty, goes with every call as
  // "authorization: Bearer <token>" (servers started with tokens need it).
  explicit CycleClient(std::shared_ptr<grpc::Channel> channel,
                       absl::Duration call_timeout = absl::Seconds(30),
                       std::string bearer_token = "");

  // A client on a new TLS channel to `target`, trusting `server_ca_pem`
  // (empty: the system's roots) and, for mutual TLS, presenting
  // `client_cert_pem` with `client_key_pem`.
  static CycleClient Tls(const std::string& target,
                         const std::string& server_ca_pem,
                         const std::string& client_cert_pem = "",
                         const std::string& client_key_pem = "",
                         absl::Duration call_timeout = absl::Seconds(30),
                         std::string bearer_token = "");

  // A client on a new plaintext channel to `target` ("host:port").
  static CycleClient Insecure(const std::string& target,
                              absl::Duration call_timeout = absl::Seconds(30),
                              std::string bearer_token = "");

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

  // Claims with every option of the request (wait_timeout, request_id, ...).
  absl::StatusOr<kimp::cycles::v1::ClaimNextCycleResponse> ClaimNext(
      const kimp::cycles::v1::ClaimNextCycleRequest& request);

  // CycleAdminService.
  absl::StatusOr<kimp::cycles::v1::Cycle> Create(
      const kimp::cycles::v1::CreateCycleRequest& request);
  absl::StatusOr<kimp::cycles::v1::Cycle> Get(absl::string_view cycle_id);
  absl::StatusOr<kimp::cycles::v1::ListCyclesResponse> List(
      const kimp::cycles::v1::ListCyclesRequest& request);
  absl::StatusOr<kimp::cycles::v1::Cycle> Requeue(absl::string_view cycle_id);
  absl::StatusOr<kimp::cycles::v1::GetQueueStatsResponse> Stats();

  // Whether the server reports SERVING on grpc.health.v1 (for the whole
  // server); an error when it cannot be asked.
  absl::StatusOr<bool> Serving();

 private:
  void Prepare(grpc::ClientContext& context) const;
  // Calls `method` of `stub` with this client's deadline.
  template <typename Stub, typename Request, typename Response>
  absl::StatusOr<Response> Call(
      Stub& stub,
      grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&,
                                   Response*),
      const Request& request) const;

  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<kimp::cycles::v1::CycleService::Stub> stub_;
  std::unique_ptr<kimp::cycles::v1::CycleAdminService::Stub> admin_;
  absl::Duration call_timeout_;
  std::string bearer_token_;
};

}  // namespace cycle_claimer::client
