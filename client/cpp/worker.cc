#include "client/cpp/worker.h"

#include <condition_variable>
#include <exception>
#include <iostream>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace cycle_claimer::client {
namespace {

namespace v1 = kimp::cycles::v1;

void SetDuration(absl::Duration duration, google::protobuf::Duration* out) {
  const int64_t nanos = absl::ToInt64Nanoseconds(duration);
  out->set_seconds(nanos / 1000000000);
  out->set_nanos(static_cast<int32_t>(nanos % 1000000000));
}

bool Transient(const absl::Status& status) {
  return status.code() == absl::StatusCode::kUnavailable ||
         status.code() == absl::StatusCode::kDeadlineExceeded ||
         status.code() == absl::StatusCode::kAborted ||
         status.code() == absl::StatusCode::kResourceExhausted;
}

}  // namespace

Worker::Worker(CycleClient& client, WorkerOptions options, Rebalance rebalance)
    : client_(client),
      options_(std::move(options)),
      rebalance_(std::move(rebalance)) {}

void Worker::Report(WorkerEvent::Kind kind, const v1::Cycle& cycle) {
  if (options_.on_event) options_.on_event(WorkerEvent{kind, cycle});
}

void Worker::Backoff(absl::Duration& delay) {
  absl::SleepFor(delay);
  delay = std::min(delay * 2, options_.max_backoff);
}

int Worker::Run() {
  int completed = 0;
  while (!stopping_) {
    std::optional<v1::Cycle> cycle = Claim();
    if (!cycle) continue;
    if (stopping_) {
      // Claimed but not started: give it back rather than sit on it.
      (void)client_.Release(cycle->id(), cycle->lease_token());
      break;
    }
    if (Work(*cycle)) ++completed;
  }
  return completed;
}

std::optional<v1::Cycle> Worker::Claim() {
  v1::ClaimNextCycleRequest request;
  request.set_worker_id(options_.worker_id);
  SetDuration(options_.lease, request.mutable_lease_duration());
  SetDuration(options_.wait, request.mutable_wait_timeout());
  // One id for this claim and all its retries.
  request.set_request_id(
      absl::StrCat(options_.worker_id, "#", next_request_++));
  absl::Duration delay = options_.min_backoff;
  while (!stopping_) {
    absl::StatusOr<v1::ClaimNextCycleResponse> response =
        client_.ClaimNext(request);
    if (response.ok()) {
      if (!response->has_cycle()) return std::nullopt;
      Report(WorkerEvent::Kind::kClaimed, response->cycle());
      return response->cycle();
    }
    if (!Transient(response.status())) {
      std::cerr << options_.worker_id << ": claim: " << response.status()
                << "\n";
    }
    Backoff(delay);
  }
  return std::nullopt;
}

bool Worker::Work(const v1::Cycle& cycle) {
  // Renew every third of the lease while the user's function runs.
  std::mutex mu;
  std::condition_variable done_cv;
  bool done = false;
  std::atomic<bool> lost{false};
  std::thread renewer([&] {
    std::unique_lock lock(mu);
    while (!done_cv.wait_for(lock,
                             absl::ToChronoNanoseconds(options_.lease / 3),
                             [&] { return done; })) {
      lock.unlock();
      const absl::StatusOr<v1::Cycle> renewed =
          client_.Renew(cycle.id(), cycle.lease_token(), options_.lease);
      if (renewed.ok()) Report(WorkerEvent::Kind::kRenewed, *renewed);
      lock.lock();
      if (renewed.status().code() == absl::StatusCode::kFailedPrecondition) {
        lost = true;
        Report(WorkerEvent::Kind::kLeaseLost, cycle);
        return;
      }
    }
  });
  absl::StatusOr<RebalanceResult> result;
  try {
    result = rebalance_(cycle);
  } catch (const std::exception& e) {
    result = absl::InternalError(e.what());
  } catch (...) {
    result = absl::InternalError("unknown exception");
  }
  {
    std::lock_guard lock(mu);
    done = true;
  }
  done_cv.notify_all();
  renewer.join();
  if (lost) return false;  // someone else holds it now

  absl::Duration delay = options_.min_backoff;
  for (bool retry = false;; retry = true) {
    absl::Status status;
    if (result.ok()) {
      v1::CompleteCycleRequest request;
      request.set_cycle_id(cycle.id());
      request.set_lease_token(cycle.lease_token());
      request.set_rebalance_trade_id(result->rebalance_trade_id);
      request.set_total_net_profit_krw(result->total_net_profit_krw);
      request.set_total_net_profit_percent(result->total_net_profit_percent);
      Report(WorkerEvent::Kind::kCompleting, cycle);
      status = client_.Complete(request).status();
    } else {
      std::string reason(result.status().message());
      if (reason.empty()) reason = result.status().ToString();
      status = client_.Fail(cycle.id(), cycle.lease_token(), reason).status();
    }
    if (status.ok()) {
      Report(result.ok() ? WorkerEvent::Kind::kCompleted
                         : WorkerEvent::Kind::kFailed,
             cycle);
      return result.ok();
    }
    if (retry && status.code() == absl::StatusCode::kFailedPrecondition) {
      // The first attempt may have gone through with its answer lost.
      absl::StatusOr<v1::Cycle> now = client_.Get(cycle.id());
      const bool ours = now.ok() && result.ok() &&
                        now->status() == v1::CYCLE_STATUS_COMPLETED &&
                        now->lease_token() == cycle.lease_token();
      Report(ours ? WorkerEvent::Kind::kCompleted
                  : WorkerEvent::Kind::kLeaseLost,
             cycle);
      return ours;
    }
    if (status.code() == absl::StatusCode::kFailedPrecondition) {
      Report(WorkerEvent::Kind::kLeaseLost, cycle);
    }
    if (!Transient(status)) return false;  // lease lost, or a bug to report
    Backoff(delay);
  }
}

sigset_t BlockStopSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

std::thread StopOnSignal(const sigset_t& signals, Worker& worker) {
  return std::thread([signals, &worker] {
    int signal_number = 0;
    sigwait(&signals, &signal_number);
    worker.Stop();
  });
}

}  // namespace cycle_claimer::client
