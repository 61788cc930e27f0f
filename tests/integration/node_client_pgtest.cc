// The Node.js client's own tests (node:test), run against the real server.

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "tests/support/server_fixture.h"

namespace cycle_claimer::testing {
namespace {

class NodeClientTest : public ServerTest {};

TEST_F(NodeClientTest, NodeTestRunnerPassesAgainstALiveServer) {
  const std::string command =
      absl::StrCat("CYCLE_CLAIMER_SERVER=", target(), " ", NODE_EXECUTABLE,
                   " --test ", NODE_CLIENT_DIR, "/test/ 2>&1");
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buffer[4096];
  while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) output += buffer;
  const int status = pclose(pipe);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << output;
  EXPECT_NE(output.find("# fail 0"), std::string::npos) << output;
  EXPECT_NE(output.find("# pass 2"), std::string::npos) << output;
}

}  // namespace
}  // namespace cycle_claimer::testing
