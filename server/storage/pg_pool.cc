#include "server/storage/pg_pool.h"

#include <cstring>
#include <pqxx/pqxx>
#include <stdexcept>

#include "absl/strings/str_cat.h"
#include "server/sql/sql_catalog.h"
#include "server/storage/sql_errors.h"

namespace cycle_claimer {

namespace {

// Every statement of server/sql/statements by name; one with kSlotsMarker
// once per slot count.
std::unordered_map<std::string, std::string> StatementTexts() {
  std::unordered_map<std::string, std::string> texts;
  for (const sql::Statement& statement : sql::kAllStatements) {
    const std::string text(statement.text);
    const std::size_t marker = text.find(kSlotsMarker);
    if (marker == std::string::npos) {
      texts.emplace(std::string(statement.name), text);
      continue;
    }
    for (int slots = 1; slots <= kMaxClaimSlots; ++slots) {
      std::string sized = text;
      sized.replace(marker, std::strlen(kSlotsMarker), std::to_string(slots));
      texts.emplace(SizedStatementName(std::string(statement.name), slots),
                    std::move(sized));
    }
  }
  return texts;
}

}  // namespace

std::string SizedStatementName(absl::string_view name, int slots) {
  return absl::StrCat(name, "_", slots);
}

PgPool::PgPool(PgPoolOptions options)
    : options_(std::move(options)), statements_(StatementTexts()) {}

PgPool::~PgPool() = default;

absl::Status PgPool::Connect(std::unique_ptr<pqxx::connection>& connection) {
  {
    std::lock_guard lock(mu_);
    if (absl::Now() < next_connect_) {
      return absl::UnavailableError(
          "database unreachable; reconnecting with backoff");
    }
  }
  std::string error;
  try {
    auto fresh = std::make_unique<pqxx::connection>(options_.database_url);
    if (options_.prepared_statements) {
      // libpqxx prepares lazily: registering all the sizes costs nothing.
      for (const auto& [name, text] : statements_) fresh->prepare(name, text);
    }
    connection = std::move(fresh);
  } catch (const std::exception& e) {
    error = e.what();
  }
  std::lock_guard lock(mu_);
  if (connection) {
    backoff_ = absl::ZeroDuration();
    next_connect_ = absl::InfinitePast();
    return absl::OkStatus();
  }
  backoff_ = std::clamp(backoff_ * 2, options_.min_reconnect_backoff,
                        options_.max_reconnect_backoff);
  next_connect_ = absl::Now() + backoff_;
  // libpq's messages name host and port, never the password.
  return absl::UnavailableError(
      absl::StrCat("cannot connect to the database: ", error));
}

absl::Status PgPool::Acquire(std::unique_ptr<pqxx::connection>& connection) {
  {
    std::unique_lock lock(mu_);
    const bool available = freed_.wait_for(
        lock, absl::ToChronoNanoseconds(options_.acquire_timeout),
        [&] { return !idle_.empty() || open_ < options_.size; });
    if (!available) {
      return absl::ResourceExhaustedError(
          absl::StrCat("no database connection free within ",
                       absl::FormatDuration(options_.acquire_timeout)));
    }
    if (!idle_.empty()) {
      connection = std::move(idle_.back());
      idle_.pop_back();
      return absl::OkStatus();
    }
    ++open_;  // reserve the slot while connecting outside the lock
  }
  absl::Status status = Connect(connection);
  if (!status.ok()) {
    std::lock_guard lock(mu_);
    --open_;
    freed_.notify_one();
  }
  return status;
}

void PgPool::Return(std::unique_ptr<pqxx::connection> connection,
                    bool healthy) {
  std::lock_guard lock(mu_);
  if (healthy && connection->is_open()) {
    idle_.push_back(std::move(connection));
  } else {
    --open_;
  }
  freed_.notify_one();
}

const std::string& PgPool::StatementText(const std::string& name) const {
  const auto found = statements_.find(name);
  if (found == statements_.end()) {
    throw std::invalid_argument(absl::StrCat("no statement named ", name));
  }
  return found->second;
}

absl::Status PgPool::Run(const Work& work) {
  std::unique_ptr<pqxx::connection> connection;
  absl::Status status = Acquire(connection);
  if (!status.ok()) return status;
  bool healthy = true;
  try {
    status = work(*connection);
  } catch (...) {
    DatabaseFailure failure = CurrentDatabaseFailure();
    healthy = !failure.connection_lost;
    status = std::move(failure.status);
  }
  Return(std::move(connection), healthy);
  return status;
}

}  // namespace cycle_claimer
