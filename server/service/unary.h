#pragma once

// Helpers for unary handlers on the callback API.

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/domain/auth.h"
#include "server/service/executor.h"
#include "server/service/proto_mapping.h"
#include "server/storage/call_deadline.h"

namespace cycle_claimer {

// OK when `tokens` is null or empty (authentication off) or when the call's
// "authorization" metadata carries a token with `required`'s rights;
// UNAUTHENTICATED or PERMISSION_DENIED otherwise.
inline absl::Status Authorize(grpc::CallbackServerContext* context,
                              const TokenRegistry* tokens, Role required) {
  if (tokens == nullptr || tokens->empty()) return absl::OkStatus();
  const auto& metadata = context->client_metadata();
  const auto found = metadata.find("authorization");
  const absl::string_view authorization =
      found == metadata.end()
          ? absl::string_view()
          : absl::string_view(found->second.data(), found->second.size());
  return tokens->Authorize(authorization, required);
}

// What every call passes before its handler runs: the server is not
// draining for a shutdown, and the caller's token has the rights needed.
struct CallGate {
  // Null or empty: no authentication.
  const TokenRegistry* tokens = nullptr;
  // Set by ClaimerServer::Shutdown: new calls get UNAVAILABLE (retryable)
  // while the calls in flight finish, before gRPC stops accepting calls.
  std::atomic<bool> draining{false};
};

// Ends the call at once with `status` (a request that failed validation).
inline grpc::ServerUnaryReactor* FinishNow(grpc::CallbackServerContext* context,
                                           const absl::Status& status);

// The call, already ended with UNAVAILABLE while the server drains, or with
// UNAUTHENTICATED or PERMISSION_DENIED when Authorize refuses it; nullptr
// when it may go on. Handlers start with
//   if (auto* refused = Refuse(context, gate_, Role::kWorker)) return
//   refused;
inline grpc::ServerUnaryReactor* Refuse(grpc::CallbackServerContext* context,
                                        const CallGate& gate, Role required) {
  if (gate.draining.load(std::memory_order_relaxed)) {
    return FinishNow(context,
                     absl::UnavailableError(
                         "the server is shutting down; retry (another "
                         "replica will answer)"));
  }
  const absl::Status status = Authorize(context, gate.tokens, required);
  return status.ok() ? nullptr : FinishNow(context, status);
}

inline grpc::ServerUnaryReactor* FinishNow(grpc::CallbackServerContext* context,
                                           const absl::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

// Finishes the call at once when `command` failed validation; otherwise runs
// `work(command)` (which blocks on the database) on `executor` and finishes
// the call with its status. RESOURCE_EXHAUSTED when the executor is full.
template <typename Command, typename Work>
grpc::ServerUnaryReactor* RunOnExecutor(grpc::CallbackServerContext* context,
                                        Executor& executor,
                                        absl::StatusOr<Command> command,
                                        Work work) {
  if (!command.ok()) return FinishNow(context, command.status());
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const absl::Time deadline = absl::FromChrono(context->deadline());
  const bool queued = executor.Submit(
      [reactor, deadline, work = std::move(work),
       command = *std::move(command)] {
        const ScopedCallDeadline scoped(deadline);
        reactor->Finish(ToGrpcStatus(work(command)));
      });
  if (!queued) {
    reactor->Finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                 "server overloaded: too many calls queued"));
  }
  return reactor;
}

}  // namespace cycle_claimer
