#pragma once

#include <grpcpp/grpcpp.h>

#include "kimp/cycles/v1/cycles.grpc.pb.h"
#include "server/domain/auth.h"
#include "server/service/executor.h"
#include "server/service/unary.h"
#include "server/storage/cycle_repository.h"

namespace cycle_claimer {

// kimp.cycles.v1.CycleAdminService on the callback API: handlers validate
// on gRPC's thread and run the database work on `executor`. `repository` and
// `executor` must outlive the server this service is registered with.
class AdminServiceImpl final
    : public kimp::cycles::v1::CycleAdminService::CallbackService {
 public:
  // `gate`: every call needs an admin token (when gate.tokens has any) and
  // a server that is not draining.
  AdminServiceImpl(CycleRepository& repository, Executor& executor,
                   const CallGate& gate);

  grpc::ServerUnaryReactor* CreateCycle(
      grpc::CallbackServerContext* context,
      const kimp::cycles::v1::CreateCycleRequest* request,
      kimp::cycles::v1::CreateCycleResponse* response) override;
  grpc::ServerUnaryReactor* GetCycle(
      grpc::CallbackServerContext* context,
      const kimp::cycles::v1::GetCycleRequest* request,
      kimp::cycles::v1::GetCycleResponse* response) override;
  grpc::ServerUnaryReactor* ListCycles(
      grpc::CallbackServerContext* context,
      const kimp::cycles::v1::ListCyclesRequest* request,
      kimp::cycles::v1::ListCyclesResponse* response) override;
  grpc::ServerUnaryReactor* RequeueCycle(
      grpc::CallbackServerContext* context,
      const kimp::cycles::v1::RequeueCycleRequest* request,
      kimp::cycles::v1::RequeueCycleResponse* response) override;
  grpc::ServerUnaryReactor* GetQueueStats(
      grpc::CallbackServerContext* context,
      const kimp::cycles::v1::GetQueueStatsRequest* request,
      kimp::cycles::v1::GetQueueStatsResponse* response) override;

 private:
  CycleRepository& repository_;
  Executor& executor_;
  const CallGate& gate_;
};

}  // namespace cycle_claimer
