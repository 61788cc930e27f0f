#include "server/service/admin_service.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "server/domain/status_macros.h"
#include "server/domain/validation.h"
#include "server/service/proto_mapping.h"
#include "server/service/requests.h"
#include "server/service/unary.h"

namespace cycle_claimer {
namespace {

namespace v1 = kimp::cycles::v1;

struct NoCommand {};

}  // namespace

AdminServiceImpl::AdminServiceImpl(CycleRepository& repository,
                                   Executor& executor,
                                   const CallGate& gate)
    : repository_(repository), executor_(executor), gate_(gate) {}

grpc::ServerUnaryReactor* AdminServiceImpl::CreateCycle(
    grpc::CallbackServerContext* context, const v1::CreateCycleRequest* request,
    v1::CreateCycleResponse* response) {
  if (auto* refused = Refuse(context, gate_, Role::kAdmin)) return refused;
  return RunOnExecutor(
      context, executor_, ParseCreate(*request),
      [this, response](const NewCycle& command) -> absl::Status {
        ASSIGN_OR_RETURN(Cycle cycle, repository_.Create(command));
        ToProto(cycle, *response->mutable_cycle());
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* AdminServiceImpl::GetCycle(
    grpc::CallbackServerContext* context, const v1::GetCycleRequest* request,
    v1::GetCycleResponse* response) {
  if (auto* refused = Refuse(context, gate_, Role::kAdmin)) return refused;
  return RunOnExecutor(context, executor_, ParseUuid("id", request->id()),
                       [this, response](const std::string& id) -> absl::Status {
                         ASSIGN_OR_RETURN(std::optional<Cycle> cycle,
                                          repository_.Get(id));
                         if (!cycle) {
                           return absl::NotFoundError(
                               absl::StrCat("id ", id, ": no such cycle"));
                         }
                         ToProto(*cycle, *response->mutable_cycle());
                         return absl::OkStatus();
                       });
}

grpc::ServerUnaryReactor* AdminServiceImpl::ListCycles(
    grpc::CallbackServerContext* context, const v1::ListCyclesRequest* request,
    v1::ListCyclesResponse* response) {
  if (auto* refused = Refuse(context, gate_, Role::kAdmin)) return refused;
  return RunOnExecutor(
      context, executor_, ParseList(*request),
      [this, response](const ListCommand& command) -> absl::Status {
        ASSIGN_OR_RETURN(CyclePage page,
                         repository_.List(command.statuses, command.page_size,
                                          command.after));
        for (const Cycle& cycle : page.cycles) {
          ToProto(cycle, *response->add_cycles());
        }
        if (page.next)
          response->set_next_page_token(EncodePageToken(*page.next));
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* AdminServiceImpl::RequeueCycle(
    grpc::CallbackServerContext* context,
    const v1::RequeueCycleRequest* request,
    v1::RequeueCycleResponse* response) {
  if (auto* refused = Refuse(context, gate_, Role::kAdmin)) return refused;
  return RunOnExecutor(context, executor_, ParseUuid("id", request->id()),
                       [this, response](const std::string& id) -> absl::Status {
                         ASSIGN_OR_RETURN(Cycle cycle, repository_.Requeue(id));
                         ToProto(cycle, *response->mutable_cycle());
                         return absl::OkStatus();
                       });
}

grpc::ServerUnaryReactor* AdminServiceImpl::GetQueueStats(
    grpc::CallbackServerContext* context,
    const v1::GetQueueStatsRequest* /*request*/,
    v1::GetQueueStatsResponse* response) {
  if (auto* refused = Refuse(context, gate_, Role::kAdmin)) return refused;
  return RunOnExecutor(
      context, executor_, absl::StatusOr<NoCommand>(NoCommand{}),
      [this, response](const NoCommand&) -> absl::Status {
        ASSIGN_OR_RETURN(QueueStats stats, repository_.Stats());
        std::map<CycleStatus, int64_t> counts(stats.counts.begin(),
                                              stats.counts.end());
        for (CycleStatus status : kAllCycleStatuses) {
          v1::StatusCount* count = response->add_counts();
          count->set_status(ToProto(status));
          count->set_count(counts[status]);
        }
        if (stats.oldest_claimable_age) {
          const int64_t nanos =
              absl::ToInt64Nanoseconds(*stats.oldest_claimable_age);
          response->mutable_oldest_claimable_age()->set_seconds(nanos /
                                                                1000000000);
          response->mutable_oldest_claimable_age()->set_nanos(
              static_cast<int32_t>(nanos % 1000000000));
        }
        response->set_live_leases(stats.live_leases);
        response->set_expired_leases(stats.expired_leases);
        return absl::OkStatus();
      });
}

}  // namespace cycle_claimer
