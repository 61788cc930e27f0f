#include "server/domain/auth.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace cycle_claimer {
namespace {

constexpr std::size_t kMinTokenLength = 16;

// Equal in time that depends on the lengths only, not on where they differ.
bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char difference = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    difference |= static_cast<unsigned char>(a[i] ^ b[i]);
  }
  return difference == 0;
}

}  // namespace

absl::StatusOr<TokenRegistry> TokenRegistry::Parse(absl::string_view text) {
  TokenRegistry registry;
  int number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || absl::StartsWith(line, "#")) continue;
    const std::vector<absl::string_view> fields =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    const bool known_role =
        !fields.empty() && (fields[0] == "worker" || fields[0] == "admin");
    if (fields.size() != 2 || !known_role) {
      return absl::InvalidArgumentError(
          absl::StrCat("tokens line ", number,
                       ": expected \"worker <token>\" or "
                       "\"admin <token>\""));
    }
    if (fields[1].size() < kMinTokenLength) {
      return absl::InvalidArgumentError(
          absl::StrCat("tokens line ", number, ": a token needs at least ",
                       kMinTokenLength, " characters"));
    }
    registry.tokens_.emplace_back(std::string(fields[1]), fields[0] == "admin"
                                                              ? Role::kAdmin
                                                              : Role::kWorker);
  }
  return registry;
}

std::optional<Role> TokenRegistry::RoleOf(absl::string_view token) const {
  // Every token is compared, so the time taken does not tell which matched.
  std::optional<Role> role;
  for (const auto& [known, known_role] : tokens_) {
    if (ConstantTimeEquals(known, token)) role = known_role;
  }
  return role;
}

absl::Status TokenRegistry::Authorize(absl::string_view authorization,
                                      Role required) const {
  constexpr absl::string_view kBearer = "Bearer ";
  if (!absl::StartsWith(authorization, kBearer)) {
    return absl::UnauthenticatedError(
        "authorization metadata \"Bearer <token>\" is required");
  }
  const std::optional<Role> role = RoleOf(authorization.substr(kBearer.size()));
  if (!role) return absl::UnauthenticatedError("the bearer token is not valid");
  if (required == Role::kAdmin && *role != Role::kAdmin) {
    return absl::PermissionDeniedError(
        "this token may call CycleService only; CycleAdminService needs an "
        "admin token");
  }
  return absl::OkStatus();
}

}  // namespace cycle_claimer
