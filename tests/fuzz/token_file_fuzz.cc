// The bearer token file (TokenRegistry::Parse, server/domain/auth.h) against
// its documented grammar, and Authorize on arbitrary metadata: every listed
// token is let in with its role, nothing else is, and every message is one of
// the fixed texts (never a token, never a piece of the file).

#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "server/domain/auth.h"
#include "tests/fuzz/fuzz_support.h"

namespace cycle_claimer {
namespace {

struct Expected {
  bool ok = true;
  int bad_line = 0;
  // Token -> the roles it is listed with.
  std::map<std::string, std::vector<Role>> roles;
};

// The grammar as auth.h states it.
Expected ParseLikeTheContract(absl::string_view text) {
  Expected expected;
  int number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line.front() == '#') continue;
    const std::vector<absl::string_view> fields =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (fields.size() != 2 || (fields[0] != "worker" && fields[0] != "admin") ||
        fields[1].size() < 16) {
      expected.ok = false;
      expected.bad_line = number;
      return expected;
    }
    expected.roles[std::string(fields[1])].push_back(
        fields[0] == "admin" ? Role::kAdmin : Role::kWorker);
  }
  return expected;
}

// Messages are fixed texts: they cannot carry a token.
void CheckAuthorizeMessage(const absl::Status& status) {
  if (status.ok()) return;
  const absl::string_view message = status.message();
  FUZZ_CHECK(
      message == "authorization metadata \"Bearer <token>\" is required" ||
          message == "the bearer token is not valid" ||
          message ==
              "this token may call CycleService only; CycleAdminService needs "
              "an admin token",
      message);
}

void CheckParseMessage(const absl::Status& status, int line) {
  const std::string prefix = absl::StrCat("tokens line ", line, ": ");
  const absl::string_view message = status.message();
  FUZZ_CHECK(
      message == prefix + "expected \"worker <token>\" or \"admin <token>\"" ||
          message == prefix + "a token needs at least 16 characters",
      message);
}

void CheckAuthorize(const TokenRegistry& registry, absl::string_view metadata,
                    const Expected& expected) {
  for (const Role required : {Role::kWorker, Role::kAdmin}) {
    const absl::Status status = registry.Authorize(metadata, required);
    CheckAuthorizeMessage(status);
    if (!status.ok()) {
      FUZZ_CHECK(status.code() == absl::StatusCode::kUnauthenticated ||
                     status.code() == absl::StatusCode::kPermissionDenied,
                 status.ToString());
    }
    absl::string_view token = metadata;
    const bool bearer = absl::ConsumePrefix(&token, "Bearer ");
    const auto listed = expected.roles.find(std::string(token));
    if (!bearer || listed == expected.roles.end()) {
      FUZZ_CHECK(status.code() == absl::StatusCode::kUnauthenticated,
                 status.ToString());
      continue;
    }
    bool worker = false, admin = false;
    for (const Role role : listed->second) {
      (role == Role::kAdmin ? admin : worker) = true;
    }
    if (required == Role::kWorker) {
      FUZZ_CHECK(status.ok(), status.ToString());
    } else {
      if (status.ok()) FUZZ_CHECK(admin, "a worker token administers");
      if (admin && !worker) FUZZ_CHECK(status.ok(), status.ToString());
    }
  }
}

}  // namespace
}  // namespace cycle_claimer

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  using namespace cycle_claimer;
  FuzzedDataProvider input(data, size);
  const std::string metadata = input.ConsumeRandomLengthString(80);
  const std::string text = input.ConsumeRemainingBytesAsString();
  const Expected expected = ParseLikeTheContract(text);
  const absl::StatusOr<TokenRegistry> registry = TokenRegistry::Parse(text);
  FUZZ_CHECK(registry.ok() == expected.ok, registry.status().ToString());
  if (!registry.ok()) {
    FUZZ_CHECK(registry.status().code() == absl::StatusCode::kInvalidArgument,
               registry.status().ToString());
    CheckParseMessage(registry.status(), expected.bad_line);
    return 0;
  }
  FUZZ_CHECK(registry->empty() == expected.roles.empty(), "empty()");
  for (const auto& [token, roles] : expected.roles) {
    CheckAuthorize(*registry, "Bearer " + token, expected);
  }
  CheckAuthorize(*registry, metadata, expected);
  return 0;
}
