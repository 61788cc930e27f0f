#include "server/telemetry/logging.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace cycle_claimer {
namespace {

using ::testing::HasSubstr;

TEST(ParseLogLevelTest, TakesSpdlogsLevelNames) {
  EXPECT_EQ(ParseLogLevel("trace").value(), spdlog::level::trace);
  EXPECT_EQ(ParseLogLevel("debug").value(), spdlog::level::debug);
  EXPECT_EQ(ParseLogLevel("info").value(), spdlog::level::info);
  EXPECT_EQ(ParseLogLevel("warn").value(), spdlog::level::warn);
  EXPECT_EQ(ParseLogLevel("warning").value(), spdlog::level::warn);
  EXPECT_EQ(ParseLogLevel("error").value(), spdlog::level::err);
  EXPECT_EQ(ParseLogLevel("err").value(), spdlog::level::err);
  EXPECT_EQ(ParseLogLevel("critical").value(), spdlog::level::critical);
  EXPECT_EQ(ParseLogLevel("off").value(), spdlog::level::off);
}

TEST(ParseLogLevelTest, RefusesWhatSpdlogWouldTurnIntoSilence) {
  // spdlog::level::from_str answers "off" for each of these.
  for (const char* text : {"wran", "INFO", "", "errors", "verbose"}) {
    const absl::StatusOr<spdlog::level::level_enum> level = ParseLogLevel(text);
    ASSERT_FALSE(level.ok()) << text;
    EXPECT_EQ(level.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(level.status().message(), HasSubstr("log_level"));
    EXPECT_THAT(level.status().message(), HasSubstr(text));
  }
}

}  // namespace
}  // namespace cycle_claimer
