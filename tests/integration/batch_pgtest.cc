// Batch claims and completions, and idempotent claims by request_id.

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/support/server_fixture.h"

namespace cycle_claimer::testing {
namespace {

namespace v1 = kimp::cycles::v1;

class BatchTest : public ServerTest {
 protected:
  std::vector<v1::Cycle> ClaimBatch(v1::CycleService::Stub& stub,
                                    int max_cycles,
                                    grpc::Status* status_out = nullptr) {
    v1::ClaimCyclesRequest request;
    request.set_worker_id("batcher");
    request.set_max_cycles(max_cycles);
    v1::ClaimCyclesResponse response;
    grpc::ClientContext context;
    const grpc::Status status = stub.ClaimCycles(&context, request, &response);
    if (status_out != nullptr) *status_out = status;
    EXPECT_TRUE(status.ok() || status_out != nullptr) << status.error_message();
    return {response.cycles().begin(), response.cycles().end()};
  }
};

TEST_F(BatchTest, ClaimCyclesTakesTheOldestFirstUntilNoneAreLeft) {
  InsertCycles(25);
  std::vector<std::string> expected;
  for (const auto& row : db_.Exec("SELECT id::text FROM arbitrage_cycles "
                                  "ORDER BY start_time, id")) {
    expected.push_back(row[0].as<std::string>());
  }
  auto stub = NewStub();
  std::vector<std::string> received;
  for (size_t want : {10u, 10u, 5u, 0u}) {
    const std::vector<v1::Cycle> batch = ClaimBatch(*stub, 10);
    ASSERT_EQ(batch.size(), want);
    for (const v1::Cycle& cycle : batch) {
      EXPECT_EQ(cycle.status(), v1::CYCLE_STATUS_REBALANCING_IN_PROGRESS);
      EXPECT_EQ(cycle.locked_by(), "batcher");
      EXPECT_EQ(cycle.lease_token(), 1);
      received.push_back(cycle.id());
    }
  }
  EXPECT_EQ(received, expected);
}

TEST_F(BatchTest, ClaimCyclesRefusesABadMaxCycles) {
  auto stub = NewStub();
  for (int bad : {0, -1, 101}) {
    grpc::Status status;
    ClaimBatch(*stub, bad, &status);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad;
    EXPECT_NE(status.error_message().find("max_cycles"), std::string::npos);
  }
}

TEST_F(BatchTest, CompleteCyclesGivesEveryItemItsOwnResult) {
  InsertCycles(3);
  auto stub = NewStub();
  const std::vector<v1::Cycle> held = ClaimBatch(*stub, 3);
  ASSERT_EQ(held.size(), 3u);

  v1::CompleteCyclesRequest request;
  auto add = [&](const std::string& id, int64_t token) {
    v1::CompleteCycleRequest* item = request.add_completions();
    item->set_cycle_id(id);
    item->set_lease_token(token);
    item->set_total_net_profit_krw("10.5");
    return item;
  };
  add(held[0].id(), held[0].lease_token());
  add(held[1].id(), held[1].lease_token() + 1);  // stale token
  add(held[2].id(), held[2].lease_token());
  add("00000000-0000-4000-8000-000000000000", 1);  // unknown
  add("not-a-uuid", 1);
  add(held[0].id(), held[0].lease_token());  // repeats item 0
  v1::CompleteCyclesResponse response;
  grpc::ClientContext context;
  ASSERT_TRUE(stub->CompleteCycles(&context, request, &response).ok());
  ASSERT_EQ(response.results_size(), 6);

  EXPECT_EQ(response.results(0).cycle().status(), v1::CYCLE_STATUS_COMPLETED);
  EXPECT_EQ(response.results(0).cycle().id(), held[0].id());
  EXPECT_EQ(response.results(1).error().code(),
            static_cast<int>(grpc::StatusCode::FAILED_PRECONDITION));
  EXPECT_EQ(response.results(2).cycle().id(), held[2].id());
  EXPECT_EQ(response.results(2).cycle().total_net_profit_krw(), "10.5000");
  EXPECT_EQ(response.results(3).error().code(),
            static_cast<int>(grpc::StatusCode::NOT_FOUND));
  EXPECT_EQ(response.results(4).error().code(),
            static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_NE(
      response.results(4).error().message().find("completions[4].cycle_id"),
      std::string::npos)
      << response.results(4).error().message();
  EXPECT_EQ(response.results(5).error().code(),
            static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_NE(
      response.results(5).error().message().find("repeats completions[0]"),
      std::string::npos);

  // The lost lease's cycle is untouched and still held.
  EXPECT_EQ(db_.Scalar<std::string>(absl::StrCat(
                "SELECT status::text FROM arbitrage_cycles WHERE id = '",
                held[1].id(), "'")),
            "REBALANCING_IN_PROGRESS");
  EXPECT_EQ(
      db_.Scalar<int>("SELECT count(*) FROM arbitrage_cycles WHERE "
                      "status = 'COMPLETED' AND total_net_profit_krw = 10.5"),
      2);
}

TEST_F(BatchTest, CompleteCyclesRefusesAnEmptyOrOversizedBatch) {
  auto stub = NewStub();
  for (int count : {0, 101}) {
    v1::CompleteCyclesRequest request;
    for (int i = 0; i < count; ++i) {
      request.add_completions()->set_cycle_id(
          "00000000-0000-4000-8000-000000000000");
    }
    v1::CompleteCyclesResponse response;
    grpc::ClientContext context;
    const grpc::Status status =
        stub->CompleteCycles(&context, request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << count;
    EXPECT_NE(status.error_message().find("completions"), std::string::npos);
  }
}

class IdempotentClaimTest : public ServerTest {
 protected:
  grpc::Status Claim(const std::string& request_id, v1::Cycle* cycle,
                     absl::Duration deadline = absl::Seconds(30)) {
    v1::ClaimNextCycleRequest request;
    request.set_worker_id("retrier");
    request.set_request_id(request_id);
    v1::ClaimNextCycleResponse response;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         absl::ToChronoNanoseconds(deadline));
    const grpc::Status status =
        stub_->ClaimNextCycle(&context, request, &response);
    *cycle = response.cycle();
    return status;
  }
  std::unique_ptr<v1::CycleService::Stub> stub_ = nullptr;
};

TEST_F(IdempotentClaimTest, ARepeatedRequestIdReturnsTheSameCycleAndToken) {
  stub_ = NewStub();
  InsertCycles(3);
  v1::Cycle first, again, other;
  ASSERT_TRUE(Claim("req-1", &first).ok());
  ASSERT_TRUE(Claim("req-1", &again).ok());
  EXPECT_EQ(again.id(), first.id());
  EXPECT_EQ(again.lease_token(), first.lease_token());
  ASSERT_TRUE(Claim("req-2", &other).ok());
  EXPECT_NE(other.id(), first.id());
  EXPECT_EQ(db_.Scalar<int>("SELECT count(*) FROM arbitrage_cycles "
                            "WHERE status = 'REBALANCING_IN_PROGRESS'"),
            2);
  // Once the cycle is finished, the request id claims anew.
  client::CycleClient client = NewClient();
  v1::CompleteCycleRequest done;
  done.set_cycle_id(first.id());
  done.set_lease_token(first.lease_token());
  ASSERT_TRUE(client.Complete(done).ok());
  v1::Cycle after;
  ASSERT_TRUE(Claim("req-1", &after).ok());
  EXPECT_NE(after.id(), first.id());
  EXPECT_NE(after.id(), other.id());
}

TEST_F(IdempotentClaimTest, ARetryAfterALostAnswerGetsTheSameCycle) {
  stub_ = NewStub();
  InsertCycles(2);
  // Hold the claim up in the database longer than the client will wait.
  auto blocker = db_.Connect();
  pqxx::work lock(*blocker);
  lock.exec("LOCK TABLE cycle_claimer.cycle_leases IN SHARE MODE");
  v1::Cycle lost;
  const grpc::Status timed_out =
      Claim("req-lost", &lost, absl::Milliseconds(300));
  EXPECT_EQ(timed_out.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  lock.commit();  // the server's claim goes through now, unseen by the client
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (db_.Scalar<int>("SELECT count(*) FROM arbitrage_cycles WHERE status = "
                         "'REBALANCING_IN_PROGRESS'") == 0 &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  const std::string committed = db_.Scalar<std::string>(
      "SELECT cycle_id::text || ' ' || lease_token FROM "
      "cycle_claimer.cycle_leases "
      "WHERE locked_by = 'retrier'");
  v1::Cycle retried;
  ASSERT_TRUE(Claim("req-lost", &retried).ok());
  EXPECT_EQ(absl::StrCat(retried.id(), " ", retried.lease_token()), committed);
  EXPECT_EQ(db_.Scalar<int>("SELECT count(*) FROM arbitrage_cycles "
                            "WHERE status = 'REBALANCING_IN_PROGRESS'"),
            1);
}

TEST_F(IdempotentClaimTest, ConcurrentRetriesOfOneRequestTakeOneCycle) {
  InsertCycles(20);
  std::vector<std::string> ids(8);
  std::vector<std::thread> retries;
  for (int i = 0; i < 8; ++i) {
    retries.emplace_back([&, i] {
      auto stub = NewStub();
      v1::ClaimNextCycleRequest request;
      request.set_worker_id("retrier");
      request.set_request_id("same");
      v1::ClaimNextCycleResponse response;
      grpc::ClientContext context;
      const grpc::Status status =
          stub->ClaimNextCycle(&context, request, &response);
      ids[i] = status.ok() ? response.cycle().id() : status.error_message();
    });
  }
  for (std::thread& retry : retries) retry.join();
  for (const std::string& id : ids) EXPECT_EQ(id, ids.front());
  EXPECT_EQ(db_.Scalar<int>("SELECT count(*) FROM arbitrage_cycles "
                            "WHERE status = 'REBALANCING_IN_PROGRESS'"),
            1);
}

TEST_F(IdempotentClaimTest, AnOverlongRequestIdIsRefused) {
  stub_ = NewStub();
  v1::Cycle cycle;
  const grpc::Status status = Claim(std::string(101, 'r'), &cycle);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("request_id"), std::string::npos);
}

}  // namespace
}  // namespace cycle_claimer::testing
