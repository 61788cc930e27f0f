#pragma once

#include "absl/time/time.h"

namespace cycle_claimer {

// While alive, statements this thread runs through CycleRepository are
// cancelled in PostgreSQL at `deadline` (the RPC's deadline, so a statement
// never outlives the call it serves: like a per-call statement_timeout,
// without session state). Nests; the innermost wins.
class ScopedCallDeadline {
 public:
  explicit ScopedCallDeadline(absl::Time deadline);
  ~ScopedCallDeadline();
  ScopedCallDeadline(const ScopedCallDeadline&) = delete;
  ScopedCallDeadline& operator=(const ScopedCallDeadline&) = delete;

 private:
  const absl::Time previous_;
};

// The calling thread's deadline for statements (InfiniteFuture: none).
absl::Time CurrentCallDeadline();

}  // namespace cycle_claimer
