#pragma once

// Internal to storage: nothing above storage includes this header.

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <pqxx/connection>
#include <pqxx/transaction_base>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/storage/cycle_repository.h"

namespace cycle_claimer {

// A statement whose text holds this marker (followed by a default count) is
// prepared once per slot count 1..kMaxClaimSlots (cycle_repository.h), with the
// count in its place, under SizedStatementName(name, count).
inline constexpr char kSlotsMarker[] = "/*slots*/1";
std::string SizedStatementName(absl::string_view name, int slots);

struct PgPoolOptions {
  // libpq connection string or URL.
  std::string database_url;
  // Connections opened at most.
  int size = 8;
  // How long a caller waits for a free connection before RESOURCE_EXHAUSTED.
  absl::Duration acquire_timeout = absl::Seconds(10);
  // After a failed connect, further connects wait this long, doubling up to
  // max_reconnect_backoff; calls meanwhile fail fast with UNAVAILABLE.
  absl::Duration min_reconnect_backoff = absl::Milliseconds(50);
  absl::Duration max_reconnect_backoff = absl::Seconds(2);
  // Whether statements are prepared (named) on each connection. Off, each
  // call sends its statement's text as an unnamed statement, parsed anew:
  // what a transaction-mode pooler without prepared-statement support
  // (PgBouncer before 1.21) can carry.
  bool prepared_statements = true;
};

// A bounded pool of libpqxx connections. Every statement of
// server/sql/statements is run by its file's name through Exec, prepared on
// each connection unless prepared_statements is off. Connections are
// opened lazily and replaced when found broken, so the pool recovers on its
// own after the database comes back. Thread-safe.
class PgPool {
 public:
  using Work = std::function<absl::Status(pqxx::connection&)>;

  explicit PgPool(PgPoolOptions options);
  ~PgPool();
  PgPool(const PgPool&) = delete;
  PgPool& operator=(const PgPool&) = delete;

  // Runs `work` on a connection of the pool and returns its status. libpqxx
  // exceptions thrown by `work` become statuses (see CodeForSqlState);
  // UNAVAILABLE when no connection can be had.
  absl::Status Run(const Work& work);

  // Runs the statement named `name` (a file of server/sql/statements, or a
  // SizedStatementName) with `args` in `tx`, a transaction on a connection of
  // this pool: prepared, or as an unnamed statement of the same text when
  // prepared_statements is off. Throws what libpqxx throws (Run turns it
  // into a status); std::invalid_argument for an unknown name.
  template <typename... Args>
  pqxx::result Exec(pqxx::transaction_base& tx, const std::string& name,
                    Args&&... args) const {
    if (options_.prepared_statements) {
      return tx.exec_prepared(name, std::forward<Args>(args)...);
    }
    return tx.exec_params(StatementText(name), std::forward<Args>(args)...);
  }

  // Exec for a statement that returns exactly one row; throws
  // pqxx::unexpected_rows otherwise.
  template <typename... Args>
  pqxx::row Exec1(pqxx::transaction_base& tx, const std::string& name,
                  Args&&... args) const {
    if (options_.prepared_statements) {
      return tx.exec_prepared1(name, std::forward<Args>(args)...);
    }
    return tx.exec_params1(StatementText(name), std::forward<Args>(args)...);
  }

 private:
  const std::string& StatementText(const std::string& name) const;

  absl::Status Acquire(std::unique_ptr<pqxx::connection>& connection);
  void Return(std::unique_ptr<pqxx::connection> connection, bool healthy);
  absl::Status Connect(std::unique_ptr<pqxx::connection>& connection);

  const PgPoolOptions options_;
  // Every statement's text by name, sized variants included.
  const std::unordered_map<std::string, std::string> statements_;
  std::mutex mu_;
  std::condition_variable freed_;
  std::vector<std::unique_ptr<pqxx::connection>> idle_;
  int open_ = 0;  // idle plus lent out plus being opened
  absl::Time next_connect_ = absl::InfinitePast();
  absl::Duration backoff_ = absl::ZeroDuration();
};

}  // namespace cycle_claimer
