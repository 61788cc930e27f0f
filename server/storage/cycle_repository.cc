#include "server/storage/cycle_repository.h"

#include <map>
#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "server/domain/status_macros.h"
#include "server/sql/sql_catalog.h"
#include "server/storage/pg_pool.h"

namespace cycle_claimer {
namespace {

// Single statements run in autocommit (pqxx::nontransaction): each is its own
// transaction, in one round trip instead of three (BEGIN, statement, COMMIT).

// A claim statement can find candidates yet claim none: they were
// dead-lettered, or a concurrent renewal beat it. It is then run again, this
// many times at most before answering "nothing claimable".
constexpr int kMaxClaimRounds = 8;

int64_t Micros(absl::Duration duration) {
  return absl::ToInt64Microseconds(duration);
}

std::string Name(const sql::Statement& statement) {
  return std::string(statement.name);
}

std::optional<std::string> OptionalText(const pqxx::row& row,
                                        const char* column) {
  const pqxx::field field = row[column];
  if (field.is_null()) return std::nullopt;
  return field.as<std::string>();
}

std::optional<absl::Time> OptionalTime(const pqxx::row& row,
                                       const char* column) {
  const pqxx::field field = row[column];
  if (field.is_null()) return std::nullopt;
  return absl::FromUnixMicros(field.as<int64_t>());
}

// A PostgreSQL array literal of `values`, each quoted, so any text survives.
std::string TextArray(const std::vector<std::string>& values) {
  std::string literal = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) literal += ',';
    literal += '"';
    for (char ch : values[i]) {
      if (ch == '"' || ch == '\\') literal += '\\';
      literal += ch;
    }
    literal += '"';
  }
  return literal + "}";
}

std::string BigintArray(const std::vector<int64_t>& values) {
  std::string literal = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) literal += ',';
    literal += std::to_string(values[i]);
  }
  return literal + "}";
}

// Decodes the cycle projection every statement of server/sql returns.
absl::StatusOr<Cycle> DecodeCycle(const pqxx::row& row) {
  Cycle cycle;
  cycle.id = row["id"].as<std::string>();
  const std::string label = row["status"].as<std::string>();
  const std::optional<CycleStatus> status = CycleStatusFromLabel(label);
  if (!status.has_value()) {
    return absl::InternalError(
        absl::StrCat("cycle ", cycle.id, " has an unknown status ", label));
  }
  cycle.status = *status;
  cycle.start_time = absl::FromUnixMicros(row["start_time_us"].as<int64_t>());
  cycle.end_time = OptionalTime(row, "end_time_us");
  cycle.initial_trade_id = OptionalText(row, "initial_trade_id");
  cycle.rebalance_trade_id = OptionalText(row, "rebalance_trade_id");
  cycle.total_net_profit_krw = OptionalText(row, "total_net_profit_krw");
  cycle.total_net_profit_percent =
      OptionalText(row, "total_net_profit_percent");
  cycle.initial_investment_krw = OptionalText(row, "initial_investment_krw");
  cycle.error_details = OptionalText(row, "error_details");
  cycle.locked_at = OptionalTime(row, "locked_at_us");
  cycle.retry_count = row["retry_count"].as<int32_t>();
  cycle.last_retry_at = OptionalTime(row, "last_retry_at_us");
  cycle.next_retry_at = OptionalTime(row, "next_retry_at_us");
  cycle.failure_reason = OptionalText(row, "failure_reason");
  cycle.locked_by = OptionalText(row, "locked_by");
  cycle.lease_expires_at = OptionalTime(row, "lease_expires_at_us");
  cycle.lease_token = row["lease_token"].as<int64_t>();
  return cycle;
}

// The one cycle of a lease statement's result; nullopt for an empty result
// (the lease was lost).
absl::StatusOr<std::optional<Cycle>> SingleCycle(const pqxx::result& result) {
  if (result.empty()) return std::optional<Cycle>();
  ASSIGN_OR_RETURN(Cycle cycle, DecodeCycle(result[0]));
  return std::optional<Cycle>(std::move(cycle));
}

}  // namespace

CycleRepository::CycleRepository(RepositoryOptions options)
    : options_(std::move(options)),
      pool_(std::make_unique<PgPool>(PgPoolOptions{
          .database_url = options_.database_url,
          .size = options_.pool_size,
          .acquire_timeout = options_.acquire_timeout,
          .statement_timeout = options_.statement_timeout,
          .prepared_statements = options_.prepared_statements,
      })) {}

CycleRepository::~CycleRepository() = default;

absl::StatusOr<ClaimOutcome> CycleRepository::Claim(
    const std::vector<ClaimSlot>& slots) {
  if (slots.empty() ||
      slots.size() > static_cast<std::size_t>(kMaxClaimSlots)) {
    return absl::InvalidArgumentError(
        absl::StrCat("a claim serves 1 to ", kMaxClaimSlots, " slots"));
  }
  ClaimOutcome outcome;
  outcome.claimed.resize(slots.size());
  std::vector<std::size_t> unserved(slots.size());
  for (std::size_t i = 0; i < slots.size(); ++i) unserved[i] = i;
  for (int round = 0; round < kMaxClaimRounds && !unserved.empty(); ++round) {
    std::vector<std::string> workers, request_ids;
    std::vector<int64_t> leases;
    for (std::size_t index : unserved) {
      workers.push_back(slots[index].worker_id);
      leases.push_back(Micros(slots[index].lease));
      request_ids.push_back(slots[index].request_id);
    }
    int64_t candidates = 0;
    std::vector<std::size_t> still_unserved;
    std::vector<bool> served(unserved.size(), false);
    int64_t live = 0;
    RETURN_IF_ERROR(pool_->Run([&](pqxx::connection& connection) {
      pqxx::nontransaction tx(connection);
      const pqxx::result result = pool_->Exec(
          tx,
          SizedStatementName(std::string(sql::kClaimCycles.name),
                             static_cast<int>(workers.size())),
          TextArray(workers), BigintArray(leases), TextArray(request_ids),
          options_.policy.max_attempts, Micros(options_.policy.default_lease));
      for (const pqxx::row& row : result) {
        candidates = row["candidates"].as<int64_t>();
        if (row["id"].is_null()) continue;
        ASSIGN_OR_RETURN(Cycle cycle, DecodeCycle(row));
        if (cycle.status != CycleStatus::kRebalancingInProgress) {
          outcome.dead_lettered.push_back(std::move(cycle));
          continue;
        }
        const auto slot = row["slot"].as<std::size_t>() - 1;
        if (row["taken_over"].as<bool>()) ++outcome.takeovers;
        served[slot] = true;
        ++live;
        outcome.claimed[unserved[slot]] = std::move(cycle);
      }
      return absl::OkStatus();
    }));
    for (std::size_t i = 0; i < unserved.size(); ++i) {
      if (!served[i]) still_unserved.push_back(unserved[i]);
    }
    unserved = std::move(still_unserved);
    // Every candidate became a live claim: nothing more is claimable now.
    if (candidates == live) break;
  }
  return outcome;
}

absl::StatusOr<std::optional<Cycle>> CycleRepository::FindClaim(
    absl::string_view worker_id, absl::string_view request_id) {
  std::optional<Cycle> cycle;
  RETURN_IF_ERROR(pool_->Run([&](pqxx::connection& connection) {
    pqxx::nontransaction tx(connection);
    const pqxx::result rows =
        pool_->Exec(tx, Name(sql::kFindClaimByRequest), std::string(worker_id),
                    std::string(request_id));
    ASSIGN_OR_RETURN(cycle, SingleCycle(rows));
    return absl::OkStatus();
  }));
  return cycle;
}

absl::StatusOr<Cycle> CycleRepository::RenewLease(absl::string_view cycle_id,
                                                  int64_t token,
                                                  absl::Duration lease) {
  std::optional<Cycle> renewed;
  RETURN_IF_ERROR(pool_->Run([&](pqxx::connection& connection) {
    pqxx::nontransaction tx(connection);
    const pqxx::result result =
        pool_->Exec(tx, Name(sql::kRenewLease), std::string(cycle_id), token,
                    Micros(lease));
    ASSIGN_OR_RETURN(renewed, SingleCycle(result));
    return absl::OkStatus();
  }));
  if (!renewed) return LeaseMissError(cycle_id, token);
  return *std::move(renewed);
}

absl::StatusOr<Cycle> CycleRepository::Complete(
    absl::string_view cycle_id, int64_t token, const CompletionResult& result) {
  ASSIGN_OR_RETURN(
      std::vector<absl::StatusOr<Cycle>> completed,
      CompleteAll({CompletionItem{std::string(cycle_id), token, result}}));
  return std::move(completed.front());
}

absl::StatusOr<std::vector<absl::StatusOr<Cycle>>> CycleRepository::CompleteAll(
    const std::vector<CompletionItem>& items) {
  std::vector<std::string> ids, trade_ids, profits, percents;
  std::vector<int64_t> tokens;
  for (const CompletionItem& item : items) {
    ids.push_back(item.cycle_id);
    tokens.push_back(item.token);
    trade_ids.push_back(item.result.rebalance_trade_id);
    profits.push_back(item.result.total_net_profit_krw);
    percents.push_back(item.result.total_net_profit_percent);
  }
  std::map<std::string, Cycle> completed;
  RETURN_IF_ERROR(pool_->Run([&](pqxx::connection& connection) {
    pqxx::nontransaction tx(connection);
    const pqxx::result rows = pool_->Exec(
        tx, Name(sql::kCompleteCycles), TextArray(ids), BigintArray(tokens),
        TextArray(trade_ids), TextArray(profits), TextArray(percents));
    for (const pqxx::row& row : rows) {
      ASSIGN_OR_RETURN(Cycle cycle, DecodeCycle(row));
      completed.emplace(cycle.id, std::move(cycle));
    }
    return absl::OkStatus();
  }));
  std::vector<absl::StatusOr<Cycle>> results;
  results.reserve(items.size());
  for (const CompletionItem& item : items) {
    auto found = completed.find(item.cycle_id);
    if (found != completed.end()) {
      results.push_back(std::move(found->second));
    } else {
      results.push_back(LeaseMissError(item.cycle_id, item.token));
    }
  }
  return results;
}

absl::StatusOr<Cycle> CycleRepository::Fail(absl::string_view cycle_id,
                                            int64_t token,
                                            absl::string_view reason,
                                            bool permanent) {
  std::optional<Cycle> failed;
  RETURN_IF_ERROR(pool_->Run([&](pqxx::connection& connection) {
    pqxx::work tx(connection);
    const pqxx::result held = pool_->Exec(tx, Name(sql::kLockHeldCycle),
                                          std::string(cycle_id), token);
    if (held.empty()) return absl::OkStatus();  // rolled back: nothing changed
    const FailureOutcome decision = DecideFailure(
        held[0]["retry_count"].as<int>(), permanent, options_.policy);
    const int64_t delay_us =
        decision.retry_delay ? Micros(*decision.retry_delay) : -1;
    const pqxx::result rows =
        pool_->Exec(tx, Name(sql::kFailCycle), std::string(cycle_id),
                    std::string(CycleStatusLabel(decision.status)),
                    decision.retry_count, std::string(reason), delay_us,
                    held[0]["locked_by"].as<std::string>(), token);
    tx.commit();
    ASSIGN_OR_RETURN(failed, SingleCycle(rows));
    return absl::OkStatus();
  }));
  if (!failed) return LeaseMissError(cycle_id, token);
  return *std::move(failed);
}

absl::StatusOr<Cycle> CycleRepository::Release(absl::string_view cycle_id,
                                               int64_t token) {
  std::optional<Cycle> released;
  RETURN_IF_ERROR(pool_->Run([&](pqxx::connection& connection) {
    pqxx::nontransaction tx(connection);
    const pqxx::result rows =
        pool_->Exec(tx, Name(sql::kReleaseCycle), std::string(cycle_id), token);
    ASSIGN_OR_RETURN(released, SingleCycle(rows));
    return absl::OkStatus();
  }));
  if (!released) return LeaseMissError(cycle_id, token);
  return *std::move(released);
}

absl::StatusOr<std::optional<Cycle>> CycleRepository::Get(
    absl::string_view cycle_id) {
  std::optional<Cycle> cycle;
  RETURN_IF_ERROR(pool_->Run([&](pqxx::connection& connection) {
    pqxx::nontransaction tx(connection);
    const pqxx::result rows =
        pool_->Exec(tx, Name(sql::kGetCycle), std::string(cycle_id));
    ASSIGN_OR_RETURN(cycle, SingleCycle(rows));
    return absl::OkStatus();
  }));
  return cycle;
}

absl::StatusOr<std::optional<absl::Duration>> CycleRepository::NextDueIn() {
  std::optional<absl::Duration> due_in;
  RETURN_IF_ERROR(pool_->Run([&](pqxx::connection& connection) {
    pqxx::nontransaction tx(connection);
    const pqxx::row row = pool_->Exec1(tx, Name(sql::kNextDue));
    if (!row["due_in_us"].is_null()) {
      due_in = absl::Microseconds(row["due_in_us"].as<int64_t>());
    }
    return absl::OkStatus();
  }));
  return due_in;
}

absl::StatusOr<Cycle> CycleRepository::Create(const NewCycle& cycle) {
  std::optional<Cycle> created;
  RETURN_IF_ERROR(pool_->Run([&](pqxx::connection& connection) {
    pqxx::nontransaction tx(connection);
    ASSIGN_OR_RETURN(created,
                     SingleCycle(pool_->Exec(
                         tx, Name(sql::kCreateCycle), cycle.initial_trade_id,
                         cycle.initial_investment_krw,
                         std::string(CycleStatusLabel(cycle.status)))));
    return absl::OkStatus();
  }));
  if (!created) return absl::InternalError("the insert returned no row");
  return *std::move(created);
}

absl::StatusOr<CyclePage> CycleRepository::List(
    const std::vector<CycleStatus>& statuses, int page_size,
    const std::optional<PagePosition>& after) {
  std::vector<std::string> labels;
  for (CycleStatus status : statuses) {
    labels.emplace_back(CycleStatusLabel(status));
  }
  CyclePage page;
  RETURN_IF_ERROR(pool_->Run([&](pqxx::connection& connection) {
    pqxx::nontransaction tx(connection);
    // One row more than asked for tells whether another page follows.
    const pqxx::result rows =
        after ? pool_->Exec(tx, Name(sql::kListCycles),
                            absl::ToUnixMicros(after->start_time), after->id,
                            TextArray(labels), page_size + 1)
              : pool_->Exec(tx, Name(sql::kListCycles),
                            static_cast<const char*>(nullptr),
                            static_cast<const char*>(nullptr),
                            TextArray(labels), page_size + 1);
    for (const pqxx::row& row : rows) {
      ASSIGN_OR_RETURN(Cycle cycle, DecodeCycle(row));
      page.cycles.push_back(std::move(cycle));
    }
    return absl::OkStatus();
  }));
  if (page.cycles.size() > static_cast<std::size_t>(page_size)) {
    page.cycles.pop_back();
    page.next =
        PagePosition{page.cycles.back().start_time, page.cycles.back().id};
  }
  return page;
}

absl::StatusOr<Cycle> CycleRepository::Requeue(absl::string_view cycle_id) {
  std::optional<Cycle> requeued;
  RETURN_IF_ERROR(pool_->Run([&](pqxx::connection& connection) {
    pqxx::nontransaction tx(connection);
    ASSIGN_OR_RETURN(requeued,
                     SingleCycle(pool_->Exec(tx, Name(sql::kRequeueCycle),
                                             std::string(cycle_id))));
    return absl::OkStatus();
  }));
  if (requeued) return *std::move(requeued);
  ASSIGN_OR_RETURN(std::optional<Cycle> current, Get(cycle_id));
  if (!current) {
    return absl::NotFoundError(
        absl::StrCat("id ", cycle_id, ": no such cycle"));
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "cycle ", cycle_id, " is ", CycleStatusLabel(current->status),
      "; only DEAD_LETTER or FAILED cycles can be requeued"));
}

absl::StatusOr<QueueStats> CycleRepository::Stats() {
  QueueStats stats;
  RETURN_IF_ERROR(pool_->Run([&](pqxx::connection& connection) {
    pqxx::nontransaction tx(connection);
    for (const pqxx::row& row : pool_->Exec(tx, Name(sql::kCountByStatus))) {
      const std::optional<CycleStatus> status =
          CycleStatusFromLabel(row["status"].as<std::string>());
      if (status) stats.counts.emplace_back(*status, row["n"].as<int64_t>());
    }
    const pqxx::row row = pool_->Exec1(tx, Name(sql::kQueueStats),
                                       Micros(options_.policy.default_lease));
    if (!row["oldest_claimable_age_us"].is_null()) {
      stats.oldest_claimable_age =
          absl::Microseconds(row["oldest_claimable_age_us"].as<int64_t>());
    }
    stats.live_leases = row["live_leases"].as<int64_t>();
    stats.expired_leases = row["expired_leases"].as<int64_t>();
    return absl::OkStatus();
  }));
  return stats;
}

absl::StatusOr<std::pair<int64_t, int64_t>>
CycleRepository::ClaimTableSizes() {
  std::pair<int64_t, int64_t> sizes;
  RETURN_IF_ERROR(pool_->Run([&](pqxx::connection& connection) {
    pqxx::nontransaction tx(connection);
    const pqxx::row row = pool_->Exec1(tx, Name(sql::kClaimTableSizes));
    sizes = {row["cycles_bytes"].as<int64_t>(),
             row["leases_bytes"].as<int64_t>()};
    return absl::OkStatus();
  }));
  return sizes;
}

void CycleRepository::ReplanStatements() { pool_->ReplanStatements(); }

absl::Status CycleRepository::InsertDemoCycles(int count) {
  return pool_->Run([&](pqxx::connection& connection) {
    pqxx::nontransaction tx(connection);
    pool_->Exec(tx, Name(sql::kInsertDemoCycles), count);
    return absl::OkStatus();
  });
}

absl::Status CycleRepository::LeaseMissError(absl::string_view cycle_id,
                                             int64_t token) {
  ASSIGN_OR_RETURN(std::optional<Cycle> current, Get(cycle_id));
  if (!current) {
    return absl::NotFoundError(
        absl::StrCat("cycle_id ", cycle_id, ": no such cycle"));
  }
  return LeaseLostError(cycle_id, current->status, current->lease_token, token);
}

void CycleRepository::DropConnections() { pool_->DropConnections(); }

PoolStats CycleRepository::pool_stats() {
  const PgPool::Stats stats = pool_->stats();
  return PoolStats{
      .open = stats.open,
      .in_use = stats.in_use,
      .waits = stats.waits,
      .acquire_timeouts = stats.acquire_timeouts,
      .connect_failures = stats.connect_failures,
      .cancelled_statements = stats.cancelled_statements,
  };
}

}  // namespace cycle_claimer
