#include "server/domain/auth.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace cycle_claimer {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kTokens[] =
    "# tokens\n"
    "worker worker-secret-0123456789\n"
    "\n"
    "admin   admin-secret-0123456789\n";

TEST(TokenRegistryTest, WorkerTokensCallCycleServiceAdminTokensCallBoth) {
  auto tokens = TokenRegistry::Parse(kTokens);
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  EXPECT_TRUE(
      tokens->Authorize("Bearer worker-secret-0123456789", Role::kWorker).ok());
  EXPECT_EQ(
      tokens->Authorize("Bearer worker-secret-0123456789", Role::kAdmin).code(),
      absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(
      tokens->Authorize("Bearer admin-secret-0123456789", Role::kWorker).ok());
  EXPECT_TRUE(
      tokens->Authorize("Bearer admin-secret-0123456789", Role::kAdmin).ok());
}

TEST(TokenRegistryTest, MissingOrWrongTokensAreUnauthenticatedAndNeverEchoed) {
  auto tokens = TokenRegistry::Parse(kTokens);
  ASSERT_TRUE(tokens.ok());
  for (const char* header :
       {"", "worker-secret-0123456789", "Bearer ",
        "Bearer worker-secret-012345678", "Bearer worker-secret-01234567890",
        "bearer worker-secret-0123456789"}) {
    const absl::Status status = tokens->Authorize(header, Role::kWorker);
    EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated) << header;
    EXPECT_THAT(status.message(), Not(HasSubstr("secret")));
  }
}

TEST(TokenRegistryTest, BadLinesAreRefusedWithoutShowingTheToken) {
  for (const char* text : {"root some-long-secret-value", "worker short",
                           "worker a-long-secret-value extra", "admin"}) {
    auto tokens = TokenRegistry::Parse(text);
    EXPECT_EQ(tokens.status().code(), absl::StatusCode::kInvalidArgument)
        << text;
    EXPECT_THAT(tokens.status().message(), HasSubstr("line 1"));
    EXPECT_THAT(tokens.status().message(), Not(HasSubstr("secret")));
  }
  EXPECT_TRUE(TokenRegistry::Parse("")->empty());
}

}  // namespace
}  // namespace cycle_claimer
