#include "server/service/claim_dispatcher.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/service/cycle_log.h"
#include "server/service/proto_mapping.h"

namespace cycle_claimer {
ClaimCall::ClaimCall(ClaimDispatcher& dispatcher,
                     grpc::CallbackServerContext* context,
                     std::vector<ClaimSlot> slots, absl::Time wait_until,
                     LongPollLimiter::Permit permit, Respond respond)
    : dispatcher_(dispatcher),
      context_(context),
      slots_(std::move(slots)),
      wait_until_(wait_until),
      permit_(std::move(permit)),
      respond_(std::move(respond)) {}

void ClaimCall::OnCancel() { dispatcher_.Cancel(this); }

ClaimDispatcher::ClaimDispatcher(CycleRepository& repository,
                                 Executor& executor, DispatcherOptions options)
    : repository_(repository),
      executor_(executor),
      options_(options),
      clock_thread_([this] { ClockLoop(); }) {}

ClaimDispatcher::~ClaimDispatcher() {
  Shutdown();
  clock_thread_.join();
}

int ClaimDispatcher::waiting() const {
  std::lock_guard lock(mu_);
  return static_cast<int>(
      std::count_if(queue_.begin(), queue_.end(), [](const ClaimCall* call) {
        return call->state_ == ClaimCall::State::kWaiting;
      }));
}

void ClaimDispatcher::Submit(ClaimCall* call) {
  std::unique_lock lock(mu_);
  if (stopping_) {
    lock.unlock();
    call->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                              "the server is shutting down"));
    return;
  }
  queue_.push_back(call);
  // While calls already wait and no wake has come, nothing is claimable that
  // a statement could find: a call that may wait joins them at once, behind
  // them (notifications, timers and the fallback poll retry it).
  const bool others_wait =
      std::any_of(queue_.begin(), queue_.end(), [](const ClaimCall* queued) {
        return queued->state_ == ClaimCall::State::kWaiting;
      });
  if (others_wait && !wake_pending_ && call->wait_until_ > absl::Now()) {
    call->state_ = ClaimCall::State::kWaiting;
    clock_.notify_all();
    return;
  }
  StartRounds(lock);
}

void ClaimDispatcher::Wake() {
  std::unique_lock lock(mu_);
  wake_pending_ = true;
  ++wake_generation_;
  StartRounds(lock);
}

void ClaimDispatcher::Cancel(ClaimCall* call) {
  std::unique_lock lock(mu_);
  switch (call->state_) {
    case ClaimCall::State::kFinished:
      return;
    case ClaimCall::State::kInFlight:
      call->cancelled_ = true;  // its round answers it
      return;
    case ClaimCall::State::kFresh:
    case ClaimCall::State::kWaiting:
      call->state_ = ClaimCall::State::kFinished;
      queue_.erase(std::find(queue_.begin(), queue_.end(), call));
      lock.unlock();
      call->Finish(grpc::Status::CANCELLED);
      return;
  }
}

void ClaimDispatcher::Shutdown() {
  std::vector<ClaimCall*> waiting;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    for (auto it = queue_.begin(); it != queue_.end();) {
      if ((*it)->state_ == ClaimCall::State::kInFlight) {
        ++it;
        continue;
      }
      (*it)->state_ = ClaimCall::State::kFinished;
      waiting.push_back(*it);
      it = queue_.erase(it);
    }
  }
  clock_.notify_all();
  for (ClaimCall* call : waiting) Answer(call, absl::OkStatus(), {});
}

void ClaimDispatcher::StartRounds(std::unique_lock<std::mutex>& lock) {
  const int max_rounds = options_.coalesce ? options_.max_statements_in_flight
                                           : std::numeric_limits<int>::max();
  std::vector<std::pair<std::vector<ClaimCall*>, uint64_t>> rounds;
  while (!stopping_ && rounds_in_flight_ < max_rounds) {
    // After a wake every queued call is tried, oldest first; otherwise only
    // calls never tried yet (nothing new can be claimable for the others).
    std::vector<ClaimCall*> picked;
    int slots = 0;
    for (ClaimCall* call : queue_) {
      const bool eligible =
          call->state_ == ClaimCall::State::kFresh ||
          (wake_pending_ && call->state_ == ClaimCall::State::kWaiting);
      if (!eligible) continue;
      const int size = static_cast<int>(call->slots_.size());
      // A call with a request id runs alone: a conflict on its id must not
      // fail anyone else's claim.
      const bool alone = call->Idempotent() || !options_.coalesce;
      if (!picked.empty() && (alone || slots + size > kMaxClaimSlots ||
                              picked.front()->Idempotent())) {
        break;
      }
      picked.push_back(call);
      slots += size;
      if (alone) break;
    }
    if (picked.empty()) break;
    for (ClaimCall* call : picked) call->state_ = ClaimCall::State::kInFlight;
    ++rounds_in_flight_;
    rounds.emplace_back(std::move(picked), wake_generation_);
  }
  lock.unlock();
  for (auto& [calls, generation] : rounds) {
    const bool queued =
        executor_.Submit([this, calls = calls, generation = generation] {
          RunRound(calls, generation);
        });
    if (!queued) {
      {
        std::lock_guard relock(mu_);
        --rounds_in_flight_;
        for (ClaimCall* call : calls) {
          call->state_ = ClaimCall::State::kFinished;
          queue_.erase(std::find(queue_.begin(), queue_.end(), call));
        }
      }
      for (ClaimCall* call : calls) {
        Answer(call, absl::ResourceExhaustedError("server overloaded"), {});
      }
    }
  }
  lock.lock();
}

void ClaimDispatcher::RunRound(std::vector<ClaimCall*> calls,
                               uint64_t wake_generation) {
  std::vector<ClaimSlot> slots;
  for (const ClaimCall* call : calls) {
    slots.insert(slots.end(), call->slots_.begin(), call->slots_.end());
  }
  absl::StatusOr<ClaimOutcome> outcome = ClaimOrFind(calls, slots);
  if (outcome.ok() && options_.metrics != nullptr) {
    options_.metrics->takeovers.Add({}, outcome->takeovers);
    options_.metrics->dead_lettered_on_claim.Add(
        {}, static_cast<int64_t>(outcome->dead_lettered.size()));
  }
  if (outcome.ok()) {
    for (const Cycle& dead : outcome->dead_lettered) {
      LogCycleChange("dead-lettered (lease expired on its last attempt)", dead);
    }
  }

  // Each call's share of the slots' cycles.
  std::vector<std::vector<Cycle>> shares(calls.size());
  if (outcome.ok()) {
    std::size_t slot = 0;
    for (std::size_t i = 0; i < calls.size(); ++i) {
      for (std::size_t n = 0; n < calls[i]->slots_.size(); ++n, ++slot) {
        if (outcome->claimed[slot]) {
          shares[i].push_back(*std::move(outcome->claimed[slot]));
        }
      }
    }
  }

  // Calls to answer once the mutex is released: index into calls, status.
  std::vector<std::pair<std::size_t, absl::Status>> answers;
  std::vector<Cycle> to_release;
  bool refresh_due = false;
  {
    std::unique_lock lock(mu_);
    --rounds_in_flight_;
    const absl::Time now = absl::Now();
    bool unserved_waiter = false;
    for (std::size_t i = 0; i < calls.size(); ++i) {
      ClaimCall* call = calls[i];
      const bool gone = call->cancelled_ || call->context_->IsCancelled();
      const bool done = !outcome.ok() || !shares[i].empty() || gone ||
                        stopping_ || now >= call->wait_until_;
      if (!done) {
        call->state_ = ClaimCall::State::kWaiting;
        unserved_waiter = true;
        continue;
      }
      call->state_ = ClaimCall::State::kFinished;
      queue_.erase(std::find(queue_.begin(), queue_.end(), call));
      if (gone && !call->Idempotent()) {
        // Nobody will ever learn of these leases: give them back now.
        to_release.insert(to_release.end(), shares[i].begin(), shares[i].end());
        shares[i].clear();
        answers.emplace_back(i, absl::CancelledError("the call was cancelled"));
      } else {
        answers.emplace_back(i, outcome.status());
      }
    }
    // Nothing more is claimable for the waiting calls until the next wake,
    // unless one came while this round ran.
    if (outcome.ok() && unserved_waiter) {
      if (wake_generation == wake_generation_) wake_pending_ = false;
      if (!refreshing_due_) refresh_due = refreshing_due_ = true;
      if (next_fallback_ == absl::InfiniteFuture()) {
        next_fallback_ = now + options_.fallback_poll;
      }
      clock_.notify_all();
    }
    StartRounds(lock);
  }
  for (const auto& [i, status] : answers) Answer(calls[i], status, shares[i]);
  for (const Cycle& cycle : to_release) {
    absl::StatusOr<Cycle> released =
        repository_.Release(cycle.id, cycle.lease_token);
    spdlog::info("released cycle={} token={}: its claim was cancelled ({})",
                 cycle.id, cycle.lease_token,
                 released.ok() ? "ok" : released.status().ToString());
  }
  if (refresh_due) RefreshNextDue();
}

absl::StatusOr<ClaimOutcome> ClaimDispatcher::ClaimOrFind(
    const std::vector<ClaimCall*>& calls, const std::vector<ClaimSlot>& slots) {
  const bool idempotent = calls.size() == 1 && calls.front()->Idempotent();
  // A retried request gets the lease its first attempt took, if it holds it.
  const auto find = [&]() -> absl::StatusOr<std::optional<ClaimOutcome>> {
    const ClaimSlot& slot = slots.front();
    absl::StatusOr<std::optional<Cycle>> held =
        repository_.FindClaim(slot.worker_id, slot.request_id);
    if (!held.ok()) return held.status();
    if (!held->has_value()) return std::optional<ClaimOutcome>();
    ClaimOutcome found;
    found.claimed.push_back(*std::move(held));
    return std::optional<ClaimOutcome>(std::move(found));
  };
  if (idempotent) {
    absl::StatusOr<std::optional<ClaimOutcome>> found = find();
    if (!found.ok()) return found.status();
    if (found->has_value()) return **std::move(found);
  }
  absl::StatusOr<ClaimOutcome> outcome = repository_.Claim(slots);
  if (idempotent && outcome.status().code() == absl::StatusCode::kAborted) {
    // The same (worker_id, request_id) was claimed concurrently, by a retry
    // that reached this or another replica first: answer with its cycle.
    absl::StatusOr<std::optional<ClaimOutcome>> found = find();
    if (found.ok() && found->has_value()) return **std::move(found);
  }
  return outcome;
}

void ClaimDispatcher::Answer(ClaimCall* call, const absl::Status& status,
                             const std::vector<Cycle>& cycles) {
  if (!status.ok()) {
    call->Finish(ToGrpcStatus(status));
    return;
  }
  // A claim of one cycle is named by the call's own log line.
  if (cycles.size() > 1) {
    for (const Cycle& cycle : cycles) LogCycleChange("claimed", cycle);
  }
  call->respond_(cycles);
  call->Finish(grpc::Status::OK);
}

void ClaimDispatcher::RefreshNextDue() {
  const absl::StatusOr<std::optional<absl::Duration>> due_in =
      repository_.NextDueIn();
  std::lock_guard lock(mu_);
  refreshing_due_ = false;
  if (!due_in.ok()) return;  // the fallback poll still runs
  // A moment a little past the database's, so that the claim then sees it.
  next_due_ = due_in->has_value()
                  ? absl::Now() + std::max(**due_in, absl::ZeroDuration()) +
                        absl::Milliseconds(2)
                  : absl::InfiniteFuture();
  clock_.notify_all();
}

void ClaimDispatcher::ClockLoop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    absl::Time wake_at = std::min(next_due_, next_fallback_);
    bool any_waiting = false;
    for (const ClaimCall* call : queue_) {
      if (call->state_ != ClaimCall::State::kWaiting) continue;
      any_waiting = true;
      wake_at = std::min(wake_at, call->wait_until_);
    }
    if (!any_waiting) {
      next_fallback_ = absl::InfiniteFuture();
      wake_at = std::min(next_due_, absl::Now() + absl::Seconds(60));
    }
    clock_.wait_for(lock, absl::ToChronoNanoseconds(std::max(
                              wake_at - absl::Now(), absl::ZeroDuration())));
    if (stopping_) break;
    const absl::Time now = absl::Now();
    // Waits that ran out end with no cycle.
    std::vector<ClaimCall*> expired;
    for (auto it = queue_.begin(); it != queue_.end();) {
      if ((*it)->state_ == ClaimCall::State::kWaiting &&
          (*it)->wait_until_ <= now) {
        (*it)->state_ = ClaimCall::State::kFinished;
        expired.push_back(*it);
        it = queue_.erase(it);
      } else {
        ++it;
      }
    }
    const bool due = now >= next_due_ || now >= next_fallback_;
    if (due) {
      next_due_ = absl::InfiniteFuture();
      next_fallback_ = absl::InfiniteFuture();
      wake_pending_ = true;
      ++wake_generation_;
      StartRounds(lock);
    }
    if (!expired.empty()) {
      lock.unlock();
      for (ClaimCall* call : expired) Answer(call, absl::OkStatus(), {});
      lock.lock();
    }
  }
}

}  // namespace cycle_claimer
