#include "server/service/cycle_service.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "server/domain/status_macros.h"
#include "server/service/cycle_log.h"
#include "server/service/proto_mapping.h"
#include "server/service/requests.h"
#include "server/service/unary.h"

namespace cycle_claimer {
namespace {

namespace v1 = kimp::cycles::v1;

}  // namespace

CycleServiceImpl::CycleServiceImpl(CycleRepository& repository,
                                   Executor& executor,
                                   ClaimDispatcher& dispatcher,
                                   LongPollLimiter& long_polls, bool coalesce,
                                   const CallGate& gate)
    : repository_(repository),
      executor_(executor),
      dispatcher_(dispatcher),
      long_polls_(long_polls),
      completions_(repository, executor, coalesce),
      gate_(gate) {}

absl::StatusOr<LongPollLimiter::Permit> CycleServiceImpl::AdmitLongPoll(
    const ClaimTerms& terms) {
  if (terms.wait <= absl::ZeroDuration()) return LongPollLimiter::Permit();
  return long_polls_.Admit(terms.worker_id);
}

grpc::ServerUnaryReactor* CycleServiceImpl::ClaimNextCycle(
    grpc::CallbackServerContext* context,
    const v1::ClaimNextCycleRequest* request,
    v1::ClaimNextCycleResponse* response) {
  if (auto* refused = Refuse(context, gate_, Role::kWorker)) return refused;
  absl::StatusOr<ClaimCommand> command =
      ParseClaim(*request, repository_.policy());
  if (!command.ok()) return FinishNow(context, command.status());
  absl::StatusOr<LongPollLimiter::Permit> permit =
      AdmitLongPoll(command->terms);
  if (!permit.ok()) return FinishNow(context, permit.status());
  auto* call =
      new ClaimCall(dispatcher_, context,
                    {ClaimSlot{command->terms.worker_id, command->terms.lease,
                               command->request_id}},
                    absl::Now() + command->terms.wait, *std::move(permit),
                    [response](const std::vector<Cycle>& cycles) {
                      if (!cycles.empty())
                        ToProto(cycles.front(), *response->mutable_cycle());
                    });
  dispatcher_.Submit(call);
  return call;
}

grpc::ServerUnaryReactor* CycleServiceImpl::ClaimCycles(
    grpc::CallbackServerContext* context, const v1::ClaimCyclesRequest* request,
    v1::ClaimCyclesResponse* response) {
  if (auto* refused = Refuse(context, gate_, Role::kWorker)) return refused;
  absl::StatusOr<ClaimBatchCommand> command =
      ParseClaimBatch(*request, repository_.policy());
  if (!command.ok()) return FinishNow(context, command.status());
  absl::StatusOr<LongPollLimiter::Permit> permit =
      AdmitLongPoll(command->terms);
  if (!permit.ok()) return FinishNow(context, permit.status());
  auto* call = new ClaimCall(
      dispatcher_, context,
      std::vector<ClaimSlot>(command->max_cycles,
                             ClaimSlot{command->terms.worker_id,
                                       command->terms.lease, std::string()}),
      absl::Now() + command->terms.wait, *std::move(permit),
      [response](const std::vector<Cycle>& cycles) {
        for (const Cycle& cycle : cycles)
          ToProto(cycle, *response->add_cycles());
      });
  dispatcher_.Submit(call);
  return call;
}

grpc::ServerUnaryReactor* CycleServiceImpl::CompleteCycles(
    grpc::CallbackServerContext* context,
    const v1::CompleteCyclesRequest* request,
    v1::CompleteCyclesResponse* response) {
  if (auto* refused = Refuse(context, gate_, Role::kWorker)) return refused;
  return RunOnExecutor(
      context, executor_, ParseCompleteBatch(*request),
      [this,
       response](const std::vector<absl::StatusOr<CompleteCommand>>& commands)
          -> absl::Status {
        std::vector<CompletionItem> items;
        for (const auto& command : commands) {
          if (command.ok()) {
            items.push_back(CompletionItem{command->lease.cycle_id,
                                           command->lease.token,
                                           command->result});
          }
        }
        std::vector<absl::StatusOr<Cycle>> completed;
        if (!items.empty()) {
          ASSIGN_OR_RETURN(completed, repository_.CompleteAll(items));
        }
        auto next = completed.begin();
        for (const auto& command : commands) {
          v1::CompleteCycleResult* result = response->add_results();
          const absl::StatusOr<Cycle>& outcome =
              command.ok() ? *next++ : absl::StatusOr<Cycle>(command.status());
          if (outcome.ok()) {
            // The call's log line counts the items; each gets its own.
            LogCycleChange("completed", *outcome);
            ToProto(*outcome, *result->mutable_cycle());
          } else {
            result->mutable_error()->set_code(
                static_cast<int>(outcome.status().code()));
            result->mutable_error()->set_message(
                std::string(outcome.status().message()));
          }
        }
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* CycleServiceImpl::RenewLease(
    grpc::CallbackServerContext* context, const v1::RenewLeaseRequest* request,
    v1::RenewLeaseResponse* response) {
  if (auto* refused = Refuse(context, gate_, Role::kWorker)) return refused;
  return RunOnExecutor(
      context, executor_, ParseRenew(*request, repository_.policy()),
      [this, response](const RenewCommand& command) -> absl::Status {
        ASSIGN_OR_RETURN(
            Cycle cycle,
            repository_.RenewLease(command.lease.cycle_id, command.lease.token,
                                   command.duration));
        ToProto(cycle, *response->mutable_cycle());
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* CycleServiceImpl::CompleteCycle(
    grpc::CallbackServerContext* context,
    const v1::CompleteCycleRequest* request,
    v1::CompleteCycleResponse* response) {
  if (auto* refused = Refuse(context, gate_, Role::kWorker)) return refused;
  absl::StatusOr<CompleteCommand> command = ParseComplete(*request);
  if (!command.ok()) return FinishNow(context, command.status());
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  completions_.Submit(CompletionItem{command->lease.cycle_id,
                                     command->lease.token, command->result},
                      [reactor, response](absl::StatusOr<Cycle> cycle) {
                        if (cycle.ok()) {
                          ToProto(*cycle, *response->mutable_cycle());
                        }
                        reactor->Finish(ToGrpcStatus(cycle.status()));
                      });
  return reactor;
}

grpc::ServerUnaryReactor* CycleServiceImpl::FailCycle(
    grpc::CallbackServerContext* context, const v1::FailCycleRequest* request,
    v1::FailCycleResponse* response) {
  if (auto* refused = Refuse(context, gate_, Role::kWorker)) return refused;
  return RunOnExecutor(
      context, executor_, ParseFail(*request),
      [this, response](const FailCommand& command) -> absl::Status {
        ASSIGN_OR_RETURN(
            Cycle cycle,
            repository_.Fail(command.lease.cycle_id, command.lease.token,
                             command.reason, command.permanent));
        ToProto(cycle, *response->mutable_cycle());
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* CycleServiceImpl::ReleaseCycle(
    grpc::CallbackServerContext* context,
    const v1::ReleaseCycleRequest* request,
    v1::ReleaseCycleResponse* response) {
  if (auto* refused = Refuse(context, gate_, Role::kWorker)) return refused;
  return RunOnExecutor(
      context, executor_, ParseRelease(*request),
      [this, response](const LeaseRef& command) -> absl::Status {
        ASSIGN_OR_RETURN(Cycle cycle,
                         repository_.Release(command.cycle_id, command.token));
        ToProto(cycle, *response->mutable_cycle());
        return absl::OkStatus();
      });
}

}  // namespace cycle_claimer
