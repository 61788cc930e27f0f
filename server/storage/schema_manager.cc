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

// Looks index `name` up: nullopt when absent, else whether it is valid.
std::optional<bool> FindIndex(pqxx::transaction_base& tx,
                              const std::string& name) {
  const pqxx::result rows = tx.exec_prepared(Name(sql::kFindIndex), name);
  if (rows.empty()) return std::nullopt;
  return rows[0]["valid"].as<bool>();
}

bool TriggerPresent(pqxx::transaction_base& tx) {
  return tx
      .exec_prepared(Name(sql::kFindTrigger),
                     std::string(kNotifyTriggerName))[0]["present"]
      .as<bool>();
}

struct KeptIndex {
  const char* name;
  const sql::Statement& create;
};
constexpr KeptIndex kKeptIndexes[] = {
    {kClaimIndexName, sql::kCreateClaimIndex},
    {kRetryIndexName, sql::kCreateRetryIndex},
};

// Utility statements take no parameters; the name is one of ours, quoted.
std::string DropIndexSql(pqxx::transaction_base& tx, const std::string& name) {
  return absl::StrCat("DROP INDEX CONCURRENTLY IF EXISTS public.",
                      tx.quote_name(name));
}

}  // namespace

SchemaManager::SchemaManager(std::string database_url)
    : database_url_(std::move(database_url)) {}

absl::Status SchemaManager::Migrate() {
  return WithConnection(database_url_, [](pqxx::connection& connection) {
    Prepare(connection, {sql::kLockMigrations, sql::kAppliedMigrations,
                         sql::kRecordMigration, sql::kFindTrigger});
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
    // On kimP's table, so kept (and re-created) apart from the numbered
    // migrations; installed here so a migrated database wakes long polls.
    if (!TriggerPresent(tx))
      tx.exec(std::string(sql::kCreateNotifyTrigger.text));
    tx.commit();
    return absl::OkStatus();
  });
}

absl::StatusOr<int> SchemaManager::EnsureKeptObjects() {
  return WithConnection(
      database_url_, [](pqxx::connection& connection) -> absl::StatusOr<int> {
        Prepare(connection, {sql::kFindIndex, sql::kFindTrigger,
                             sql::kTryLockIndexMaintenance});
        pqxx::nontransaction tx(connection);
        const auto missing = [&] {
          bool any = !TriggerPresent(tx);
          for (const KeptIndex& index : kKeptIndexes) {
            any = any || !FindIndex(tx, index.name).value_or(false);
          }
          return any;
        };
        if (!missing()) return 0;
        if (!tx.exec_prepared(Name(sql::kTryLockIndexMaintenance))[0]["locked"]
                 .as<bool>()) {
          return 0;  // another replica is at it
        }
        tx.exec(std::string(sql::kMaintenanceSession.text));
        int built = 0;
        // Looked up again under the lock: another replica may have built them.
        if (!TriggerPresent(tx)) {
          tx.exec(std::string(sql::kCreateNotifyTrigger.text));
          ++built;
        }
        for (const KeptIndex& index : kKeptIndexes) {
          const std::optional<bool> valid = FindIndex(tx, index.name);
          if (valid.value_or(false)) continue;
          if (valid.has_value()) tx.exec(DropIndexSql(tx, index.name));
          tx.exec(std::string(index.create.text));
          ++built;
        }
        return built;
      });
}

absl::StatusOr<bool> SchemaManager::EnsureClaimStatistics() {
  return WithConnection(
      database_url_, [](pqxx::connection& connection) -> absl::StatusOr<bool> {
        Prepare(connection,
                {sql::kClaimStatisticsMissing, sql::kTryLockIndexMaintenance});
        pqxx::nontransaction tx(connection);
        const auto missing = [&] {
          return tx.exec_prepared(Name(sql::kClaimStatisticsMissing))[0]
                     ["missing"]
              .as<bool>();
        };
        if (!missing()) return false;
        if (!tx.exec_prepared(Name(sql::kTryLockIndexMaintenance))[0]["locked"]
                 .as<bool>()) {
          return false;  // another replica is at it
        }
        tx.exec(std::string(sql::kMaintenanceSession.text));
        if (!missing()) return false;
        tx.exec(std::string(sql::kAnalyzeCycles.text));
        if (missing()) {
          // PostgreSQL skips the table, with a warning, for a non-owner.
          return absl::FailedPreconditionError(
              "ANALYZE public.arbitrage_cycles left no statistics (is the "
              "service's role the table's owner?); waiting for autovacuum");
        }
        return true;
      });
}

absl::StatusOr<bool> SchemaManager::IndexPresent(const std::string& name) {
  return WithConnection(
      database_url_,
      [&name](pqxx::connection& connection) -> absl::StatusOr<bool> {
        Prepare(connection, {sql::kFindIndex});
        pqxx::nontransaction tx(connection);
        return FindIndex(tx, name).value_or(false);
      });
}

}  // namespace cycle_claimer
