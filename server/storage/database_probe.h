#pragma once

#include <memory>
#include <pqxx/connection>
#include <string>

#include "absl/status/status.h"

namespace cycle_claimer {

// Tells whether the database answers, over one connection of its own, so a
// busy request pool never delays the verdict. Thread-compatible.
class DatabaseProbe {
 public:
  explicit DatabaseProbe(std::string database_url);
  ~DatabaseProbe();
  DatabaseProbe(const DatabaseProbe&) = delete;
  DatabaseProbe& operator=(const DatabaseProbe&) = delete;

  // OK when the database answered a query; UNAVAILABLE (with libpq's reason)
  // when it cannot be reached. Reconnects on every call after a failure.
  absl::Status Check();

 private:
  const std::string database_url_;
  std::unique_ptr<pqxx::connection> connection_;
};

}  // namespace cycle_claimer
