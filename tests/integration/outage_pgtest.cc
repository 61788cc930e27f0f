// A lost database gets UNAVAILABLE, the server stays up, and it recovers on
// its own when the database is back.

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include <set>

#include "tests/support/private_postgres.h"
#include "tests/support/server_fixture.h"

namespace cycle_claimer::testing {
namespace {

namespace v1 = kimp::cycles::v1;

int UnusedPort() {
  // Bound by nobody: the test PostgreSQL listens elsewhere, and connections
  // here are refused at once.
  return 1;
}

class OutageTest : public ServerTest {};

TEST_F(OutageTest, UnreachableDatabaseGivesUnavailableAndTheServerStaysUp) {
  ServerOptions options = DefaultOptions();
  options.database_url = absl::StrCat(
      "postgresql://postgres@127.0.0.1:", UnusedPort(), "/nowhere");
  options.migrate = false;
  StartServer(options);
  client::CycleClient client = NewClient();
  for (int i = 0; i < 3; ++i) {
    auto claimed = client.Claim("w");
    EXPECT_EQ(claimed.status().code(), absl::StatusCode::kUnavailable)
        << claimed.status();
    EXPECT_EQ(client.Release("11111111-2222-4333-8444-555555555555", 1)
                  .status()
                  .code(),
              absl::StatusCode::kUnavailable);
  }
  // Bad input is still refused as bad input, without a database.
  EXPECT_EQ(client.Claim("").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(OutageTest, RecoversAfterItsDatabaseConnectionsAreKilled) {
  InsertCycles(20);
  client::CycleClient client = NewClient();
  auto first = client.Claim("w");
  ASSERT_TRUE(first.ok() && first->has_value()) << first.status();

  // Kill every backend the server holds, as a database restart would.
  const int killed = db_.Scalar<int>(
      "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
      "WHERE datname = current_database() AND pid <> pg_backend_pid()");
  EXPECT_GE(killed, 1);

  // Calls may fail with UNAVAILABLE (never anything else) until the pool
  // has reconnected, which it does by itself.
  int claimed = 0;
  std::vector<std::string> unexpected;
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (claimed < 5 && absl::Now() < deadline) {
    auto next = client.Claim("w");
    if (next.ok()) {
      if (next->has_value()) ++claimed;
    } else if (next.status().code() != absl::StatusCode::kUnavailable) {
      unexpected.push_back(next.status().ToString());
    } else {
      absl::SleepFor(absl::Milliseconds(20));
    }
  }
  EXPECT_EQ(claimed, 5);
  EXPECT_TRUE(unexpected.empty()) << unexpected.front();
  // The lease taken before the outage still completes.
  v1::CompleteCycleRequest done;
  done.set_cycle_id((*first)->id());
  done.set_lease_token((*first)->lease_token());
  absl::StatusOr<v1::Cycle> completed = client.Complete(done);
  for (int i = 0; i < 50 && !completed.ok() &&
                  completed.status().code() == absl::StatusCode::kUnavailable;
       ++i) {
    completed = client.Complete(done);
  }
  EXPECT_TRUE(completed.ok()) << completed.status();
  // No cycle is held twice: six claims, six distinct leased cycles.
  EXPECT_EQ(
      db_.Scalar<int>("SELECT count(*) FROM arbitrage_cycles WHERE "
                      "status IN ('REBALANCING_IN_PROGRESS', 'COMPLETED')"),
      6);
}

TEST_F(OutageTest, HealthReportsNotServingWhileTheDatabaseIsUnreachable) {
  ServerOptions options = DefaultOptions();
  options.database_url = absl::StrCat(
      "postgresql://postgres@127.0.0.1:", UnusedPort(), "/nowhere");
  options.migrate = false;
  options.health_check_interval = absl::Milliseconds(50);
  StartServer(options);
  client::CycleClient client = NewClient();
  absl::StatusOr<bool> serving = client.Serving();
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (serving.ok() && *serving && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(50));
    serving = client.Serving();
  }
  ASSERT_TRUE(serving.ok()) << serving.status();
  EXPECT_FALSE(*serving);
}

// Polls health until it reports `serving`; false when it did not in time.
bool AwaitServing(client::CycleClient& client, bool serving) {
  const absl::Time deadline = absl::Now() + absl::Seconds(15);
  while (absl::Now() < deadline) {
    const absl::StatusOr<bool> now = client.Serving();
    if (now.ok() && *now == serving) return true;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return false;
}

TEST_F(OutageTest, PostgresStoppedAndRestartedMidTest) {
  auto postgres = PrivatePostgres::Start();
  ASSERT_TRUE(postgres.ok()) << postgres.status();
  ServerOptions options = DefaultOptions();
  options.database_url = (*postgres)->url();
  options.health_check_interval = absl::Milliseconds(100);
  StartServer(options);
  constexpr int kCycles = 60;
  ASSERT_TRUE(server_->repository().InsertDemoCycles(kCycles).ok());
  client::CycleClient client = NewClient();
  ASSERT_TRUE(AwaitServing(client, true));

  // Leases taken before the outage: half completed before, half after.
  std::vector<v1::Cycle> held;
  for (int i = 0; i < 10; ++i) {
    auto claimed = client.Claim("before");
    ASSERT_TRUE(claimed.ok() && claimed->has_value()) << claimed.status();
    held.push_back(**claimed);
  }
  std::set<std::string> completed;
  const auto complete = [&](const v1::Cycle& cycle) {
    v1::CompleteCycleRequest done;
    done.set_cycle_id(cycle.id());
    done.set_lease_token(cycle.lease_token());
    return client.Complete(done);
  };
  for (int i = 0; i < 5; ++i) {
    auto done = complete(held[i]);
    ASSERT_TRUE(done.ok()) << done.status();
    completed.insert(held[i].id());
  }

  ASSERT_TRUE((*postgres)->Stop().ok());
  EXPECT_TRUE(AwaitServing(client, false)) << "health stayed SERVING";
  for (int i = 0; i < 3; ++i) {
    auto claimed = client.Claim("during");
    EXPECT_EQ(claimed.status().code(), absl::StatusCode::kUnavailable)
        << claimed.status();
    EXPECT_EQ(complete(held[5]).status().code(),
              absl::StatusCode::kUnavailable);
  }

  ASSERT_TRUE((*postgres)->Restart().ok());
  EXPECT_TRUE(AwaitServing(client, true)) << "health stayed NOT_SERVING";
  // Once health says SERVING, calls work at the first try: the pool dropped
  // its connections from before the outage.
  for (int i = 5; i < 10; ++i) {
    auto done = complete(held[i]);
    ASSERT_TRUE(done.ok()) << done.status();
    completed.insert(held[i].id());
  }
  for (;;) {
    auto claimed = client.Claim("after");
    ASSERT_TRUE(claimed.ok()) << claimed.status();
    if (!claimed->has_value()) break;
    EXPECT_FALSE(completed.contains((*claimed)->id()))
        << "handed out twice: " << (*claimed)->id();
    auto done = complete(**claimed);
    ASSERT_TRUE(done.ok()) << done.status();
    completed.insert((*claimed)->id());
  }
  EXPECT_EQ(completed.size(), static_cast<std::size_t>(kCycles));
  // Read back from the table: every cycle completed, none held.
  pqxx::connection connection((*postgres)->url());
  pqxx::nontransaction tx(connection);
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM arbitrage_cycles WHERE status = "
                     "'COMPLETED' AND end_time IS NOT NULL")[0]
                .as<int>(),
            kCycles);
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM cycle_claimer.cycle_leases "
                     "WHERE locked_by IS NOT NULL")[0]
                .as<int>(),
            0);
}

TEST_F(OutageTest, HealthReportsServingWithTheDatabaseUp) {
  client::CycleClient client = NewClient();
  absl::StatusOr<bool> serving = client.Serving();
  ASSERT_TRUE(serving.ok()) << serving.status();
  EXPECT_TRUE(*serving);
}

}  // namespace
}  // namespace cycle_claimer::testing
