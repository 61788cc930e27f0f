#pragma once

#include <signal.h>

#include <atomic>
#include <functional>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/cpp/cycle_client.h"
#include "kimp/cycles/v1/cycles.pb.h"

namespace cycle_claimer::client {

// What a Worker did, for logs and audits (WorkerOptions::on_event).
struct WorkerEvent {
  enum class Kind {
    kClaimed,     // `cycle` is leased to this worker now
    kRenewed,     // `cycle` carries the extended lease_expires_at
    kLeaseLost,   // a renewal or completion was refused: abandoned
    kCompleting,  // about to send the completion
    kCompleted,   // the server accepted the completion
    kFailed,      // the server accepted the failed attempt
  };
  Kind kind;
  kimp::cycles::v1::Cycle cycle;
};

struct WorkerOptions {
  std::string worker_id;
  absl::Duration lease = absl::Minutes(5);
  // How long one claim long-polls before asking again.
  absl::Duration wait = absl::Seconds(30);
  // Backoff after UNAVAILABLE (and other transient errors), doubling.
  absl::Duration min_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(10);
  // Called (from the worker's threads) for every event; may be empty.
  std::function<void(const WorkerEvent&)> on_event;
};

// What the user's function reports for a cycle it rebalanced. Fields left
// empty keep the cycle's column as it is.
struct RebalanceResult {
  std::string rebalance_trade_id;
  std::string total_net_profit_krw;
  std::string total_net_profit_percent;
};

// A finalizer loop: claims a cycle (long poll), runs `rebalance` on it while
// a background thread renews the lease every third of its length, completes
// it with the returned result, or fails it with the error's text (the
// status's message, or an exception's what()). A lost lease
// (FAILED_PRECONDITION on renew or complete) abandons the cycle: someone else
// has it. Transient errors are retried with backoff; a claim is retried with
// the same request_id, so a lost answer never costs a second cycle. Stop() ends
// the loop after the cycle in hand, releasing a claimed cycle it has not
// started.
class Worker {
 public:
  using Rebalance = std::function<absl::StatusOr<RebalanceResult>(
      const kimp::cycles::v1::Cycle&)>;

  Worker(CycleClient& client, WorkerOptions options, Rebalance rebalance);

  // Runs until Stop(); returns how many cycles it completed.
  int Run();
  // Thread-safe; may be called from a signal-handling thread.
  void Stop() { stopping_ = true; }

 private:
  // Claims the next cycle; nullopt when none came within the wait or when
  // stopping.
  std::optional<kimp::cycles::v1::Cycle> Claim();
  // Runs the user's function with renewals going; returns whether the cycle
  // was completed by this worker.
  bool Work(const kimp::cycles::v1::Cycle& cycle);
  void Backoff(absl::Duration& delay);
  void Report(WorkerEvent::Kind kind, const kimp::cycles::v1::Cycle& cycle);

  CycleClient& client_;
  const WorkerOptions options_;
  const Rebalance rebalance_;
  std::atomic<bool> stopping_{false};
  int64_t next_request_ = 0;
};

// Stopping a worker process on SIGINT or SIGTERM, in two steps: block the
// signals at the start of main, before any thread exists (threads inherit
// the mask, so none of them is interrupted), then, once the Worker exists,
// hand them to a thread that calls Stop() on the first one.
sigset_t BlockStopSignals();
std::thread StopOnSignal(const sigset_t& signals, Worker& worker);

}  // namespace cycle_claimer::client
