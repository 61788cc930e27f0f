// The server behind PgBouncer in transaction pooling mode, as it runs before
// PgBouncer 1.21: calls go through the pooler with prepared statements off,
// while migrations, the schema keeper and LISTEN go straight to PostgreSQL.
// PgBouncer hands each transaction to whichever of its few server
// connections is free, so nothing on the request path may rely on the state
// of a session.

#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "server/storage/cycle_repository.h"
#include "tests/support/claim_race.h"
#include "tests/support/pgbouncer.h"
#include "tests/support/server_fixture.h"

namespace cycle_claimer::testing {
namespace {

namespace v1 = kimp::cycles::v1;

// PgBouncer's server connections for the test database: fewer than the
// server's pool, so that its connections take turns on them.
constexpr int kServerConnections = 4;

// One row of PgBouncer's SHOW POOLS for the test database.
struct PoolRow {
  std::string pool_mode;
  int active_servers = 0;  // sv_active: linked to a client (in a transaction)
  int servers = 0;         // every server connection, in any state
};

class PgBouncerTest : public ServerTest {
 protected:
  void SetUp() override {
    auto started = PgBouncer::Start({.upstream_url = db_.url(),
                                     .pool_mode = "transaction",
                                     .default_pool_size = kServerConnections});
    ASSERT_TRUE(started.ok()) << started.status();
    bouncer_ = *std::move(started);
    StartServer(BehindPgBouncer());
  }

  void TearDown() override {
    ServerTest::TearDown();
    bouncer_.reset();
  }

  // DefaultOptions (coalescing on), with calls through PgBouncer.
  ServerOptions BehindPgBouncer() const {
    ServerOptions options = DefaultOptions();
    options.database_url = bouncer_->Url(db_.name());
    options.direct_database_url = db_.url();
    options.prepared_statements = false;
    return options;
  }

  PoolRow Pool() const {
    PoolRow pool;
    for (auto& row : bouncer_->Admin("SHOW POOLS")) {
      if (row["database"] != db_.name()) continue;
      const auto count = [&row](const char* column) {
        return std::stoi(row[column]);
      };
      pool.pool_mode = row["pool_mode"];
      pool.active_servers += count("sv_active");
      pool.servers += count("sv_active") + count("sv_idle") + count("sv_used") +
                      count("sv_tested") + count("sv_login");
    }
    return pool;
  }

  // Transactions PgBouncer has carried for the test database.
  int64_t PooledTransactions() const {
    for (auto& row : bouncer_->Admin("SHOW STATS")) {
      if (row["database"] == db_.name()) {
        return std::stoll(row["total_xact_count"]);
      }
    }
    return 0;
  }

  // Waits (up to 5 s) until no server connection is held by a client: none
  // was left inside a transaction.
  void AwaitNoTransactionOpen() {
    const absl::Time deadline = absl::Now() + absl::Seconds(5);
    while (Pool().active_servers != 0 && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(20));
    }
    EXPECT_EQ(Pool().active_servers, 0)
        << "a server connection is still held: a transaction was left open";
  }

  std::unique_ptr<PgBouncer> bouncer_;
};

class PgBouncerRaceTest : public PgBouncerTest,
                          public ::testing::WithParamInterface<RaceMode> {};

INSTANTIATE_TEST_SUITE_P(
    Modes, PgBouncerRaceTest,
    ::testing::Values(RaceMode{"Unary32WorkersCoalesced", 32, 1, true},
                      RaceMode{"BatchOf10With32WorkersCoalesced", 32, 10,
                               true}),
    [](const ::testing::TestParamInfo<RaceMode>& info) {
      return info.param.name;
    });

TEST_P(PgBouncerRaceTest, WorkersCompleteEveryCycleExactlyOnceThroughThePool) {
  constexpr int kCycles = 10000;
  ServerOptions options = BehindPgBouncer();
  options.coalesce = GetParam().coalesce;
  StartServer(options);
  InsertCycles(kCycles);
  RunClaimRace(
      GetParam(), kCycles, [this] { return NewChannel(); }, db_);

  // The calls went through PgBouncer, in transaction mode, on at most its
  // few server connections: every claim and completion statement serves at
  // most kMaxClaimSlots cycles, each in a transaction of its own.
  const PoolRow pool = Pool();
  EXPECT_EQ(pool.pool_mode, "transaction");
  EXPECT_LE(pool.servers, kServerConnections);
  EXPECT_GE(PooledTransactions(), 2 * kCycles / kMaxClaimSlots);
  AwaitNoTransactionOpen();
}

TEST_F(PgBouncerTest, LeaseCallsAndTheFailTransactionWorkThroughThePool) {
  InsertCycles(3);
  client::CycleClient client = NewClient();

  auto failing = client.Claim("worker-a");
  ASSERT_TRUE(failing.ok()) << failing.status();
  ASSERT_TRUE(failing->has_value());
  const v1::Cycle held = **failing;
  auto renewed = client.Renew(held.id(), held.lease_token(), absl::Minutes(30));
  ASSERT_TRUE(renewed.ok()) << renewed.status();
  // Fail runs two statements in one transaction (BEGIN ... COMMIT), which
  // PgBouncer keeps on one server connection.
  auto failed = client.Fail(held.id(), held.lease_token(), "exchange timeout");
  ASSERT_TRUE(failed.ok()) << failed.status();
  EXPECT_EQ(failed->status(), v1::CYCLE_STATUS_AWAITING_RETRY);
  EXPECT_EQ(failed->retry_count(), 1);
  // A stale token: Fail's transaction finds no held lease and rolls back.
  EXPECT_EQ(client.Fail(held.id(), held.lease_token(), "again").status().code(),
            absl::StatusCode::kFailedPrecondition);

  auto released = client.Claim("worker-b");
  ASSERT_TRUE(released.ok() && released->has_value()) << released.status();
  ASSERT_TRUE(
      client.Release((*released)->id(), (*released)->lease_token()).ok());
  auto completed = client.Claim("worker-c");
  ASSERT_TRUE(completed.ok() && completed->has_value()) << completed.status();
  v1::CompleteCycleRequest done;
  done.set_cycle_id((*completed)->id());
  done.set_lease_token((*completed)->lease_token());
  ASSERT_TRUE(client.Complete(done).ok());

  auto stats = client.Stats();
  ASSERT_TRUE(stats.ok()) << stats.status();
  v1::ListCyclesRequest all;
  auto listed = client.List(all);
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_EQ(listed->cycles_size(), 3);

  EXPECT_EQ(db_.Scalar<std::string>(
                "SELECT status::text || ' ' || retry_count || ' ' || "
                "failure_reason FROM arbitrage_cycles WHERE id = '" +
                held.id() + "'"),
            "AWAITING_RETRY 1 exchange timeout");
  EXPECT_EQ(db_.Scalar<int>("SELECT count(*) FROM arbitrage_cycles "
                            "WHERE status = 'COMPLETED'"),
            1);
  AwaitNoTransactionOpen();
}

TEST_F(PgBouncerTest, ALongPollIsWokenByTheDirectListenConnection) {
  // Sooner than the 5 s fallback poll: the wake-up came by NOTIFY, which a
  // LISTEN through the transaction pooler would not receive.
  constexpr absl::Duration kWokenWithin = absl::Seconds(3);
  auto answer = std::async(std::launch::async, [this] {
    client::CycleClient client = NewClient();
    v1::ClaimNextCycleRequest request;
    request.set_worker_id("waiter");
    request.mutable_wait_timeout()->set_seconds(20);
    return client.ClaimNext(request);
  });
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (server_->waiting_claims() != 1 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  ASSERT_EQ(server_->waiting_claims(), 1);
  const absl::Time inserted = absl::Now();
  const std::string id = db_.Scalar<std::string>(
      "INSERT INTO arbitrage_cycles (status) VALUES ('AWAITING_REBALANCE') "
      "RETURNING id::text");
  ASSERT_EQ(answer.wait_for(absl::ToChronoNanoseconds(absl::Seconds(10))),
            std::future_status::ready);
  const absl::Duration waited = absl::Now() - inserted;
  auto response = answer.get();
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->cycle().id(), id);
  EXPECT_LT(waited, kWokenWithin);
}

TEST_F(PgBouncerTest, TheSchemaKeeperRebuildsADroppedIndexOverTheDirectUrl) {
  // The keeper sets lock_timeout and takes a session advisory lock, so it
  // works only on a session of its own.
  const auto built_within_10s = [this] {
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    for (;;) {
      const bool present = db_.Scalar<bool>(
          "SELECT EXISTS (SELECT FROM pg_index i JOIN pg_class c "
          "ON c.oid = i.indexrelid WHERE c.relname = "
          "'cycle_claimer_claimable_idx' AND i.indisvalid)");
      if (present || absl::Now() > deadline) return present;
      absl::SleepFor(absl::Milliseconds(50));
    }
  };
  ASSERT_TRUE(built_within_10s());  // at start
  db_.Exec("DROP INDEX public.cycle_claimer_claimable_idx");
  EXPECT_TRUE(built_within_10s());
}

}  // namespace
}  // namespace cycle_claimer::testing
