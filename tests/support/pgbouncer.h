#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace cycle_claimer::testing {

struct PgBouncerOptions {
  // A database on the PostgreSQL to pool (e.g. TestDatabase::url()); its
  // host, port and user are what PgBouncer connects to and as.
  std::string upstream_url;
  // "transaction", "session" or "statement".
  std::string pool_mode = "transaction";
  // Server connections per database and user: fewer than the clients'
  // connections, so that clients really share them.
  int default_pool_size = 4;
  int max_client_conn = 200;
};

// A PgBouncer of its own for one test (PGBOUNCER_EXECUTABLE), in a temp
// folder, listening on 127.0.0.1:<free port> with trust authentication for
// the upstream user, every database passed through to the upstream server.
// As root it runs as the "postgres" user (PgBouncer refuses root). It is
// stopped on destruction, and by the kernel if the thread that started it
// ends first (a crashed test leaves no PgBouncer behind).
class PgBouncer {
 public:
  // Starts it and waits (up to 10 s) until it serves the upstream database.
  // An error carries the end of its log.
  static absl::StatusOr<std::unique_ptr<PgBouncer>> Start(
      PgBouncerOptions options);

  ~PgBouncer();
  PgBouncer(const PgBouncer&) = delete;
  PgBouncer& operator=(const PgBouncer&) = delete;

  int port() const { return port_; }

  // A URL reaching database `database` through PgBouncer.
  std::string Url(const std::string& database) const;

  // Runs `command` (e.g. "SHOW POOLS") on PgBouncer's admin console and
  // returns its rows, each column's text by name; throws std::runtime_error
  // on failure. (libpq, not libpqxx: libpqxx refuses the console's version.)
  std::vector<std::map<std::string, std::string>> Admin(
      const std::string& command) const;

  // The end of PgBouncer's log, for failure messages.
  std::string LogTail() const;

 private:
  PgBouncer() = default;

  std::string dir_;
  std::string user_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace cycle_claimer::testing
