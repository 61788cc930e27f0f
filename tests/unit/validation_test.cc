#include "server/domain/validation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace cycle_claimer {
namespace {

using ::testing::HasSubstr;

TEST(ParseUuidTest, AcceptsCanonicalAndUpperCaseAndLowersIt) {
  auto parsed = ParseUuid("cycle_id", "123E4567-E89B-12D3-A456-426614174000");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(*parsed, "123e4567-e89b-12d3-a456-426614174000");
}

TEST(ParseUuidTest, RefusesMalformedIdsNamingTheField) {
  for (const char* bad : {"", "123e4567e89b12d3a456426614174000",
                          "123e4567-e89b-12d3-a456-42661417400",
                          "123e4567-e89b-12d3-a456-4266141740000",
                          "g23e4567-e89b-12d3-a456-426614174000",
                          "{123e4567-e89b-12d3-a456-426614174000}",
                          "123e4567-e89b-12d3-a456_426614174000"}) {
    auto parsed = ParseUuid("cycle_id", bad);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument)
        << bad;
    EXPECT_THAT(parsed.status().message(), HasSubstr("cycle_id")) << bad;
  }
}

TEST(CheckIdentifierTest, BoundsLengthAndRefusesControlCharacters) {
  EXPECT_TRUE(
      CheckIdentifier("worker_id", "finalizer-7@host-a", kMaxWorkerIdBytes)
          .ok());
  EXPECT_TRUE(CheckIdentifier("worker_id", "작업자-1", kMaxWorkerIdBytes).ok());
  EXPECT_TRUE(CheckIdentifier("worker_id", std::string(kMaxWorkerIdBytes, 'w'),
                              kMaxWorkerIdBytes)
                  .ok());
  EXPECT_FALSE(CheckIdentifier("worker_id", "", kMaxWorkerIdBytes).ok());
  EXPECT_FALSE(CheckIdentifier("worker_id",
                               std::string(kMaxWorkerIdBytes + 1, 'w'),
                               kMaxWorkerIdBytes)
                   .ok());
  EXPECT_FALSE(
      CheckIdentifier("worker_id", "tab\there", kMaxWorkerIdBytes).ok());
  EXPECT_FALSE(
      CheckIdentifier("worker_id", std::string("nul\0x", 5), kMaxWorkerIdBytes)
          .ok());
}

TEST(CheckTextTest, RequiredTextMustNotBeBlankAndNeverHoldsNul) {
  EXPECT_TRUE(CheckText("reason", "timeout\nat exchange", 100, true).ok());
  EXPECT_TRUE(CheckText("reason", "", 100, false).ok());
  EXPECT_FALSE(CheckText("reason", " \t", 100, true).ok());
  EXPECT_FALSE(CheckText("reason", std::string(101, 'x'), 100, false).ok());
  auto nul = CheckText("reason", std::string("a\0b", 3), 100, false);
  EXPECT_THAT(nul.message(), HasSubstr("NUL"));
}

TEST(CheckDecimalTest, AcceptsWhatNumeric20Comma4StoresExactly) {
  for (const char* good :
       {"0", "-1", "+2", "1234.5678", "0.0001", "9999999999999999.9999",
        "-9999999999999999", "0000000000000000000001.5", "12."}) {
    const bool trailing_point = std::string(good).back() == '.';
    EXPECT_EQ(CheckDecimal("total_net_profit_krw", good, 20, 4).ok(),
              !trailing_point)
        << good;
  }
}

TEST(CheckDecimalTest, RefusesWhatWouldBeRoundedOrIsNotADecimal) {
  for (const char* bad :
       {"", "-", ".5", "1.23456", "10000000000000000", "1e5", "NaN", "Infinity",
        "1,5", " 1", "1 ", "--1", "0x10", "1.2.3"}) {
    auto status = CheckDecimal("total_net_profit_krw", bad, 20, 4);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(status.message(), HasSubstr("total_net_profit_krw")) << bad;
  }
  EXPECT_FALSE(CheckDecimal("p", std::string(65, '1'), 80, 4).ok());
  EXPECT_TRUE(
      CheckDecimal("total_net_profit_percent", "999999.9999", 10, 4).ok());
  EXPECT_FALSE(CheckDecimal("total_net_profit_percent", "1000000", 10, 4).ok());
}

TEST(ParseUuidTest, QuotesLongTextCutBetweenUtf8Characters) {
  // 39 ASCII bytes, then a 3-byte character across the 40-byte cut: found by
  // tests/fuzz/validation_fuzz. Messages go to gRPC status text and JSON logs.
  const std::string text = std::string(39, 'x') + "\xea\xb0\x80" + "yz";
  auto parsed = ParseUuid("cycle_id", text);
  EXPECT_THAT(std::string(parsed.status().message()),
              HasSubstr("\"" + std::string(39, 'x') + "...\""));
}

TEST(CheckLeaseTokenTest, OnlyPositiveTokensWereEverIssued) {
  EXPECT_TRUE(CheckLeaseToken("lease_token", 1).ok());
  EXPECT_FALSE(CheckLeaseToken("lease_token", 0).ok());
  EXPECT_FALSE(CheckLeaseToken("lease_token", -7).ok());
}

}  // namespace
}  // namespace cycle_claimer
