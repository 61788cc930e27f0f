#pragma once

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace cycle_claimer::testing {

// A TCP port on 127.0.0.1 that nobody listens on right now.
int FreeLoopbackPort();

// A PostgreSQL 15 of one test's own, initialised in a temporary folder and
// listening on a free loopback port, that the test may stop and start again
// (the shared test database must not be stopped under other tests). As root
// it runs as the "postgres" user, since PostgreSQL refuses root. Stopped and
// removed on destruction.
class PrivatePostgres {
 public:
  static absl::StatusOr<std::unique_ptr<PrivatePostgres>> Start();
  ~PrivatePostgres();
  PrivatePostgres(const PrivatePostgres&) = delete;
  PrivatePostgres& operator=(const PrivatePostgres&) = delete;

  // pg_ctl stop -m fast: clients are disconnected, open transactions rolled
  // back.
  absl::Status Stop();
  // Starts it again, same data and port.
  absl::Status Restart();

  // URL of database "postgres" as superuser "postgres".
  std::string url() const;
  int port() const { return port_; }

 private:
  PrivatePostgres(std::string dir, int port);
  absl::Status Run(const std::string& command) const;

  const std::string dir_;
  const int port_;
};

}  // namespace cycle_claimer::testing
