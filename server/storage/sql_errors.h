#pragma once

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace cycle_claimer {

// The status code for a PostgreSQL error with SQLSTATE `sqlstate`: UNAVAILABLE
// for errors that mean the database cannot serve right now (connection
// failures, shutdown, too many connections, recovery), ABORTED for
// serialization failures, deadlocks, lock timeouts and unique
// violations (a concurrent writer won), DEADLINE_EXCEEDED for a cancelled
// statement, INTERNAL for the rest (a bug or a schema that is not ours).
absl::StatusCode CodeForSqlState(absl::string_view sqlstate);

}  // namespace cycle_claimer

namespace cycle_claimer {

// What an exception thrown by libpqxx means for the caller.
struct DatabaseFailure {
  absl::Status status;
  // Whether the connection it came from must be thrown away.
  bool connection_lost;
};

// Classifies the exception being handled; call only inside a catch block.
// Lost connections and commits of unknown outcome are UNAVAILABLE, deadlocks
// and serialization failures ABORTED, SQL errors as CodeForSqlState says,
// anything else INTERNAL.
DatabaseFailure CurrentDatabaseFailure();

}  // namespace cycle_claimer
