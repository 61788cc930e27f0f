// A statement never outlives the call it serves: at the RPC's deadline the
// server cancels it in PostgreSQL, and nothing it would have done happens.

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/support/server_fixture.h"

namespace cycle_claimer::testing {
namespace {

namespace v1 = kimp::cycles::v1;

class DeadlineTest : public ServerTest {};

// Statements of the server's that wait for a lock right now.
int WaitingStatements(TestDatabase& db) {
  return db.Scalar<int>(
      "SELECT count(*) FROM pg_stat_activity WHERE datname = "
      "current_database() AND pid <> pg_backend_pid() AND state = 'active' "
      "AND wait_event_type = 'Lock'");
}

TEST_F(DeadlineTest, StatementIsCancelledAtTheCallsDeadline) {
  InsertCycles(1);
  client::CycleClient client = NewClient();
  auto claimed = client.Claim("w");
  ASSERT_TRUE(claimed.ok() && claimed->has_value()) << claimed.status();
  const v1::Cycle cycle = **claimed;

  // Another session holds the cycle's row: the renewal must wait for it.
  auto blocker = db_.Connect();
  pqxx::work hold(*blocker);
  hold.exec_params("SELECT 1 FROM arbitrage_cycles WHERE id = $1 FOR UPDATE",
                   cycle.id());

  v1::RenewLeaseRequest request;
  request.set_cycle_id(cycle.id());
  request.set_lease_token(cycle.lease_token());
  request.mutable_lease_duration()->set_seconds(3600);
  v1::RenewLeaseResponse response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::milliseconds(700));
  auto stub = NewStub();
  const absl::Time started = absl::Now();
  const grpc::Status status = stub->RenewLease(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED)
      << status.error_message();

  // The server's statement is gone from PostgreSQL soon after the deadline,
  // long before the 30 s statement_timeout.
  int waiting = WaitingStatements(db_);
  while (waiting > 0 && absl::Now() - started < absl::Seconds(10)) {
    absl::SleepFor(absl::Milliseconds(50));
    waiting = WaitingStatements(db_);
  }
  EXPECT_EQ(waiting, 0) << "the renewal still waits in PostgreSQL";
  EXPECT_LT(absl::Now() - started, absl::Seconds(10));
  hold.commit();

  // Cancelled means not done: the lease still ends when it did.
  auto after = client.Get(cycle.id());
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->lease_expires_at().seconds(),
            cycle.lease_expires_at().seconds());
  // And the connection it ran on serves the next call normally.
  for (int i = 0; i < 10; ++i) {
    auto renewed = client.Renew(cycle.id(), cycle.lease_token(),
                                absl::Seconds(60));
    ASSERT_TRUE(renewed.ok()) << renewed.status();
  }
}

}  // namespace
}  // namespace cycle_claimer::testing
