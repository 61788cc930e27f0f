#include "server/storage/sql_errors.h"

#include <pqxx/except>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace cycle_claimer {

absl::StatusCode CodeForSqlState(absl::string_view sqlstate) {
  // Class 08: connection exception. 57P01..57P03: admin/crash shutdown,
  // cannot connect now. 53300: too many connections. 25006: read-only
  // transaction (a standby after fail-over).
  if (absl::StartsWith(sqlstate, "08") || sqlstate == "57P01" ||
      sqlstate == "57P02" || sqlstate == "57P03" || sqlstate == "53300" ||
      sqlstate == "25006") {
    return absl::StatusCode::kUnavailable;
  }
  // 40001 serialization failure, 40P01 deadlock, 55P03 lock timeout: the
  // same call may well succeed when tried again.
  // 23505 unique violation: a concurrent writer won the same key.
  if (sqlstate == "40001" || sqlstate == "40P01" || sqlstate == "55P03" ||
      sqlstate == "23505") {
    return absl::StatusCode::kAborted;
  }
  if (sqlstate == "57014") return absl::StatusCode::kDeadlineExceeded;
  return absl::StatusCode::kInternal;
}

}  // namespace cycle_claimer

namespace cycle_claimer {

DatabaseFailure CurrentDatabaseFailure() {
  try {
    throw;
  } catch (const pqxx::broken_connection& e) {
    return {absl::UnavailableError(
                absl::StrCat("database connection lost: ", e.what())),
            true};
  } catch (const pqxx::in_doubt_error& e) {
    return {absl::UnavailableError(absl::StrCat(
                "database connection lost during commit; outcome unknown: ",
                e.what())),
            true};
  } catch (const pqxx::statement_completion_unknown& e) {
    return {absl::UnavailableError(
                absl::StrCat("database statement outcome unknown: ", e.what())),
            true};
  } catch (const pqxx::transaction_rollback& e) {
    // Deadlock or serialization failure; libpqxx 6.4 keeps no SQLSTATE here.
    return {absl::AbortedError(absl::StrCat("database: ", e.what())), false};
  } catch (const pqxx::sql_error& e) {
    const absl::StatusCode code = CodeForSqlState(e.sqlstate());
    return {absl::Status(code, absl::StrCat("database error ", e.sqlstate(),
                                            ": ", e.what())),
            code == absl::StatusCode::kUnavailable};
  } catch (const std::exception& e) {
    return {absl::InternalError(absl::StrCat("database: ", e.what())), false};
  } catch (...) {
    return {absl::InternalError("database: unknown exception"), true};
  }
}

}  // namespace cycle_claimer
