#include "server/config/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <utility>
#include <vector>

namespace cycle_claimer {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Pair;
using ::testing::StartsWith;

TEST(FlagVariablesTest, NamesEachFlagAndVariableOnceAndNeverTheUrls) {
  std::set<absl::string_view> flags;
  std::set<absl::string_view> variables;
  for (const FlagVariable& pair : FlagVariables()) {
    EXPECT_TRUE(flags.insert(pair.flag).second) << pair.flag;
    EXPECT_TRUE(variables.insert(pair.variable).second) << pair.variable;
  }
  EXPECT_EQ(flags.size(), 28u);
  EXPECT_FALSE(variables.contains("DATABASE_URL"));
  EXPECT_FALSE(variables.contains("DIRECT_DATABASE_URL"));
}

TEST(ApplyEnvironmentTest, SetsTheFlagsOfTheVariablesPresentInTableOrder) {
  std::vector<std::pair<std::string, std::string>> set;
  const absl::Status applied = ApplyEnvironment(
      {{"POOL_SIZE", "4"}, {"LISTEN_ADDRESS", "127.0.0.1:0"}, {"OTHER", "x"}},
      [&](absl::string_view flag, absl::string_view value, std::string*) {
        set.emplace_back(flag, value);
        return true;
      });
  EXPECT_TRUE(applied.ok()) << applied;
  EXPECT_THAT(
      set, ElementsAre(Pair("listen", "127.0.0.1:0"), Pair("pool_size", "4")));
}

TEST(ApplyEnvironmentTest, NamesTheVariableWhoseValueTheFlagRefuses) {
  const absl::Status applied = ApplyEnvironment(
      {{"MAX_LEASE", "soon"}},
      [](absl::string_view, absl::string_view, std::string* error) {
        *error = "bad duration";
        return false;
      });
  EXPECT_EQ(applied.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(applied.message(), "invalid MAX_LEASE: bad duration");
}

TEST(DatabaseUrlTest, TheFlagWinsOverTheEnvironmentAndNeitherIsEmpty) {
  const Environment environment = {{"DATABASE_URL", "postgresql://env/db"}};
  EXPECT_EQ(*DatabaseUrl("database_url", "postgresql://flag/db", "DATABASE_URL",
                         environment),
            "postgresql://flag/db");
  EXPECT_EQ(*DatabaseUrl("database_url", "", "DATABASE_URL", environment),
            "postgresql://env/db");
  EXPECT_EQ(*DatabaseUrl("database_url", "", "DATABASE_URL", {}), "");
  EXPECT_EQ(*DatabaseUrl("database_url", "", "DATABASE_URL",
                         {{"DATABASE_URL", "host=db port=5432 dbname=kimp"}}),
            "host=db port=5432 dbname=kimp");
}

TEST(DatabaseUrlTest, AMalformedUrlIsNamedByItsSourceWithoutItsPassword) {
  const std::string password = "hunter2-s3cret";
  for (const std::string& url : {
           "postgresql://kimp:" + password + "@[::1/kimp",
           "postgresql://kimp:" + password + "@db/kimp?sslmode",
           "postgresql://kimp:" + password + "%zz@db/kimp",
           "host=db password=" + password + " port",
           "host=db password='" + password,
       }) {
    const absl::StatusOr<std::string> from_environment = DatabaseUrl(
        "database_url", "", "DATABASE_URL", {{"DATABASE_URL", url}});
    EXPECT_EQ(from_environment.status().code(),
              absl::StatusCode::kInvalidArgument)
        << url;
    EXPECT_THAT(std::string(from_environment.status().message()),
                StartsWith("DATABASE_URL is not a PostgreSQL connection URL"));
    EXPECT_THAT(std::string(from_environment.status().message()),
                HasSubstr("libpq: "));
    EXPECT_THAT(std::string(from_environment.status().message()),
                Not(HasSubstr(password.substr(0, 4))));

    const absl::StatusOr<std::string> from_flag =
        DatabaseUrl("direct_database_url", url, "DIRECT_DATABASE_URL", {});
    EXPECT_THAT(std::string(from_flag.status().message()),
                StartsWith("--direct_database_url is not"));
    EXPECT_THAT(std::string(from_flag.status().message()),
                Not(HasSubstr(password.substr(0, 4))));
  }
}

TEST(CheckDatabaseUrlTest, KeepsLibpqsWordsAndItsOwnPunctuation) {
  const absl::Status checked =
      CheckDatabaseUrl("DATABASE_URL", "host=db password=hunter2-s3cret port");
  EXPECT_THAT(std::string(checked.message()),
              HasSubstr("(libpq: missing \"=\" after \"...\" in connection "
                        "info string)"));
  EXPECT_TRUE(
      CheckDatabaseUrl("DATABASE_URL", "postgresql://u:p@db:5432/kimp").ok());
  EXPECT_TRUE(CheckDatabaseUrl("DATABASE_URL", "host=db dbname=kimp").ok());
  EXPECT_FALSE(
      CheckDatabaseUrl("DATABASE_URL", std::string("host=db\0x", 9)).ok());
}

TEST(RedactFragmentsTest, ReplacesRunsSharedWithTheSecretAndKeepsTheRest) {
  EXPECT_EQ(RedactFragments("invalid percent-encoded token: hunter2%zz",
                            "postgresql://u:hunter2%zz@h/db"),
            "invalid percent-encoded token: ...");
  EXPECT_EQ(RedactFragments("missing = after pw", "password pw"),
            "missing = after pw");
  EXPECT_EQ(RedactFragments("abcdabcd", "abcd"), "...");
  EXPECT_EQ(RedactFragments("", "secret"), "");
  EXPECT_EQ(RedactFragments("secret", ""), "secret");
}

}  // namespace
}  // namespace cycle_claimer
