// cyclectl round trips through every command, with the exit codes scripts
// rely on.

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "tests/support/server_fixture.h"

namespace cycle_claimer::testing {
namespace {

struct Result {
  int exit_code;
  std::string output;
};

class CyclectlTest : public ServerTest {
 protected:
  Result Ctl(const std::string& arguments, const std::string& server = "") {
    const std::string command = absl::StrCat(
        CYCLECTL_EXECUTABLE, " --server=", server.empty() ? target() : server,
        " ", arguments, " 2>&1");
    Result result{-1, ""};
    FILE* pipe = popen(command.c_str(), "r");
    if (pipe == nullptr) return result;
    char buffer[4096];
    while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) {
      result.output += buffer;
    }
    const int status = pclose(pipe);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return result;
  }
  std::string Status(const std::string& id) {
    return db_.Scalar<std::string>(absl::StrCat(
        "SELECT status::text FROM arbitrage_cycles WHERE id = '", id, "'"));
  }
};

TEST_F(CyclectlTest, EveryCommandRoundTrips) {
  Result created = Ctl("create --investment_krw=1000 --json");
  ASSERT_EQ(created.exit_code, 0) << created.output;
  EXPECT_NE(created.output.find("CYCLE_STATUS_AWAITING_REBALANCE"),
            std::string::npos);
  const std::string id =
      db_.Scalar<std::string>("SELECT id::text FROM arbitrage_cycles");

  Result claimed = Ctl("claim --worker=ctl --lease=60s");
  ASSERT_EQ(claimed.exit_code, 0) << claimed.output;
  EXPECT_NE(claimed.output.find(id), std::string::npos) << claimed.output;
  EXPECT_NE(claimed.output.find("token=1"), std::string::npos);
  EXPECT_NE(claimed.output.find("worker=ctl"), std::string::npos);

  EXPECT_EQ(Ctl(absl::StrCat("renew ", id, " 1 --lease=120s")).exit_code, 0);
  EXPECT_EQ(Ctl(absl::StrCat("complete ", id, " 2")).exit_code,
            10 + static_cast<int>(grpc::StatusCode::FAILED_PRECONDITION));
  Result completed = Ctl(absl::StrCat("complete ", id, " 1 --profit_krw=5.5"));
  EXPECT_EQ(completed.exit_code, 0) << completed.output;
  EXPECT_EQ(Status(id), "COMPLETED");
  EXPECT_EQ(Ctl("claim --worker=ctl").exit_code, 1);  // nothing to claim

  Result got = Ctl(absl::StrCat("get ", id, " --json"));
  EXPECT_EQ(got.exit_code, 0);
  EXPECT_NE(got.output.find("\"totalNetProfitKrw\": \"5.5000\""),
            std::string::npos)
      << got.output;

  ASSERT_EQ(Ctl("create").exit_code, 0);
  const std::string second = db_.Scalar<std::string>(
      "SELECT id::text FROM arbitrage_cycles WHERE status = "
      "'AWAITING_REBALANCE'");
  ASSERT_EQ(Ctl("claim --worker=ctl").exit_code, 0);
  EXPECT_EQ(Ctl(absl::StrCat("fail ", second, " 1 boom --permanent")).exit_code,
            0);
  EXPECT_EQ(Status(second), "DEAD_LETTER");
  Result listed = Ctl("list --status=DEAD_LETTER");
  EXPECT_EQ(listed.exit_code, 0);
  EXPECT_NE(listed.output.find(second), std::string::npos) << listed.output;
  EXPECT_EQ(listed.output.find(id), std::string::npos) << listed.output;
  EXPECT_EQ(Ctl(absl::StrCat("requeue ", second)).exit_code, 0);
  EXPECT_EQ(Status(second), "AWAITING_REBALANCE");
  ASSERT_EQ(Ctl("claim --worker=ctl").exit_code, 0);
  EXPECT_EQ(Ctl(absl::StrCat("release ", second, " 2")).exit_code, 0);
  EXPECT_EQ(Status(second), "AWAITING_REBALANCE");

  Result stats = Ctl("stats --json");
  EXPECT_EQ(stats.exit_code, 0);
  EXPECT_NE(stats.output.find("\"count\": \"1\""), std::string::npos)
      << stats.output;
  Result health = Ctl("health");
  EXPECT_EQ(health.exit_code, 0);
  EXPECT_NE(health.output.find("SERVING"), std::string::npos);
}

TEST_F(CyclectlTest, BadInputAndTroubleGiveDistinctExitCodes) {
  EXPECT_EQ(Ctl("frobnicate").exit_code, 2);
  EXPECT_EQ(Ctl("").exit_code, 2);
  EXPECT_EQ(
      Ctl("renew 00000000-0000-4000-8000-000000000000 not-a-token").exit_code,
      2);
  EXPECT_EQ(Ctl("list --status=BOGUS").exit_code, 2);
  EXPECT_EQ(Ctl("get not-a-uuid").exit_code,
            10 + static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_EQ(Ctl("get 00000000-0000-4000-8000-000000000000").exit_code,
            10 + static_cast<int>(grpc::StatusCode::NOT_FOUND));
  EXPECT_EQ(Ctl("health", "127.0.0.1:1").exit_code,
            10 + static_cast<int>(grpc::StatusCode::UNAVAILABLE));
}

}  // namespace
}  // namespace cycle_claimer::testing
