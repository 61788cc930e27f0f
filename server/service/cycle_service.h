#pragma once

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "kimp/cycles/v1/cycles.grpc.pb.h"
#include "server/domain/auth.h"
#include "server/service/claim_dispatcher.h"
#include "server/service/completion_batcher.h"
#include "server/service/executor.h"
#include "server/service/unary.h"
#include "server/service/long_poll_limiter.h"
#include "server/service/requests.h"
#include "server/storage/cycle_repository.h"

namespace cycle_claimer {

// kimp.cycles.v1.CycleService on gRPC's callback API. Each handler validates
// its request on the calling gRPC thread, then runs the database work on
// `executor` (libpqxx blocks; gRPC's threads must not) and finishes the call
// from there; claims go through `dispatcher` (long polls, coalescing). Holds
// references only: all three must outlive the gRPC server this service is
// registered with.
class CycleServiceImpl final
    : public kimp::cycles::v1::CycleService::CallbackService {
 public:
  // `coalesce`: merge concurrent CompleteCycle calls into one statement.
  // `gate`: every call needs a worker or admin token (when gate.tokens has
  // any) and a server that is not draining.
  // `long_polls` admits the claims that ask to wait.
  CycleServiceImpl(CycleRepository& repository, Executor& executor,
                   ClaimDispatcher& dispatcher, LongPollLimiter& long_polls,
                   bool coalesce, const CallGate& gate);

  grpc::ServerUnaryReactor* ClaimNextCycle(
      grpc::CallbackServerContext* context,
      const kimp::cycles::v1::ClaimNextCycleRequest* request,
      kimp::cycles::v1::ClaimNextCycleResponse* response) override;
  grpc::ServerUnaryReactor* RenewLease(
      grpc::CallbackServerContext* context,
      const kimp::cycles::v1::RenewLeaseRequest* request,
      kimp::cycles::v1::RenewLeaseResponse* response) override;
  grpc::ServerUnaryReactor* CompleteCycle(
      grpc::CallbackServerContext* context,
      const kimp::cycles::v1::CompleteCycleRequest* request,
      kimp::cycles::v1::CompleteCycleResponse* response) override;
  grpc::ServerUnaryReactor* FailCycle(
      grpc::CallbackServerContext* context,
      const kimp::cycles::v1::FailCycleRequest* request,
      kimp::cycles::v1::FailCycleResponse* response) override;
  grpc::ServerUnaryReactor* ReleaseCycle(
      grpc::CallbackServerContext* context,
      const kimp::cycles::v1::ReleaseCycleRequest* request,
      kimp::cycles::v1::ReleaseCycleResponse* response) override;
  grpc::ServerUnaryReactor* ClaimCycles(
      grpc::CallbackServerContext* context,
      const kimp::cycles::v1::ClaimCyclesRequest* request,
      kimp::cycles::v1::ClaimCyclesResponse* response) override;
  grpc::ServerUnaryReactor* CompleteCycles(
      grpc::CallbackServerContext* context,
      const kimp::cycles::v1::CompleteCyclesRequest* request,
      kimp::cycles::v1::CompleteCyclesResponse* response) override;

 private:
  // An empty permit for a claim that does not wait; else a place among the
  // long polls, or RESOURCE_EXHAUSTED.
  absl::StatusOr<LongPollLimiter::Permit> AdmitLongPoll(
      const ClaimTerms& terms);

  CycleRepository& repository_;
  Executor& executor_;
  ClaimDispatcher& dispatcher_;
  LongPollLimiter& long_polls_;
  CompletionBatcher completions_;
  const CallGate& gate_;
};

}  // namespace cycle_claimer
