#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cycle_claimer {

// Who may call what: worker tokens may call CycleService; admin tokens may
// call CycleService and CycleAdminService.
enum class Role { kWorker, kAdmin };

// The bearer tokens the server accepts. Tokens are compared in constant time
// (per token length) and never appear in messages or logs.
class TokenRegistry {
 public:
  // Parses lines "worker <token>" and "admin <token>"; blank lines and lines
  // starting with '#' are skipped. INVALID_ARGUMENT (naming the line number,
  // never the token) for anything else, or for a token under 16 characters.
  static absl::StatusOr<TokenRegistry> Parse(absl::string_view text);

  bool empty() const { return tokens_.empty(); }

  // Whether `authorization` ("Bearer <token>", as sent in the gRPC
  // metadata; empty when absent) may call a method that needs `required`:
  // UNAUTHENTICATED when missing or unknown, PERMISSION_DENIED when a worker
  // token calls an admin method.
  absl::Status Authorize(absl::string_view authorization, Role required) const;

 private:
  std::optional<Role> RoleOf(absl::string_view token) const;

  std::vector<std::pair<std::string, Role>> tokens_;
};

}  // namespace cycle_claimer
