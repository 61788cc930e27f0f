// Long-polling claims: woken by whatever makes a cycle claimable, served
// oldest first, and leaving nothing claimed when they give up.

#include <gtest/gtest.h>

#include <future>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/support/server_fixture.h"

namespace cycle_claimer::testing {
namespace {

namespace v1 = kimp::cycles::v1;

constexpr char kInsertOne[] =
    "INSERT INTO arbitrage_cycles (status, end_time) "
    "VALUES ('AWAITING_REBALANCE', NULL) RETURNING id::text";

class LongPollTest : public ServerTest {
 protected:
  // Starts a claim that waits up to `wait`; its answer arrives in the future.
  std::future<grpc::Status> Wait(const std::string& worker, absl::Duration wait,
                                 v1::ClaimNextCycleResponse* response,
                                 grpc::ClientContext* context = nullptr) {
    return std::async(std::launch::async, [=, this] {
      auto stub = NewStub();
      grpc::ClientContext own;
      grpc::ClientContext* used = context != nullptr ? context : &own;
      v1::ClaimNextCycleRequest request;
      request.set_worker_id(worker);
      request.mutable_lease_duration()->set_seconds(60);
      request.mutable_wait_timeout()->set_seconds(absl::ToInt64Seconds(wait));
      request.mutable_wait_timeout()->set_nanos(
          static_cast<int32_t>(absl::ToInt64Nanoseconds(wait) % 1000000000));
      return stub->ClaimNextCycle(used, request, response);
    });
  }
  // Blocks until `count` claims wait on the server.
  void AwaitWaiting(int count) {
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (server_->waiting_claims() != count && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(5));
    }
    ASSERT_EQ(server_->waiting_claims(), count);
  }
};

TEST_F(LongPollTest, AWaiterReceivesACycleInsertedByPlainSql) {
  v1::ClaimNextCycleResponse response;
  auto answer = Wait("waiter", absl::Seconds(20), &response);
  AwaitWaiting(1);
  const std::string id = db_.Scalar<std::string>(kInsertOne);
  ASSERT_EQ(answer.wait_for(std::chrono::seconds(10)),
            std::future_status::ready);
  ASSERT_TRUE(answer.get().ok());
  EXPECT_EQ(response.cycle().id(), id);
  EXPECT_EQ(response.cycle().locked_by(), "waiter");
}

TEST_F(LongPollTest, AWaiterIsWokenByAnUpdateToAwaitingRebalance) {
  const std::string id = db_.Scalar<std::string>(
      "INSERT INTO arbitrage_cycles (status) VALUES "
      "('INITIAL_TRADE_COMPLETED') "
      "RETURNING id::text");
  v1::ClaimNextCycleResponse response;
  auto answer = Wait("waiter", absl::Seconds(20), &response);
  AwaitWaiting(1);
  db_.Exec("UPDATE arbitrage_cycles SET status = 'AWAITING_REBALANCE'");
  ASSERT_EQ(answer.wait_for(std::chrono::seconds(10)),
            std::future_status::ready);
  ASSERT_TRUE(answer.get().ok());
  EXPECT_EQ(response.cycle().id(), id);
}

TEST_F(LongPollTest, WaitersAreServedOldestFirst) {
  v1::ClaimNextCycleResponse first, second, third;
  auto a = Wait("first", absl::Seconds(20), &first);
  AwaitWaiting(1);
  auto b = Wait("second", absl::Seconds(20), &second);
  AwaitWaiting(2);
  auto c = Wait("third", absl::Seconds(20), &third);
  AwaitWaiting(3);
  const std::string one = db_.Scalar<std::string>(kInsertOne);
  ASSERT_EQ(a.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(first.cycle().id(), one);
  AwaitWaiting(2);
  const std::string two = db_.Scalar<std::string>(kInsertOne);
  ASSERT_EQ(b.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(second.cycle().id(), two);
  AwaitWaiting(1);
  const std::string three = db_.Scalar<std::string>(kInsertOne);
  ASSERT_EQ(c.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(third.cycle().id(), three);
}

TEST_F(LongPollTest, ACancelledWaiterLeavesNoCycleClaimed) {
  grpc::ClientContext context;
  v1::ClaimNextCycleResponse response;
  auto answer = Wait("quitter", absl::Seconds(20), &response, &context);
  AwaitWaiting(1);
  context.TryCancel();
  ASSERT_EQ(answer.wait_for(std::chrono::seconds(10)),
            std::future_status::ready);
  EXPECT_EQ(answer.get().error_code(), grpc::StatusCode::CANCELLED);
  AwaitWaiting(0);
  db_.Scalar<std::string>(kInsertOne);
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(
      db_.Scalar<std::string>("SELECT status::text FROM arbitrage_cycles"),
      "AWAITING_REBALANCE");
  EXPECT_EQ(db_.Scalar<int>("SELECT count(*) FROM cycle_claimer.cycle_leases"),
            0);
}

TEST_F(LongPollTest, AClaimThatCommitsAfterItsCallerLeftIsReleasedAtOnce) {
  InsertCycles(1);
  // Hold the claim up in the database past the client's deadline.
  auto blocker = db_.Connect();
  pqxx::work lock(*blocker);
  lock.exec("LOCK TABLE cycle_claimer.cycle_leases IN SHARE MODE");
  auto stub = NewStub();
  v1::ClaimNextCycleRequest request;
  request.set_worker_id("impatient");
  v1::ClaimNextCycleResponse response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::milliseconds(300));
  EXPECT_EQ(stub->ClaimNextCycle(&context, request, &response).error_code(),
            grpc::StatusCode::DEADLINE_EXCEEDED);
  lock.commit();  // the claim commits now, for a caller that is gone
  // It is given back: the lease token shows it was claimed once, and the
  // cycle is claimable again.
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  std::string state;
  while (absl::Now() < deadline) {
    state = db_.Scalar<std::string>(
        "SELECT c.status::text || ' ' || coalesce(l.lease_token, 0) || ' ' || "
        "coalesce(l.locked_by, '-') FROM arbitrage_cycles c "
        "LEFT JOIN cycle_claimer.cycle_leases l ON l.cycle_id = c.id");
    if (state == "AWAITING_REBALANCE 1 -") break;
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_EQ(state, "AWAITING_REBALANCE 1 -");
}

TEST_F(LongPollTest, AWaitThatRunsOutEndsWithNoCycle) {
  v1::ClaimNextCycleResponse response;
  auto answer = Wait("patient", absl::Milliseconds(300), &response);
  ASSERT_EQ(answer.wait_for(std::chrono::seconds(10)),
            std::future_status::ready);
  ASSERT_TRUE(answer.get().ok());
  EXPECT_FALSE(response.has_cycle());
  EXPECT_EQ(server_->waiting_claims(), 0);
}

TEST_F(LongPollTest, AnExpiringLeaseWakesAWaiterByTimer) {
  InsertCycles(1);
  client::CycleClient client = NewClient();
  auto held = client.Claim("doomed", absl::Seconds(1));
  ASSERT_TRUE(held.ok() && held->has_value());
  v1::ClaimNextCycleResponse response;
  auto answer = Wait("heir", absl::Seconds(20), &response);
  ASSERT_EQ(answer.wait_for(std::chrono::seconds(10)),
            std::future_status::ready);
  ASSERT_TRUE(answer.get().ok());
  EXPECT_EQ(response.cycle().id(), (*held)->id());
  EXPECT_EQ(response.cycle().lease_token(), 2);
  EXPECT_EQ(response.cycle().retry_count(), 1);
}

TEST_F(LongPollTest, ARetryFallingDueWakesAWaiterByTimer) {
  ServerOptions options = DefaultOptions();
  options.policy.retry_base_delay = absl::Seconds(1);
  StartServer(options);
  InsertCycles(1);
  client::CycleClient client = NewClient();
  auto held = client.Claim("unlucky");
  ASSERT_TRUE(held.ok() && held->has_value());
  ASSERT_TRUE(
      client.Fail((*held)->id(), (*held)->lease_token(), "timeout").ok());
  v1::ClaimNextCycleResponse response;
  auto answer = Wait("next", absl::Seconds(20), &response);
  ASSERT_EQ(answer.wait_for(std::chrono::seconds(10)),
            std::future_status::ready);
  ASSERT_TRUE(answer.get().ok());
  EXPECT_EQ(response.cycle().id(), (*held)->id());
  EXPECT_EQ(response.cycle().retry_count(), 1);
}

TEST_F(LongPollTest, ShutdownAnswersWaitersWithNoCycle) {
  v1::ClaimNextCycleResponse response;
  auto answer = Wait("waiter", absl::Seconds(30), &response);
  AwaitWaiting(1);
  server_->Shutdown(absl::Seconds(5));
  ASSERT_EQ(answer.wait_for(std::chrono::seconds(10)),
            std::future_status::ready);
  EXPECT_TRUE(answer.get().ok());
  EXPECT_FALSE(response.has_cycle());
}

TEST_F(LongPollTest, ANegativeWaitIsRefused) {
  auto stub = NewStub();
  v1::ClaimNextCycleRequest request;
  request.set_worker_id("w");
  request.mutable_wait_timeout()->set_seconds(-1);
  v1::ClaimNextCycleResponse response;
  grpc::ClientContext context;
  const grpc::Status status =
      stub->ClaimNextCycle(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("wait_timeout"), std::string::npos);
}

}  // namespace
}  // namespace cycle_claimer::testing
