#include "server/storage/database_probe.h"

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "server/sql/sql_catalog.h"

namespace cycle_claimer {

DatabaseProbe::DatabaseProbe(std::string database_url)
    : database_url_(std::move(database_url)) {}

DatabaseProbe::~DatabaseProbe() = default;

absl::Status DatabaseProbe::Check() {
  try {
    if (!connection_) {
      connection_ = std::make_unique<pqxx::connection>(database_url_);
    }
    // A simple query, not a prepared statement: works through PgBouncer in
    // transaction mode as well.
    pqxx::nontransaction tx(*connection_);
    tx.exec(std::string(sql::kPing.text));
    return absl::OkStatus();
  } catch (const std::exception& e) {
    connection_.reset();
    return absl::UnavailableError(
        absl::StrCat("database unreachable: ", e.what()));
  }
}

}  // namespace cycle_claimer
