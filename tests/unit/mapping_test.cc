// Status mapping between the database, the domain and the wire.

#include <gtest/gtest.h>

#include "server/domain/cycle.h"
#include "server/service/proto_mapping.h"
#include "server/storage/sql_errors.h"

namespace cycle_claimer {
namespace {

namespace v1 = kimp::cycles::v1;

TEST(CycleStatusTest, EveryDatabaseLabelRoundTripsAndMapsToItsWireValue) {
  const std::vector<std::pair<std::string, v1::CycleStatus>> labels = {
      {"STARTED", v1::CYCLE_STATUS_STARTED},
      {"INITIAL_TRADE_COMPLETED", v1::CYCLE_STATUS_INITIAL_TRADE_COMPLETED},
      {"AWAITING_REBALANCE", v1::CYCLE_STATUS_AWAITING_REBALANCE},
      {"REBALANCING_IN_PROGRESS", v1::CYCLE_STATUS_REBALANCING_IN_PROGRESS},
      {"REBALANCE_TRADE_COMPLETED", v1::CYCLE_STATUS_REBALANCE_TRADE_COMPLETED},
      {"COMPLETED", v1::CYCLE_STATUS_COMPLETED},
      {"FAILED", v1::CYCLE_STATUS_FAILED},
      {"AWAITING_RETRY", v1::CYCLE_STATUS_AWAITING_RETRY},
      {"DEAD_LETTER", v1::CYCLE_STATUS_DEAD_LETTER},
  };
  for (const auto& [label, wire] : labels) {
    const std::optional<CycleStatus> status = CycleStatusFromLabel(label);
    ASSERT_TRUE(status.has_value()) << label;
    EXPECT_EQ(CycleStatusLabel(*status), label);
    EXPECT_EQ(ToProto(*status), wire) << label;
    // The wire name is the label with the buf-style prefix.
    EXPECT_EQ(v1::CycleStatus_Name(wire), "CYCLE_STATUS_" + label);
  }
  EXPECT_FALSE(CycleStatusFromLabel("awaiting_rebalance").has_value());
  EXPECT_FALSE(CycleStatusFromLabel("").has_value());
}

TEST(ToGrpcStatusTest, KeepsCodeAndMessage) {
  const grpc::Status lost =
      ToGrpcStatus(absl::FailedPreconditionError("lease lost: x"));
  EXPECT_EQ(lost.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(lost.error_message(), "lease lost: x");
  EXPECT_EQ(ToGrpcStatus(absl::UnavailableError("db")).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(ToGrpcStatus(absl::InvalidArgumentError("f")).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ToGrpcStatus(absl::NotFoundError("f")).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
}

TEST(CodeForSqlStateTest, ConnectionTroubleIsUnavailableConflictsAborted) {
  EXPECT_EQ(CodeForSqlState("08006"), absl::StatusCode::kUnavailable);
  EXPECT_EQ(CodeForSqlState("08001"), absl::StatusCode::kUnavailable);
  EXPECT_EQ(CodeForSqlState("57P01"), absl::StatusCode::kUnavailable);
  EXPECT_EQ(CodeForSqlState("57P03"), absl::StatusCode::kUnavailable);
  EXPECT_EQ(CodeForSqlState("53300"), absl::StatusCode::kUnavailable);
  EXPECT_EQ(CodeForSqlState("40001"), absl::StatusCode::kAborted);
  EXPECT_EQ(CodeForSqlState("40P01"), absl::StatusCode::kAborted);
  EXPECT_EQ(CodeForSqlState("55P03"), absl::StatusCode::kAborted);
  EXPECT_EQ(CodeForSqlState("57014"), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(CodeForSqlState("42P01"), absl::StatusCode::kInternal);
  EXPECT_EQ(CodeForSqlState(""), absl::StatusCode::kInternal);
}

TEST(CycleToProtoTest, TimesKeepMicrosecondsAndNullsStayUnset) {
  Cycle cycle;
  cycle.id = "11111111-2222-4333-8444-555555555555";
  cycle.start_time = absl::FromUnixMicros(1700000000123456);
  cycle.locked_at = absl::FromUnixMicros(-1);  // before 1970: nanos stay >= 0
  cycle.status = CycleStatus::kRebalancingInProgress;
  cycle.total_net_profit_krw = "-12.5000";
  cycle.lease_token = 42;
  v1::Cycle out;
  ToProto(cycle, out);
  EXPECT_EQ(out.start_time().seconds(), 1700000000);
  EXPECT_EQ(out.start_time().nanos(), 123456000);
  EXPECT_EQ(out.locked_at().seconds(), -1);
  EXPECT_EQ(out.locked_at().nanos(), 999999000);
  EXPECT_FALSE(out.has_end_time());
  EXPECT_FALSE(out.has_lease_expires_at());
  EXPECT_EQ(out.total_net_profit_krw(), "-12.5000");
  EXPECT_EQ(out.rebalance_trade_id(), "");
  EXPECT_EQ(out.status(), v1::CYCLE_STATUS_REBALANCING_IN_PROGRESS);
  EXPECT_EQ(out.lease_token(), 42);
}

TEST(DurationFromProtoTest, UnsetIsNulloptAndMalformedIsRefused) {
  google::protobuf::Duration duration;
  EXPECT_FALSE(FromProto("lease_duration", false, duration)->has_value());
  duration.set_seconds(90);
  duration.set_nanos(500000000);
  EXPECT_EQ(**FromProto("lease_duration", true, duration),
            absl::Seconds(90) + absl::Milliseconds(500));
  duration.set_nanos(-1);
  EXPECT_EQ(FromProto("lease_duration", true, duration).status().code(),
            absl::StatusCode::kInvalidArgument);
  duration.set_nanos(1000000000);
  EXPECT_EQ(FromProto("lease_duration", true, duration).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace cycle_claimer
