#pragma once

// Conversions between the domain and the wire, and the one place where an
// absl::Status becomes a grpc::Status.

#include <grpcpp/support/status.h>

#include <optional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/duration.pb.h"
#include "kimp/cycles/v1/cycles.pb.h"
#include "server/domain/cycle.h"

namespace cycle_claimer {

// The wire enum value of `status`.
kimp::cycles::v1::CycleStatus ToProto(CycleStatus status);

// The domain status for a wire value; nullopt for UNSPECIFIED or unknown.
std::optional<CycleStatus> FromProto(kimp::cycles::v1::CycleStatus status);

// Fills `out` with every field of `cycle`; NULL columns stay unset/empty.
void ToProto(const Cycle& cycle, kimp::cycles::v1::Cycle& out);

// The duration `duration` holds, or nullopt when `present` is false (the
// field was not set). INVALID_ARGUMENT naming `field` for a malformed
// Duration (nanos out of range, or signs of seconds and nanos differing).
absl::StatusOr<std::optional<absl::Duration>> FromProto(
    absl::string_view field, bool present,
    const google::protobuf::Duration& duration);

// The gRPC status for `status`: the canonical codes are numerically equal.
grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace cycle_claimer
