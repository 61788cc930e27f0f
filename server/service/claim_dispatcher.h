#pragma once

#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "server/domain/cycle.h"
#include "server/service/executor.h"
#include "server/service/long_poll_limiter.h"
#include "server/storage/cycle_repository.h"
#include "server/telemetry/metrics.h"

namespace cycle_claimer {

class ClaimDispatcher;

// One ClaimNextCycle or ClaimCycles call on gRPC's callback API. Created by
// the handler, owned by gRPC until OnDone, which deletes it.
class ClaimCall final : public grpc::ServerUnaryReactor {
 public:
  // Writes the claimed cycles (possibly none) into the response.
  using Respond = std::function<void(const std::vector<Cycle>&)>;

  // `permit`: the call's place among the long polls, held until it is done.
  ClaimCall(ClaimDispatcher& dispatcher, grpc::CallbackServerContext* context,
            std::vector<ClaimSlot> slots, absl::Time wait_until,
            LongPollLimiter::Permit permit, Respond respond);

  void OnCancel() override;
  void OnDone() override { delete this; }

 private:
  friend class ClaimDispatcher;
  enum class State { kFresh, kWaiting, kInFlight, kFinished };

  // Whether the caller promised to retry with the same request id: then a
  // claim that lands after the caller left is kept for that retry.
  bool Idempotent() const {
    return slots_.size() == 1 && !slots_.front().request_id.empty();
  }

  ClaimDispatcher& dispatcher_;
  grpc::CallbackServerContext* const context_;
  const std::vector<ClaimSlot> slots_;
  const absl::Time wait_until_;
  const LongPollLimiter::Permit permit_;
  const Respond respond_;
  // Guarded by the dispatcher's mutex.
  State state_ = State::kFresh;
  bool cancelled_ = false;
};

struct DispatcherOptions {
  // Merge concurrent claims into one statement (up to kMaxClaimSlots slots).
  // Off: one statement per call, as many at once as there are database
  // threads.
  bool coalesce = true;
  // Claim statements in flight at once. One measured best on 2 cores: the
  // calls that arrive meanwhile make the next statement larger.
  int max_statements_in_flight = 1;
  // While calls wait, look for claimable cycles at least this often even
  // without a notification (covers what no trigger or timer announces, such
  // as a lease kimP's old finalizer holds running out).
  absl::Duration fallback_poll = absl::Seconds(5);
  // Where to count lease take-overs and dead-letterings; may be null.
  Metrics* metrics = nullptr;
};

// Serves claims, now or by long poll. Calls queue in arrival order; a
// "round" claims for the oldest of them in one statement (when coalescing)
// and answers each with its own cycles. A call that finds nothing waits,
// holding no thread and no connection, until its wait_until: it is retried
// when Wake() reports that something may have become claimable (the LISTEN
// connection), when the next retry-due or lease-expiry moment passes (a
// timer, from the database), or at the fallback poll. Waiting calls are
// served oldest first. Thread-safe.
class ClaimDispatcher {
 public:
  ClaimDispatcher(CycleRepository& repository, Executor& executor,
                  DispatcherOptions options);
  // Calls Shutdown.
  ~ClaimDispatcher();

  // Queues `call`; its first attempt comes with the next round.
  void Submit(ClaimCall* call);

  // Something may have become claimable: retry the waiting calls.
  void Wake();

  // Answers every waiting call with no cycle, and every later call with
  // UNAVAILABLE; stops the clock. Calls in flight finish normally.
  void Shutdown();

  // How many calls wait (for tests and metrics).
  int waiting() const;

 private:
  friend class ClaimCall;
  using Finishes = std::vector<std::function<void()>>;

  void Cancel(ClaimCall* call);
  // Starts rounds while allowed; the finishing of calls is left to the
  // caller, to run once the mutex is released.
  void StartRounds(std::unique_lock<std::mutex>& lock);
  void RunRound(std::vector<ClaimCall*> calls, uint64_t wake_generation);
  // Claims for one round; for a lone call with a request id, first looks for
  // the lease an earlier attempt with that id took.
  absl::StatusOr<ClaimOutcome> ClaimOrFind(const std::vector<ClaimCall*>& calls,
                                           const std::vector<ClaimSlot>& slots);
  // Ends `call` with `cycles` (or `status`); runs outside the mutex.
  void Answer(ClaimCall* call, const absl::Status& status,
              const std::vector<Cycle>& cycles);
  void RefreshNextDue();
  void ClockLoop();

  CycleRepository& repository_;
  Executor& executor_;
  const DispatcherOptions options_;

  mutable std::mutex mu_;
  std::condition_variable clock_;
  std::deque<ClaimCall*> queue_;  // kFresh, kWaiting and kInFlight calls
  int rounds_in_flight_ = 0;
  // Something may be claimable for waiting calls; bumped by every wake.
  bool wake_pending_ = false;
  uint64_t wake_generation_ = 0;
  bool refreshing_due_ = false;
  absl::Time next_due_ = absl::InfiniteFuture();
  absl::Time next_fallback_ = absl::InfiniteFuture();
  bool stopping_ = false;
  std::thread clock_thread_;
};

}  // namespace cycle_claimer
