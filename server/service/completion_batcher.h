#pragma once

#include <deque>
#include <functional>
#include <mutex>
#include <vector>

#include "absl/status/statusor.h"
#include "server/domain/cycle.h"
#include "server/service/executor.h"
#include "server/storage/cycle_repository.h"

namespace cycle_claimer {

// Completes cycles for concurrent CompleteCycle calls. When coalescing, the
// completions that arrive while statements are in flight are merged into one
// statement (one transaction) of up to kMaxItems, at most
// `max_statements_in_flight` at once; each caller gets its own result, and a
// lost lease fails only its own item. Without coalescing every completion is
// its own statement. Thread-safe.
class CompletionBatcher {
 public:
  static constexpr int kMaxItems = 100;
  using Done = std::function<void(absl::StatusOr<Cycle>)>;

  CompletionBatcher(CycleRepository& repository, Executor& executor,
                    bool coalesce, int max_statements_in_flight = 1);

  // Completes `item` and calls `done` with the outcome, from an executor
  // thread (or at once with RESOURCE_EXHAUSTED when the executor is full).
  void Submit(CompletionItem item, Done done);

 private:
  struct Pending {
    CompletionItem item;
    Done done;
  };

  void StartRounds(std::unique_lock<std::mutex>& lock);
  void RunRound(std::vector<Pending> round);

  CycleRepository& repository_;
  Executor& executor_;
  const bool coalesce_;
  const int max_in_flight_;
  std::mutex mu_;
  std::deque<Pending> pending_;
  int in_flight_ = 0;
};

}  // namespace cycle_claimer
