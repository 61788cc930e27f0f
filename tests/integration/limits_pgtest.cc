// Beyond the server's limits a call gets a clear RESOURCE_EXHAUSTED and
// nothing else changes: message size, wait_timeout, waiting claims in all
// and per worker id.

#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/support/server_fixture.h"

namespace cycle_claimer::testing {
namespace {

namespace v1 = kimp::cycles::v1;

class LimitsTest : public ServerTest {
 protected:
  void SetUp() override {
    ServerOptions options = DefaultOptions();
    options.max_message_bytes = 64 << 10;
    options.max_long_polls = 3;
    options.max_long_polls_per_worker = 2;
    options.policy.max_wait = absl::Seconds(20);
    StartServer(options);
  }

  // A claim by `worker_id` that waits up to `wait` for a cycle.
  grpc::Status WaitingClaim(const std::string& worker_id, absl::Duration wait,
                            v1::ClaimNextCycleResponse* response) {
    v1::ClaimNextCycleRequest request;
    request.set_worker_id(worker_id);
    request.mutable_wait_timeout()->set_seconds(
        absl::ToInt64Seconds(wait));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(30));
    return NewStub()->ClaimNextCycle(&context, request, response);
  }

  void AwaitWaiting(int count) {
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (server_->waiting_claims() < count && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(10));
    }
    ASSERT_EQ(server_->waiting_claims(), count);
  }
};

TEST_F(LimitsTest, OversizedRequestIsRefused) {
  InsertCycles(1);
  v1::ClaimNextCycleRequest request;
  request.set_worker_id(std::string(100 << 10, 'w'));
  v1::ClaimNextCycleResponse response;
  grpc::ClientContext context;
  const grpc::Status status =
      NewStub()->ClaimNextCycle(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << status.error_message();
  // Nothing was claimed, and the server serves the next call.
  auto claimed = NewClient().Claim("w");
  ASSERT_TRUE(claimed.ok() && claimed->has_value()) << claimed.status();
}

TEST_F(LimitsTest, WaitTimeoutAboveTheMaximumIsRefused) {
  v1::ClaimNextCycleResponse response;
  const absl::Time started = absl::Now();
  const grpc::Status status =
      WaitingClaim("w", absl::Seconds(21), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(status.error_message().find("wait_timeout"), std::string::npos)
      << status.error_message();
  EXPECT_LT(absl::Now() - started, absl::Seconds(5)) << "it waited";
}

TEST_F(LimitsTest, WaitingClaimsAreBoundedPerWorkerAndInAll) {
  // Nothing is claimable: every claim below that is admitted waits.
  std::vector<std::future<grpc::Status>> waiting;
  const auto wait_async = [&](const std::string& worker) {
    waiting.push_back(std::async(std::launch::async, [this, worker] {
      v1::ClaimNextCycleResponse response;
      grpc::Status status = WaitingClaim(worker, absl::Seconds(3), &response);
      EXPECT_FALSE(response.has_cycle());
      return status;
    }));
  };
  wait_async("a");
  wait_async("a");
  AwaitWaiting(2);
  v1::ClaimNextCycleResponse response;
  grpc::Status third = WaitingClaim("a", absl::Seconds(3), &response);
  EXPECT_EQ(third.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(third.error_message().find("max_long_polls_per_worker"),
            std::string::npos)
      << third.error_message();

  wait_async("b");  // another worker still gets in, up to the server's 3
  AwaitWaiting(3);
  grpc::Status fourth = WaitingClaim("c", absl::Seconds(3), &response);
  EXPECT_EQ(fourth.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(fourth.error_message().find("--max_long_polls"), std::string::npos)
      << fourth.error_message();
  // A claim that does not wait is no long poll: never refused by these.
  auto quick = NewClient().Claim("a");
  EXPECT_TRUE(quick.ok()) << quick.status();

  for (auto& call : waiting) EXPECT_TRUE(call.get().ok());
  // Their places are free again once they are answered.
  AwaitWaiting(0);
  InsertCycles(1);
  grpc::Status again = WaitingClaim("a", absl::Seconds(3), &response);
  EXPECT_TRUE(again.ok()) << again.error_message();
  EXPECT_TRUE(response.has_cycle());
}

}  // namespace
}  // namespace cycle_claimer::testing
