// The migration against what kimP's TypeORM apps create and do: it changes
// nothing that exists, creates exactly TypeORM's table where none exists, and
// the claim index survives synchronize dropping it under load.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "server/sql/sql_catalog.h"
#include "server/storage/pg_pool.h"
#include "server/storage/schema_manager.h"
#include "tests/support/server_fixture.h"

namespace cycle_claimer::testing {
namespace {

namespace v1 = kimp::cycles::v1;

std::string ReadFixture(const std::string& name) {
  std::ifstream file(absl::StrCat(CYCLE_CLAIMER_FIXTURES_DIR, "/", name));
  std::stringstream text;
  text << file.rdbuf();
  EXPECT_FALSE(text.str().empty()) << "missing fixture " << name;
  return text.str();
}

// Everything TypeORM compares when it synchronizes arbitrage_cycles: columns
// with types, nullability and defaults; constraints; indexes; enum labels.
std::string DescribeArbitrageCycles(TestDatabase& db) {
  return db.Scalar<std::string>(R"sql(
    SELECT concat_ws(E'\n',
      (SELECT string_agg(format('%s %s %s %s', column_name, udt_name,
                                is_nullable, column_default),
                         E'\n' ORDER BY ordinal_position)
         FROM information_schema.columns
        WHERE table_schema = 'public' AND table_name = 'arbitrage_cycles'),
      (SELECT string_agg(conname || ' ' || pg_get_constraintdef(oid), E'\n'
                         ORDER BY conname)
         FROM pg_constraint WHERE conrelid = 'public.arbitrage_cycles'::regclass),
      (SELECT string_agg(indexdef, E'\n' ORDER BY indexname)
         FROM pg_indexes
        WHERE schemaname = 'public' AND tablename = 'arbitrage_cycles'),
      (SELECT string_agg(enumlabel, ',' ORDER BY enumsortorder)
         FROM pg_enum
        WHERE enumtypid = 'public.arbitrage_cycles_status_enum'::regtype))
  )sql");
}

std::string DescribeServiceSchema(TestDatabase& db) {
  return db.Scalar<std::string>(R"sql(
    SELECT concat_ws(E'\n',
      (SELECT string_agg(format('%s.%s %s %s %s', table_name, column_name,
                                udt_name, is_nullable, column_default),
                         E'\n' ORDER BY table_name, ordinal_position)
         FROM information_schema.columns WHERE table_schema = 'cycle_claimer'),
      (SELECT string_agg(indexdef, E'\n' ORDER BY indexname)
         FROM pg_indexes WHERE schemaname = 'cycle_claimer'),
      (SELECT string_agg(format('%s %s %s', version, name, applied_at), E'\n'
                         ORDER BY version)
         FROM cycle_claimer.schema_migrations))
  )sql");
}

std::string AllRows(TestDatabase& db) {
  return db.Scalar<std::string>(
      "SELECT coalesce(string_agg(t::text, E'\\n' ORDER BY id), '') "
      "FROM arbitrage_cycles t");
}

// Rows as kimP writes them: every status, NULLs, extreme amounts.
constexpr char kKimpRows[] = R"sql(
  INSERT INTO arbitrage_cycles (id, start_time, end_time, status,
      initial_trade_id, rebalance_trade_id, total_net_profit_krw,
      total_net_profit_percent, initial_investment_krw, error_details,
      locked_at, retry_count, last_retry_at, next_retry_at, failure_reason)
  SELECT uuid_generate_v4(),
         '2025-06-01 00:00:00'::timestamp + g * interval '1 hour',
         CASE WHEN g % 2 = 0 THEN '2025-07-01 12:00:00.5'::timestamp END,
         (enum_range(NULL::arbitrage_cycles_status_enum))[1 + g % 9],
         uuid_generate_v4(),
         CASE WHEN g % 3 = 0 THEN uuid_generate_v4() END,
         CASE WHEN g % 4 = 0 THEN -9999999999999999.9999 ELSE g * 1.2345 END,
         CASE WHEN g % 5 = 0 THEN 999999.9999 END,
         1000000,
         CASE WHEN g % 6 = 0 THEN E'line one\nline ''two''' END,
         CASE WHEN g % 7 = 0 THEN '2025-06-02'::timestamp END,
         g % 4,
         NULL, NULL,
         CASE WHEN g % 8 = 0 THEN 'timeout' END
  FROM generate_series(1, 40) AS g
)sql";

class MigrationTest : public ::testing::Test {
 protected:
  TestDatabase db_;
};

TEST_F(MigrationTest, MigratingTwiceChangesNothing) {
  SchemaManager schema(db_.url());
  ASSERT_TRUE(schema.Migrate().ok());
  db_.Exec(kKimpRows);
  const std::string table = DescribeArbitrageCycles(db_);
  const std::string ours = DescribeServiceSchema(db_);
  const std::string rows = AllRows(db_);
  const absl::Status again = schema.Migrate();
  ASSERT_TRUE(again.ok()) << again;
  EXPECT_EQ(DescribeArbitrageCycles(db_), table);
  EXPECT_EQ(DescribeServiceSchema(db_), ours);
  EXPECT_EQ(AllRows(db_), rows);
}

TEST_F(MigrationTest, OnTypeOrmsTableKeepsEveryRowColumnAndConstraint) {
  db_.Exec(ReadFixture("typeorm_arbitrage_cycles.sql"));
  db_.Exec(kKimpRows);
  const std::string table = DescribeArbitrageCycles(db_);
  const std::string rows = AllRows(db_);
  ASSERT_EQ(db_.Scalar<int>("SELECT count(*) FROM arbitrage_cycles"), 40);
  const absl::Status migrated = SchemaManager(db_.url()).Migrate();
  ASSERT_TRUE(migrated.ok()) << migrated;
  EXPECT_EQ(DescribeArbitrageCycles(db_), table);
  EXPECT_EQ(AllRows(db_), rows);
  EXPECT_EQ(db_.Scalar<size_t>(
                "SELECT count(*) FROM cycle_claimer.schema_migrations"),
            std::size(sql::kMigrations));
}

TEST_F(MigrationTest, OnAnEmptyDatabaseCreatesExactlyTypeOrmsTable) {
  ASSERT_TRUE(SchemaManager(db_.url()).Migrate().ok());
  TestDatabase typeorm;
  typeorm.Exec(ReadFixture("typeorm_arbitrage_cycles.sql"));
  // What TypeORM's synchronize compares is identical, so it changes nothing.
  EXPECT_EQ(DescribeArbitrageCycles(db_), DescribeArbitrageCycles(typeorm));
}

TEST_F(MigrationTest, ConcurrentReplicasMigrateOnce) {
  std::vector<std::thread> replicas;
  std::atomic<int> failures{0};
  for (int i = 0; i < 4; ++i) {
    replicas.emplace_back([&] {
      if (!SchemaManager(db_.url()).Migrate().ok()) ++failures;
    });
  }
  for (std::thread& replica : replicas) replica.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(db_.Scalar<size_t>(
                "SELECT count(*) FROM cycle_claimer.schema_migrations"),
            std::size(sql::kMigrations));
}

// The plan PostgreSQL makes now for a claim of `slots` slots, as text.
std::string ClaimPlan(TestDatabase& db, int slots) {
  std::string text(sql::kClaimCycles.text);
  const std::size_t marker = text.find(kSlotsMarker);
  text.replace(marker, std::strlen(kSlotsMarker), std::to_string(slots));
  std::vector<std::string> workers(slots, "w"), requests(slots, "");
  std::vector<int64_t> leases(slots, 30'000'000);
  const auto array = [](const auto& items) {
    return absl::StrCat("{", absl::StrJoin(items, ",", [](std::string* out,
                                                          const auto& item) {
                          absl::StrAppend(out, "\"", item, "\"");
                        }),
                        "}");
  };
  auto connection = db.Connect();
  pqxx::nontransaction tx(*connection);
  std::string plan;
  for (const pqxx::row& row :
       tx.exec_params(absl::StrCat("EXPLAIN ", text), array(workers),
                      array(leases), array(requests), 5, 300'000'000)) {
    absl::StrAppend(&plan, row[0].c_str(), "\n");
  }
  return plan;
}

TEST_F(MigrationTest, TableWithRowsButNoStatisticsIsAnalyzedForTheClaim) {
  SchemaManager schema(db_.url());
  ASSERT_TRUE(schema.Migrate().ok());
  ASSERT_TRUE(schema.EnsureKeptObjects().ok());  // the claim index
  // Autovacuum would gather them too, up to a minute later; not here.
  db_.Exec("ALTER TABLE arbitrage_cycles SET (autovacuum_enabled = false)");
  absl::StatusOr<bool> analyzed = schema.EnsureClaimStatistics();
  ASSERT_TRUE(analyzed.ok()) << analyzed.status();
  EXPECT_FALSE(*analyzed) << "an empty table has nothing to sample";

  // A new deployment's first burst: 4,000 cycles awaiting rebalance.
  db_.Exec(R"sql(
    INSERT INTO arbitrage_cycles (start_time, status, initial_trade_id)
    SELECT timezone('UTC', now()) - g * interval '1 ms', 'AWAITING_REBALANCE',
           gen_random_uuid()
    FROM generate_series(1, 4000) AS g)sql");
  // Blind, the planner takes the 4,000 claimable rows for a handful and
  // sorts them all for a claim of 10 slots. (A plan cached by a prepared
  // statement keeps that choice while the table grows, until an ANALYZE.)
  const std::string blind = ClaimPlan(db_, 10);
  EXPECT_THAT(blind, ::testing::HasSubstr("Sort Key: c.start_time, c.id"));

  analyzed = schema.EnsureClaimStatistics();
  ASSERT_TRUE(analyzed.ok()) << analyzed.status();
  EXPECT_TRUE(*analyzed);
  EXPECT_EQ(db_.Scalar<int>("SELECT count(*) FROM pg_stats WHERE tablename = "
                            "'arbitrage_cycles' AND attname = 'status'"),
            1);
  // With statistics: the claim index, read in order, stopping at 10.
  const std::string informed = ClaimPlan(db_, 10);
  EXPECT_THAT(informed, ::testing::HasSubstr(
                            "Index Scan using cycle_claimer_claimable_idx"));
  EXPECT_THAT(informed, ::testing::Not(::testing::HasSubstr(
                            "Sort Key: c.start_time, c.id")));

  analyzed = schema.EnsureClaimStatistics();
  ASSERT_TRUE(analyzed.ok()) << analyzed.status();
  EXPECT_FALSE(*analyzed) << "statistics exist; autovacuum keeps them";
}

// The plan a pool connection has cached for its prepared 1-slot claim.
std::string CachedClaimPlan(PgPool& pool) {
  std::string plan;
  const absl::Status ran = pool.Run([&](pqxx::connection& connection) {
    pqxx::nontransaction tx(connection);
    const std::string name =
        SizedStatementName(std::string(sql::kClaimCycles.name), 1);
    for (const pqxx::row& row :
         tx.exec(absl::StrCat("EXPLAIN EXECUTE ", tx.quote_name(name),
                              "('{w}', '{30000000}', '{\"\"}', 5, "
                              "300000000)"))) {
      absl::StrAppend(&plan, row[0].c_str(), "\n");
    }
    return absl::OkStatus();
  });
  EXPECT_TRUE(ran.ok()) << ran;
  return plan;
}

TEST_F(MigrationTest, ReplanningDropsAPlanMadeWhileLeasesWereEmpty) {
  SchemaManager schema(db_.url());
  ASSERT_TRUE(schema.Migrate().ok());
  ASSERT_TRUE(schema.EnsureKeptObjects().ok());
  // Only this test's statements change what PostgreSQL knows of the tables.
  db_.Exec(R"sql(
    ALTER TABLE arbitrage_cycles SET (autovacuum_enabled = false);
    ALTER TABLE cycle_claimer.cycle_leases SET (autovacuum_enabled = false);
    INSERT INTO arbitrage_cycles (start_time, status, initial_trade_id)
    SELECT timezone('UTC', now()) - g * interval '1 ms', 'AWAITING_REBALANCE',
           gen_random_uuid()
    FROM generate_series(1, 1000) AS g;
    ANALYZE arbitrage_cycles)sql");
  db_.Exec("VACUUM ANALYZE cycle_claimer.cycle_leases");

  PgPool pool({.database_url = db_.url(), .size = 1});
  // Claims one cycle, which prepares the statement; the setting makes the
  // connection keep one plan, as PostgreSQL does after five runs.
  const absl::Status claimed = pool.Run([&](pqxx::connection& connection) {
    pqxx::nontransaction tx(connection);
    tx.exec("SET plan_cache_mode = force_generic_plan");
    pool.Exec(tx, SizedStatementName(std::string(sql::kClaimCycles.name), 1),
              "{w}", "{30000000}", "{\"\"}", 5, int64_t{300'000'000});
    return absl::OkStatus();
  });
  ASSERT_TRUE(claimed.ok()) << claimed;
  // Planned for an empty cycle_leases: the lease is read by a scan of it all.
  const std::string empty = CachedClaimPlan(pool);
  EXPECT_THAT(empty, ::testing::HasSubstr("Seq Scan on cycle_leases"));

  // Leases of 50,000 finished cycles later, the cached plan still scans.
  db_.Exec(R"sql(
    WITH done AS (
      INSERT INTO arbitrage_cycles (start_time, status, initial_trade_id)
      SELECT timezone('UTC', now()) - interval '1 day' + g * interval '1 ms',
             'COMPLETED', gen_random_uuid()
      FROM generate_series(1, 50000) AS g
      RETURNING id)
    INSERT INTO cycle_claimer.cycle_leases (cycle_id, lease_token)
    SELECT id, 1 FROM done)sql");
  EXPECT_THAT(CachedClaimPlan(pool),
              ::testing::HasSubstr("Seq Scan on cycle_leases"));

  pool.ReplanStatements();
  const std::string replanned = CachedClaimPlan(pool);
  EXPECT_THAT(replanned,
              ::testing::HasSubstr("Index Scan using cycle_leases_pkey"));
  EXPECT_THAT(replanned,
              ::testing::Not(::testing::HasSubstr("Seq Scan on cycle_leases")));
}

class ClaimIndexTest : public ServerTest {};

TEST_F(ClaimIndexTest,
       DroppedWhileWorkersRunLosesNoClaimNorFencingAndComesBack) {
  constexpr int kCycles = 1000;
  constexpr int kWorkers = 8;
  InsertCycles(kCycles);
  SchemaManager schema(db_.url());

  std::atomic<bool> done{false};
  std::atomic<int> drops{0};
  std::atomic<int> drop_failures{0};
  std::thread synchronize([&] {
    // What TypeORM's synchronize does to an index its entity does not declare.
    auto connection = db_.Connect();
    while (!done.load()) {
      try {
        pqxx::nontransaction tx(*connection);
        tx.exec("DROP INDEX IF EXISTS public.cycle_claimer_claimable_idx");
        ++drops;
      } catch (const pqxx::failure&) {
        // Racing the server's CREATE INDEX CONCURRENTLY can end in a
        // deadlock that PostgreSQL breaks by failing one side; see
        // schema_manager.cc. Like a restarted TypeORM app, try again.
        ++drop_failures;
      }
      absl::SleepFor(absl::Milliseconds(150));
    }
  });

  std::mutex mu;
  std::map<std::string, int> grants;
  std::vector<std::string> errors;
  std::vector<std::thread> workers;
  for (int w = 0; w < kWorkers; ++w) {
    workers.emplace_back([&, w] {
      client::CycleClient client = NewClient();
      for (;;) {
        auto claimed = client.Claim(absl::StrCat("w", w));
        if (!claimed.ok() || !claimed->has_value()) {
          if (!claimed.ok()) {
            std::lock_guard lock(mu);
            errors.push_back(claimed.status().ToString());
          }
          return;
        }
        v1::CompleteCycleRequest request;
        request.set_cycle_id((*claimed)->id());
        request.set_lease_token((*claimed)->lease_token());
        const absl::Status first = client.Complete(request).status();
        // Fencing holds too: the same completion a second time is refused.
        const absl::Status second = client.Complete(request).status();
        std::lock_guard lock(mu);
        ++grants[(*claimed)->id()];
        if (!first.ok())
          errors.push_back(absl::StrCat("complete: ", first.ToString()));
        if (second.code() != absl::StatusCode::kFailedPrecondition) {
          errors.push_back(
              absl::StrCat("second complete: ", second.ToString()));
        }
      }
    });
  }
  for (std::thread& worker : workers) worker.join();
  done = true;
  synchronize.join();

  EXPECT_GE(drops.load(), 2);
  RecordProperty("failed_drops", drop_failures.load());
  EXPECT_TRUE(errors.empty())
      << errors.size() << " errors, first: " << errors[0];
  EXPECT_EQ(grants.size(), static_cast<size_t>(kCycles));
  for (const auto& [id, count] : grants) EXPECT_EQ(count, 1) << id;
  EXPECT_EQ(
      db_.Scalar<int>(
          "SELECT count(*) FROM arbitrage_cycles WHERE status = 'COMPLETED'"),
      kCycles);

  // The index keeper (every 200 ms here) builds it again.
  bool present = false;
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (!present && absl::Now() < deadline) {
    absl::StatusOr<bool> found = schema.IndexPresent(kClaimIndexName);
    ASSERT_TRUE(found.ok()) << found.status();
    present = *found;
    if (!present) absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_TRUE(present) << "the claim index was not re-created";
}

}  // namespace
}  // namespace cycle_claimer::testing
