// DATABASE_URL checking (server/config/config.h CheckDatabaseUrl): accepted
// exactly when libpq parses the text, and a refusal names DATABASE_URL and
// quotes nothing of the text: what is left of libpq's reason between the
// "..." marks shares no kMinRedactedBytes-byte run with it (a password in
// the URL never reaches the log). RedactFragments on arbitrary text keeps
// the same promise.

#include <fuzzer/FuzzedDataProvider.h>
#include <libpq-fe.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "server/config/config.h"
#include "tests/fuzz/fuzz_support.h"

namespace cycle_claimer {
namespace {

constexpr absl::string_view kRefusal =
    "DATABASE_URL is not a PostgreSQL connection URL "
    "(postgresql://user:password@host:port/database?option=value) or "
    "key=value string (libpq: ";

void CheckNoRunOf(absl::string_view secret, absl::string_view text) {
  for (std::size_t at = 0; at + kMinRedactedBytes <= text.size(); ++at) {
    FUZZ_CHECK(secret.find(text.substr(at, kMinRedactedBytes)) ==
                   absl::string_view::npos,
               "\"", text, "\" shows \"", text.substr(at, kMinRedactedBytes),
               "\"");
  }
}

// `shown` split at the "..." marks: dots next to a mark may be the mark's,
// so they are left out.
void CheckNothingOf(absl::string_view secret, absl::string_view shown) {
  for (absl::string_view piece : absl::StrSplit(shown, "...")) {
    while (absl::ConsumePrefix(&piece, ".")) {
    }
    while (absl::ConsumeSuffix(&piece, ".")) {
    }
    CheckNoRunOf(secret, piece);
  }
}

// RedactFragments by brute force: at each byte, the longest run from there
// that occurs in `secret`. `kept` gets the stretches of `message` kept.
std::string NaiveRedact(absl::string_view message, absl::string_view secret,
                        std::vector<std::string>& kept) {
  std::string shown;
  std::string stretch;
  std::size_t at = 0;
  while (at < message.size()) {
    std::size_t run = 0;
    for (std::size_t length = message.size() - at; length >= kMinRedactedBytes;
         --length) {
      if (secret.find(message.substr(at, length)) != absl::string_view::npos) {
        run = length;
        break;
      }
    }
    if (run == 0) {
      shown += message[at];
      stretch += message[at++];
      continue;
    }
    if (!absl::EndsWith(shown, "...")) shown += "...";
    kept.push_back(std::move(stretch));
    stretch.clear();
    at += run;
  }
  kept.push_back(std::move(stretch));
  return shown;
}

bool LibpqParses(const std::string& url) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(url.c_str(), &error);
  PQfreemem(error);
  PQconninfoFree(options);
  return options != nullptr;
}

void CheckUrl(const std::string& url) {
  const absl::Status status = CheckDatabaseUrl("DATABASE_URL", url);
  if (url.find('\0') != std::string::npos) {
    FUZZ_CHECK(
        status.message() == "DATABASE_URL must not contain NUL characters",
        status.ToString());
    return;
  }
  FUZZ_CHECK(status.ok() == LibpqParses(url), status.ToString());
  if (status.ok()) return;
  FUZZ_CHECK(status.code() == absl::StatusCode::kInvalidArgument,
             status.ToString());
  absl::string_view reason = status.message();
  FUZZ_CHECK(absl::ConsumePrefix(&reason, kRefusal) &&
                 absl::ConsumeSuffix(&reason, ")"),
             status.message());
  CheckNothingOf(url, reason);
}

}  // namespace
}  // namespace cycle_claimer

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  using namespace cycle_claimer;
  FuzzedDataProvider input(data, size);
  switch (input.ConsumeIntegralInRange(0, 2)) {
    case 0:
      CheckUrl(input.ConsumeRemainingBytesAsString());
      break;
    case 1: {
      // A password in an otherwise fuzzed URL.
      const std::string password = input.ConsumeRandomLengthString(40);
      const std::string rest = input.ConsumeRemainingBytesAsString();
      CheckUrl("postgresql://kimp:" + password + "@" + rest);
      CheckUrl("host=db password=" + password + " " + rest);
      break;
    }
    default: {
      const std::string secret = input.ConsumeRandomLengthString(200);
      const std::string message = input.ConsumeRandomLengthString(300);
      std::vector<std::string> kept;
      const std::string expected = NaiveRedact(message, secret, kept);
      const std::string shown = RedactFragments(message, secret);
      FUZZ_CHECK(shown == expected, "\"", shown, "\", not \"", expected, "\"");
      for (const std::string& stretch : kept) CheckNoRunOf(secret, stretch);
      break;
    }
  }
  return 0;
}
