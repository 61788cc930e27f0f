#pragma once

// The server's configuration from its environment: which variables set which
// flags, and the database URLs. Pure functions of their arguments (apart from
// ProcessEnvironment), so that they can be tested and fuzzed without a
// process; the flags themselves live in server/main.cc.

#include <functional>
#include <map>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace cycle_claimer {

// Environment variables by name.
using Environment = std::map<std::string, std::string, std::less<>>;

// This process's environment. Where a name appears twice, the first value
// wins, as with getenv.
Environment ProcessEnvironment();

// A flag that an environment variable sets when the command line does not.
struct FlagVariable {
  absl::string_view flag;      // e.g. "pool_size"
  absl::string_view variable;  // e.g. "POOL_SIZE"
};

// Every flag an environment variable may set, each once. DATABASE_URL and
// DIRECT_DATABASE_URL are not among them: set as a flag's value they would be
// printed, password and all, by --help (see DatabaseUrl).
absl::Span<const FlagVariable> FlagVariables();

// Gives the flag named `flag` the text `value`; false, with the reason in
// `error`, when the flag does not take that text.
using FlagSetter = absl::FunctionRef<bool(
    absl::string_view flag, absl::string_view value, std::string* error)>;

// Sets, through `set_flag` and in the order of FlagVariables(), each flag
// whose variable `environment` holds. INVALID_ARGUMENT "invalid VARIABLE:
// reason" for the first value refused; the flags before it stay set.
absl::Status ApplyEnvironment(const Environment& environment,
                              FlagSetter set_flag);

// The database URL: `flag_value` (the value of --`flag_name`) when not
// empty, else `environment`'s `variable`, else empty (not configured).
// INVALID_ARGUMENT naming --`flag_name` or `variable`, whichever gave it,
// when libpq cannot parse it (CheckDatabaseUrl).
absl::StatusOr<std::string> DatabaseUrl(absl::string_view flag_name,
                                        absl::string_view flag_value,
                                        absl::string_view variable,
                                        const Environment& environment);

// OK when libpq can parse `url` as a connection URL
// ("postgresql://user:password@host:port/database?option=value") or a
// "key=value ..." connection string; it does not check the values or connect.
// INVALID_ARGUMENT starting with `source` otherwise, with libpq's reason but
// never the text that reason quotes: it may hold a password, and the message
// is logged. Whatever libpq quotes becomes "..." (but for its own "=", "]",
// ":" and "/"), then RedactFragments(reason, url) runs as a safety net.
absl::Status CheckDatabaseUrl(absl::string_view source, absl::string_view url);

// `message` with every stretch of kMinRedactedBytes or more bytes that also
// occurs in `secret` replaced by "...": no piece of the result between (or
// before, or after) the "..." marks shares a kMinRedactedBytes-byte run with
// `secret`.
inline constexpr std::size_t kMinRedactedBytes = 4;
std::string RedactFragments(absl::string_view message,
                            absl::string_view secret);

}  // namespace cycle_claimer
