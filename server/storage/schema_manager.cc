#include "server/storage/schema_manager.h"

#include <optional>
#include <pqxx/pqxx>
#include <set>

#include "absl/strings/str_cat.h"
#include "server/sql/sql_catalog.h"
#include "server/storage/sql_errors.h"

namespace cycle_claimer {
namespace {

std::string Name(const sql::Statement& statement) {
  return std::string(statement.name);
}

void Prepare(pqxx::connection& connection,
             std::initializer_list<sql::Statement> statements) {
  for (const sql::Statement& statement : statements) {
    connection.prepare(Name(statement), std::string(statement.text));
  }
}

// Runs `work` on a fresh connection, turning libpqxx exceptions into a status.
template <typename Work>
auto WithConnection(const std::string& url, Work work)
    -> decltype(work(std::declval<pqxx::connection&>())) {
  try {
    pqxx::connection connection(url);
    return work(connection);
  } catch (...) {
    return CurrentDatabaseFailure().status;
  }
}

// Looks the claim index up: nullopt when absent, else whether it is valid.
std::optional<bool> FindClaimIndex(pqxx::transaction_base& tx) {
  const pqxx::result rows =
      tx.exec_prepared(Name(sql::kFindIndex), std::string(kClaimIndexName));
  if (rows.empty()) return std::nullopt;
  return rows[0]["valid"].as<bool>();
}

}  // namespace

SchemaManager::SchemaManager(std::string database_url)
    : database_url_(std::move(database_url)) {}

absl::Status SchemaManager::Migrate() {
  return WithConnection(database_url_, [](pqxx::connection& connection) {
    Prepare(connection, {sql::kLockMigrations, sql::kAppliedMigrations,
                         sql::kRecordMigration});
    pqxx::work tx(connection);
    tx.exec_prepared(Name(sql::kLockMigrations));
    tx.exec(std::string(sql::kBootstrapMigrations.text));
    std::set<int> applied;
    for (const pqxx::row& row :
         tx.exec_prepared(Name(sql::kAppliedMigrations))) {
      applied.insert(row["version"].as<int>());
    }
    for (const sql::Migration& migration : sql::kMigrations) {
      if (applied.contains(migration.version)) continue;
      tx.exec(std::string(migration.text));
      tx.exec_prepared(Name(sql::kRecordMigration), migration.version,
                       std::string(migration.name));
    }
    tx.commit();
    return absl::OkStatus();
  });
}

absl::StatusOr<bool> SchemaManager::EnsureClaimIndex() {
  return WithConnection(
      database_url_, [](pqxx::connection& connection) -> absl::StatusOr<bool> {
        Prepare(connection, {sql::kFindIndex, sql::kTryLockIndexMaintenance});
        pqxx::nontransaction tx(connection);
        const std::optional<bool> valid = FindClaimIndex(tx);
        if (valid.value_or(false)) return false;
        if (!tx.exec_prepared(Name(sql::kTryLockIndexMaintenance))[0]["locked"]
                 .as<bool>()) {
          return false;
        }
        // Looked up again under the lock: another replica may have built it.
        const std::optional<bool> locked_valid = FindClaimIndex(tx);
        if (locked_valid.value_or(false)) return false;
        tx.exec(std::string(sql::kMaintenanceSession.text));
        if (locked_valid.has_value()) {
          tx.exec(std::string(sql::kDropClaimableIndex.text));
        }
        tx.exec(std::string(sql::kCreateClaimableIndex.text));
        return true;
      });
}

absl::StatusOr<bool> SchemaManager::ClaimIndexPresent() {
  return WithConnection(
      database_url_, [](pqxx::connection& connection) -> absl::StatusOr<bool> {
        Prepare(connection, {sql::kFindIndex});
        pqxx::nontransaction tx(connection);
        return FindClaimIndex(tx).value_or(false);
      });
}

}  // namespace cycle_claimer
