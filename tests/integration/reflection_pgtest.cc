// grpcurl's path, by reflection and without proto files, exercised with
// buf curl (grpcurl is not packaged for Debian 12).

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "tests/support/server_fixture.h"

namespace cycle_claimer::testing {
namespace {

// Runs `command` and returns what it printed on stdout.
std::string RunCommand(const std::string& command) {
  std::string output;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return output;
  char buffer[4096];
  while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) output += buffer;
  pclose(pipe);
  return output;
}

class ReflectionTest : public ServerTest {
 protected:
  std::string BufCurl(const std::string& arguments) {
    return RunCommand(absl::StrCat(
        BUF_EXECUTABLE, " curl --protocol grpc --http2-prior-knowledge ",
        arguments, " 2>&1"));
  }
  std::string Url(const std::string& method = "") {
    return absl::StrCat("http://", target(), method);
  }
};

TEST_F(ReflectionTest, ListsEveryServiceWithoutProtoFiles) {
  const std::string services = BufCurl("--list-services " + Url());
  for (const char* service :
       {"kimp.cycles.v1.CycleService", "kimp.cycles.v1.CycleAdminService",
        "grpc.health.v1.Health"}) {
    EXPECT_NE(services.find(service), std::string::npos) << services;
  }
}

TEST_F(ReflectionTest, ClaimsACycleByReflection) {
  InsertCycles(1);
  const std::string id =
      db_.Scalar<std::string>("SELECT id::text FROM arbitrage_cycles");
  const std::string answer = BufCurl(absl::StrCat(
      "-d '{\"worker_id\": \"buf\", \"lease_duration\": \"90s\"}' ",
      Url("/kimp.cycles.v1.CycleService/ClaimNextCycle")));
  EXPECT_NE(answer.find(id), std::string::npos) << answer;
  EXPECT_NE(answer.find("\"lockedBy\": \"buf\""), std::string::npos) << answer;
  EXPECT_NE(answer.find("\"leaseToken\": \"1\""), std::string::npos) << answer;
  EXPECT_EQ(
      db_.Scalar<std::string>("SELECT status::text FROM arbitrage_cycles"),
      "REBALANCING_IN_PROGRESS");
}

}  // namespace
}  // namespace cycle_claimer::testing
