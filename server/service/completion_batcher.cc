#include "server/service/completion_batcher.h"

#include <limits>
#include <set>
#include <string>

namespace cycle_claimer {

CompletionBatcher::CompletionBatcher(CycleRepository& repository,
                                     Executor& executor, bool coalesce,
                                     int max_statements_in_flight)
    : repository_(repository),
      executor_(executor),
      coalesce_(coalesce),
      max_in_flight_(coalesce ? max_statements_in_flight
                              : std::numeric_limits<int>::max()) {}

void CompletionBatcher::Submit(CompletionItem item, Done done) {
  std::unique_lock lock(mu_);
  pending_.push_back(Pending{std::move(item), std::move(done)});
  StartRounds(lock);
}

void CompletionBatcher::StartRounds(std::unique_lock<std::mutex>& lock) {
  std::vector<std::vector<Pending>> rounds;
  while (in_flight_ < max_in_flight_ && !pending_.empty()) {
    // One statement takes each cycle once; a second completion of the same
    // cycle waits for the next round (where its lease is found lost).
    std::vector<Pending> round;
    std::set<std::string> ids;
    const std::size_t limit = coalesce_ ? kMaxItems : 1;
    for (auto it = pending_.begin();
         it != pending_.end() && round.size() < limit;) {
      if (ids.insert(it->item.cycle_id).second) {
        round.push_back(std::move(*it));
        it = pending_.erase(it);
      } else {
        ++it;
      }
    }
    ++in_flight_;
    rounds.push_back(std::move(round));
  }
  lock.unlock();
  for (std::vector<Pending>& round : rounds) {
    auto shared = std::make_shared<std::vector<Pending>>(std::move(round));
    if (!executor_.Submit([this, shared] { RunRound(std::move(*shared)); })) {
      {
        std::lock_guard relock(mu_);
        --in_flight_;
      }
      for (Pending& pending : *shared) {
        pending.done(absl::ResourceExhaustedError("server overloaded"));
      }
    }
  }
  lock.lock();
}

void CompletionBatcher::RunRound(std::vector<Pending> round) {
  std::vector<CompletionItem> items;
  items.reserve(round.size());
  for (const Pending& pending : round) items.push_back(pending.item);
  absl::StatusOr<std::vector<absl::StatusOr<Cycle>>> results =
      repository_.CompleteAll(items);
  {
    std::unique_lock lock(mu_);
    --in_flight_;
    StartRounds(lock);
  }
  for (std::size_t i = 0; i < round.size(); ++i) {
    round[i].done(results.ok() ? std::move((*results)[i])
                               : absl::StatusOr<Cycle>(results.status()));
  }
}

}  // namespace cycle_claimer
