#include "server/storage/pg_pool.h"

#include <algorithm>
#include <cstring>
#include <pqxx/pqxx>
#include <stdexcept>

#include "absl/strings/str_cat.h"
#include "server/sql/sql_catalog.h"
#include "server/storage/sql_errors.h"

namespace cycle_claimer {

namespace {

// Drops the connection's cached plans; its prepared statements stay and are
// planned again when next run (ReplanStatements).
constexpr char kDiscardPlans[] = "DISCARD PLANS";

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

namespace {
thread_local absl::Time call_deadline = absl::InfiniteFuture();
}  // namespace

ScopedCallDeadline::ScopedCallDeadline(absl::Time deadline)
    : previous_(call_deadline) {
  call_deadline = deadline;
}

ScopedCallDeadline::~ScopedCallDeadline() { call_deadline = previous_; }

absl::Time CurrentCallDeadline() { return call_deadline; }

PgPool::PgPool(PgPoolOptions options)
    : options_(std::move(options)),
      statements_(StatementTexts()),
      watchdog_([this] { Watch(); }) {}

PgPool::~PgPool() {
  {
    std::lock_guard lock(watch_mu_);
    stopping_ = true;
  }
  watch_changed_.notify_all();
  watchdog_.join();
}

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
  ++stats_.connect_failures;
  backoff_ = std::clamp(backoff_ * 2, options_.min_reconnect_backoff,
                        options_.max_reconnect_backoff);
  next_connect_ = absl::Now() + backoff_;
  // libpq's messages name host and port, never the password.
  return absl::UnavailableError(
      absl::StrCat("cannot connect to the database: ", error));
}

absl::Status PgPool::Acquire(Lent& lent) {
  {
    std::unique_lock lock(mu_);
    const auto available = [&] {
      return !idle_.empty() || open_ < options_.size;
    };
    if (!available()) {
      ++stats_.waits;
      const absl::Time deadline = CurrentCallDeadline();
      const absl::Time give_up =
          std::min(absl::Now() + options_.acquire_timeout, deadline);
      if (!freed_.wait_for(lock,
                           absl::ToChronoNanoseconds(give_up - absl::Now()),
                           available)) {
        ++stats_.acquire_timeouts;
        if (give_up == deadline) {
          return absl::DeadlineExceededError(
              "the call's deadline passed waiting for a database connection");
        }
        return absl::ResourceExhaustedError(
            absl::StrCat("no database connection free within ",
                         absl::FormatDuration(options_.acquire_timeout)));
      }
    }
    if (!idle_.empty()) {
      lent = std::move(idle_.back());
      idle_.pop_back();
      return absl::OkStatus();
    }
    ++open_;  // reserve the slot while connecting outside the lock
    lent.generation = generation_;
    // A new connection has no plans to drop.
    lent.plan_generation = plan_generation_.load();
  }
  absl::Status status = Connect(lent.connection);
  if (!status.ok()) {
    std::lock_guard lock(mu_);
    --open_;
    freed_.notify_one();
  }
  return status;
}

void PgPool::Return(Lent lent, bool healthy) {
  std::lock_guard lock(mu_);
  if (healthy && lent.generation == generation_ &&
      lent.connection->is_open()) {
    idle_.push_back(std::move(lent));
  } else {
    --open_;
  }
  freed_.notify_one();
}

void PgPool::DropConnections() {
  std::vector<Lent> dropped;
  {
    std::lock_guard lock(mu_);
    ++generation_;
    open_ -= static_cast<int>(idle_.size());
    dropped.swap(idle_);
    // Failed connects back off; the database may be back by now.
    next_connect_ = absl::InfinitePast();
    backoff_ = absl::ZeroDuration();
  }
  freed_.notify_all();
  // Closed outside the lock: closing a connection may wait on the network.
}

void PgPool::ReplanStatements() {
  if (options_.prepared_statements) ++plan_generation_;
}

PgPool::Stats PgPool::stats() {
  std::lock_guard lock(mu_);
  Stats stats = stats_;
  stats.open = open_;
  stats.in_use = open_ - static_cast<int>(idle_.size());
  return stats;
}

uint64_t PgPool::StartWatching(pqxx::connection& connection,
                               absl::Time deadline) {
  std::lock_guard lock(watch_mu_);
  const uint64_t key = next_watch_key_++;
  const bool earliest =
      std::all_of(watched_.begin(), watched_.end(), [&](const auto& entry) {
        return entry.second.deadline > deadline;
      });
  watched_.emplace(key, Watched{&connection, deadline});
  if (earliest) watch_changed_.notify_all();
  return key;
}

void PgPool::StopWatching(uint64_t key) {
  std::unique_lock lock(watch_mu_);
  // A cancel on its way could otherwise hit the connection's next statement.
  watch_changed_.wait(lock, [&] {
    const auto found = watched_.find(key);
    return found == watched_.end() || !found->second.cancelling;
  });
  watched_.erase(key);
}

void PgPool::Watch() {
  std::unique_lock lock(watch_mu_);
  while (!stopping_) {
    absl::Time next = absl::InfiniteFuture();
    const absl::Time now = absl::Now();
    for (auto& [key, watched] : watched_) {
      if (watched.cancelling) continue;
      if (watched.deadline <= now) {
        watched.cancelling = true;
        pqxx::connection* connection = watched.connection;
        lock.unlock();
        try {
          // PQcancel: a separate connection to the postmaster, which signals
          // the backend; returns once the request was delivered.
          connection->cancel_query();
        } catch (const std::exception&) {
          // The connection is gone already; the statement fails anyway.
        }
        {
          std::lock_guard stats_lock(mu_);
          ++stats_.cancelled_statements;
        }
        lock.lock();
        watched_.at(key).cancelling = false;
        watched_.at(key).deadline = absl::InfiniteFuture();
        watch_changed_.notify_all();
        next = now;  // the map may have changed: scan again
        break;
      }
      next = std::min(next, watched.deadline);
    }
    if (next <= now) continue;
    if (next == absl::InfiniteFuture()) {
      watch_changed_.wait(lock);
    } else {
      watch_changed_.wait_for(lock, absl::ToChronoNanoseconds(next - now));
    }
  }
}

const std::string& PgPool::StatementText(const std::string& name) const {
  const auto found = statements_.find(name);
  if (found == statements_.end()) {
    throw std::invalid_argument(absl::StrCat("no statement named ", name));
  }
  return found->second;
}

absl::Status PgPool::Run(const Work& work) {
  absl::Time deadline = CurrentCallDeadline();
  if (options_.statement_timeout > absl::ZeroDuration()) {
    deadline = std::min(deadline, absl::Now() + options_.statement_timeout);
  }
  if (deadline <= absl::Now()) {
    return absl::DeadlineExceededError("the call's deadline has passed");
  }
  Lent lent;
  absl::Status status = Acquire(lent);
  if (!status.ok()) return status;
  const bool watched = deadline != absl::InfiniteFuture();
  const uint64_t key =
      watched ? StartWatching(*lent.connection, deadline) : 0;
  bool healthy = true;
  try {
    const uint64_t plans = plan_generation_.load();
    if (lent.plan_generation != plans) {
      pqxx::nontransaction(*lent.connection).exec0(kDiscardPlans);
      lent.plan_generation = plans;
    }
    status = work(*lent.connection);
  } catch (...) {
    DatabaseFailure failure = CurrentDatabaseFailure();
    healthy = !failure.connection_lost;
    status = std::move(failure.status);
  }
  if (watched) StopWatching(key);
  Return(std::move(lent), healthy);
  return status;
}

}  // namespace cycle_claimer
