#pragma once

// Internal to storage: nothing above storage includes this header.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <pqxx/connection>
#include <pqxx/transaction_base>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/storage/call_deadline.h"
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
  // The longest a statement may run: at this point, or at the calling RPC's
  // deadline when that comes first (ScopedCallDeadline), the statement is
  // cancelled in PostgreSQL (57014 -> DEADLINE_EXCEEDED). Zero: no limit.
  absl::Duration statement_timeout = absl::Seconds(30);
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
  // UNAVAILABLE when no connection can be had; DEADLINE_EXCEEDED when the
  // call's deadline (ScopedCallDeadline) passed before or while it ran.
  absl::Status Run(const Work& work);

  // Closes the idle connections and marks the lent-out ones to be closed on
  // return: after the database was lost, connections from before are
  // broken, and each would fail one call before being replaced.
  void DropConnections();

  // Makes every connection drop its cached plans (DISCARD PLANS) before its
  // next statement, so that prepared statements are planned again for the
  // tables as they are now (plan_growth.h says when). No-op without
  // prepared statements: unnamed ones are planned on every call.
  void ReplanStatements();

  struct Stats {
    int open = 0;    // connections open (or being opened)
    int in_use = 0;  // lent out to calls right now
    int64_t waits = 0;            // acquisitions that had to wait
    int64_t acquire_timeouts = 0;  // ... and gave up (RESOURCE_EXHAUSTED)
    int64_t connect_failures = 0;
    int64_t cancelled_statements = 0;  // at a deadline or statement_timeout
  };
  Stats stats();

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

  struct Lent {
    std::unique_ptr<pqxx::connection> connection;
    uint64_t generation = 0;
    uint64_t plan_generation = 0;  // plan_generation_ at its last DISCARD
  };
  absl::Status Acquire(Lent& lent);
  void Return(Lent lent, bool healthy);
  absl::Status Connect(std::unique_ptr<pqxx::connection>& connection);

  // Cancels statements that outlive their deadline, from a thread of its own.
  void Watch();
  // Registers `connection` as running a statement until `deadline`; returns
  // the key for StopWatching.
  uint64_t StartWatching(pqxx::connection& connection, absl::Time deadline);
  // Returns once no cancel for `key` can still be on its way.
  void StopWatching(uint64_t key);

  const PgPoolOptions options_;
  // Every statement's text by name, sized variants included.
  const std::unordered_map<std::string, std::string> statements_;
  std::mutex mu_;
  std::condition_variable freed_;
  std::vector<Lent> idle_;
  int open_ = 0;  // idle plus lent out plus being opened
  uint64_t generation_ = 0;
  std::atomic<uint64_t> plan_generation_{0};
  absl::Time next_connect_ = absl::InfinitePast();
  absl::Duration backoff_ = absl::ZeroDuration();
  Stats stats_;

  struct Watched {
    pqxx::connection* connection;
    absl::Time deadline;
    bool cancelling = false;
  };
  std::mutex watch_mu_;
  std::condition_variable watch_changed_;
  std::map<uint64_t, Watched> watched_;
  uint64_t next_watch_key_ = 0;
  bool stopping_ = false;
  std::thread watchdog_;
};

}  // namespace cycle_claimer
