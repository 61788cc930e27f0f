#pragma once

// Debian 12's Abseil (20220623) ships no RETURN_IF_ERROR/ASSIGN_OR_RETURN.

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define CC_STATUS_CONCAT_INNER_(a, b) a##b
#define CC_STATUS_CONCAT_(a, b) CC_STATUS_CONCAT_INNER_(a, b)

// Returns from the enclosing function with the status of `expr` when it is
// not OK.
#define RETURN_IF_ERROR(expr)                 \
  do {                                        \
    const ::absl::Status cc_status_ = (expr); \
    if (!cc_status_.ok()) return cc_status_;  \
  } while (false)

// `ASSIGN_OR_RETURN(lhs, rexpr)` evaluates `rexpr` (an absl::StatusOr), returns
// its status when not OK, and otherwise move-assigns its value to `lhs`.
#define ASSIGN_OR_RETURN(lhs, rexpr) \
  ASSIGN_OR_RETURN_IMPL_(CC_STATUS_CONCAT_(cc_statusor_, __LINE__), lhs, rexpr)

#define ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                           \
  if (!statusor.ok()) return statusor.status();      \
  lhs = std::move(statusor).value()
