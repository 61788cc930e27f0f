// Bearer tokens over a real channel: worker tokens for CycleService, admin
// tokens for both services, health open to all.

#include <gtest/gtest.h>

#include <memory>

#include "tests/support/server_fixture.h"

namespace cycle_claimer::testing {
namespace {

constexpr char kWorkerToken[] = "worker-token-0123456789";
constexpr char kAdminToken[] = "admin-token-0123456789";

class AuthTest : public ServerTest {
 protected:
  void SetUp() override {
    ServerOptions options = DefaultOptions();
    auto tokens = TokenRegistry::Parse(std::string("worker ") + kWorkerToken +
                                       "\nadmin " + kAdminToken);
    ASSERT_TRUE(tokens.ok());
    options.tokens = std::make_shared<const TokenRegistry>(*std::move(tokens));
    StartServer(options);
  }
  client::CycleClient ClientWith(const std::string& token) {
    return client::CycleClient(NewChannel(), absl::Seconds(10), token);
  }
};

TEST_F(AuthTest, CallsWithoutAValidTokenAreUnauthenticatedAndChangeNothing) {
  InsertCycles(1);
  for (const std::string token : {"", "not-a-token-at-all-0000"}) {
    client::CycleClient client = ClientWith(token);
    EXPECT_EQ(client.Claim("w").status().code(),
              absl::StatusCode::kUnauthenticated);
    EXPECT_EQ(client.Stats().status().code(),
              absl::StatusCode::kUnauthenticated);
  }
  EXPECT_EQ(
      db_.Scalar<std::string>("SELECT status::text FROM arbitrage_cycles"),
      "AWAITING_REBALANCE");
}

TEST_F(AuthTest, WorkerTokensClaimButCannotAdminister) {
  InsertCycles(1);
  client::CycleClient worker = ClientWith(kWorkerToken);
  auto claimed = worker.Claim("w");
  ASSERT_TRUE(claimed.ok() && claimed->has_value()) << claimed.status();
  EXPECT_EQ(worker.Stats().status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(worker.Requeue((*claimed)->id()).status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(AuthTest, AdminTokensCallBothServicesAndHealthIsOpen) {
  client::CycleClient admin = ClientWith(kAdminToken);
  EXPECT_TRUE(admin.Stats().ok());
  EXPECT_TRUE(admin.Claim("a").ok());
  client::CycleClient anonymous = ClientWith("");
  auto serving = anonymous.Serving();
  ASSERT_TRUE(serving.ok()) << serving.status();
  EXPECT_TRUE(*serving);
}

}  // namespace
}  // namespace cycle_claimer::testing
