// The server's configuration from its environment (server/config/config.h):
// an arbitrary environment, one "NAME=value" a line ("$c=value" names the
// table's variable number c, so the fuzzer reaches every one), through
// ApplyEnvironment with a setter that parses each value the way Abseil
// parses our flags' types (bool, int, Duration, string) and checks that each
// parse round-trips; and DATABASE_URL/DIRECT_DATABASE_URL through
// DatabaseUrl.

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/marshalling.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "server/config/config.h"
#include "tests/fuzz/fuzz_support.h"

namespace cycle_claimer {
namespace {

// What each flag type makes of `value`; a value Abseil accepts must print
// back as a value it reads the same.
void ParseAsEveryFlagType(absl::string_view value) {
  std::string error;
  bool flag = false;
  if (absl::ParseFlag(value, &flag, &error)) {
    bool again = !flag;
    FUZZ_CHECK(absl::ParseFlag(absl::UnparseFlag(flag), &again, &error) &&
                   again == flag,
               value);
  }
  int number = 0;
  if (absl::ParseFlag(value, &number, &error)) {
    int again = number + 1;
    FUZZ_CHECK(absl::ParseFlag(absl::UnparseFlag(number), &again, &error) &&
                   again == number,
               value);
  }
  // What absl::ParseFlag finds for Duration flags.
  absl::Duration duration;
  if (absl::AbslParseFlag(value, &duration, &error)) {
    absl::Duration again;
    const std::string printed = absl::AbslUnparseFlag(duration);
    FUZZ_CHECK(
        absl::AbslParseFlag(printed, &again, &error) && again == duration,
        value, " -> ", printed);
  }
  std::string text;
  FUZZ_CHECK(absl::ParseFlag(value, &text, &error) && text == value, value);
}

Environment EnvironmentFrom(absl::string_view data) {
  const absl::Span<const FlagVariable> table = FlagVariables();
  Environment environment;
  for (absl::string_view line : absl::StrSplit(data, '\n')) {
    const std::pair<absl::string_view, absl::string_view> entry =
        absl::StrSplit(line, absl::MaxSplits('=', 1));
    std::string name(entry.first);
    if (name.size() == 2 && name[0] == '$') {
      name = std::string(
          table[static_cast<unsigned char>(name[1]) % table.size()].variable);
    }
    environment.emplace(std::move(name), entry.second);
  }
  return environment;
}

void CheckApply(const Environment& environment) {
  // A value starting with '!' is refused, to reach the error path.
  std::vector<std::pair<std::string, std::string>> set;
  const absl::Status applied = ApplyEnvironment(
      environment,
      [&](absl::string_view flag, absl::string_view value, std::string* error) {
        ParseAsEveryFlagType(value);
        if (absl::StartsWith(value, "!")) {
          *error = "refused";
          return false;
        }
        set.emplace_back(flag, value);
        return true;
      });
  // The variables present, in table order, up to the first refused.
  std::vector<std::pair<std::string, std::string>> expected;
  std::string refused;
  for (const FlagVariable& pair : FlagVariables()) {
    const auto value = environment.find(pair.variable);
    if (value == environment.end()) continue;
    if (absl::StartsWith(value->second, "!")) {
      refused = std::string(pair.variable);
      break;
    }
    expected.emplace_back(pair.flag, value->second);
  }
  FUZZ_CHECK(set == expected, set.size(), " flags set, expected ",
             expected.size());
  if (refused.empty()) {
    FUZZ_CHECK(applied.ok(), applied.ToString());
  } else {
    FUZZ_CHECK(
        applied.code() == absl::StatusCode::kInvalidArgument &&
            applied.message() == absl::StrCat("invalid ", refused, ": refused"),
        applied.ToString());
  }
}

void CheckUrl(const Environment& environment, absl::string_view flag_name,
              absl::string_view variable) {
  const auto flag = environment.find(absl::StrCat("--", flag_name));
  const std::string flag_value = flag == environment.end() ? "" : flag->second;
  const absl::StatusOr<std::string> url =
      DatabaseUrl(flag_name, flag_value, variable, environment);
  const auto from_environment = environment.find(variable);
  const std::string given = !flag_value.empty() ? flag_value
                            : from_environment == environment.end()
                                ? ""
                                : from_environment->second;
  const std::string source = !flag_value.empty() ? absl::StrCat("--", flag_name)
                                                 : std::string(variable);
  if (url.ok()) {
    FUZZ_CHECK(*url == given, *url);
  } else {
    FUZZ_CHECK(url.status().code() == absl::StatusCode::kInvalidArgument &&
                   absl::StartsWith(url.status().message(), source + " "),
               url.status().ToString());
  }
}

}  // namespace
}  // namespace cycle_claimer

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  using namespace cycle_claimer;
  const Environment environment = EnvironmentFrom(
      absl::string_view(reinterpret_cast<const char*>(data), size));
  CheckApply(environment);
  CheckUrl(environment, "database_url", "DATABASE_URL");
  CheckUrl(environment, "direct_database_url", "DIRECT_DATABASE_URL");
  return 0;
}
