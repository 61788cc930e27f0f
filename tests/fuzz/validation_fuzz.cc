// Request text checks (server/domain/validation.h) on arbitrary bytes: each
// accepts exactly what its contract describes, an accepted UUID comes back
// canonical and is a fixed point, and errors are INVALID_ARGUMENT naming the
// field, printable, and valid UTF-8 whenever the text was (messages quote the
// text and end up in JSON log lines).

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "server/domain/validation.h"
#include "tests/fuzz/fuzz_support.h"

namespace cycle_claimer {
namespace {

bool HasControl(absl::string_view text) {
  for (char ch : text) {
    const auto byte = static_cast<unsigned char>(ch);
    if (byte < 0x20 || byte == 0x7f) return true;
  }
  return false;
}

bool UuidShaped(absl::string_view text) {
  if (text.size() != 36) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const bool hyphen = i == 8 || i == 13 || i == 18 || i == 23;
    if (hyphen ? text[i] != '-' : !absl::ascii_isxdigit(text[i])) return false;
  }
  return true;
}

// An error about `field` as the contract states it.
void CheckFieldError(const absl::Status& status, absl::string_view field,
                     absl::string_view text) {
  FUZZ_CHECK(status.code() == absl::StatusCode::kInvalidArgument,
             status.ToString());
  FUZZ_CHECK(absl::StartsWith(status.message(), field), status.ToString());
  FUZZ_CHECK(!HasControl(status.message()), status.ToString());
  FUZZ_CHECK(!fuzz::IsValidUtf8(text) || fuzz::IsValidUtf8(status.message()),
             status.ToString());
}

void CheckUuid(absl::string_view text) {
  const absl::StatusOr<std::string> parsed = ParseUuid("cycle_id", text);
  FUZZ_CHECK(parsed.ok() == UuidShaped(text), parsed.status().ToString());
  if (!parsed.ok()) {
    CheckFieldError(parsed.status(), "cycle_id", text);
    return;
  }
  FUZZ_CHECK(*parsed == absl::AsciiStrToLower(text), *parsed);
  for (char ch : *parsed) {
    FUZZ_CHECK(ch == '-' || absl::ascii_isdigit(ch) || (ch >= 'a' && ch <= 'f'),
               *parsed);
  }
  const absl::StatusOr<std::string> again = ParseUuid("cycle_id", *parsed);
  FUZZ_CHECK(again.ok() && *again == *parsed, *parsed);
}

void CheckIdentifierText(absl::string_view text, std::size_t max_bytes) {
  const absl::Status status = CheckIdentifier("worker_id", text, max_bytes);
  const bool expected =
      !text.empty() && text.size() <= max_bytes && !HasControl(text);
  FUZZ_CHECK(status.ok() == expected, status.ToString(), " for ", text.size(),
             " bytes, max ", max_bytes);
  if (!status.ok()) CheckFieldError(status, "worker_id", text);
}

void CheckFreeText(absl::string_view text, std::size_t max_bytes,
                   bool required) {
  const absl::Status status = CheckText("reason", text, max_bytes, required);
  const bool expected =
      (!required || !absl::StripAsciiWhitespace(text).empty()) &&
      text.size() <= max_bytes && text.find('\0') == absl::string_view::npos;
  FUZZ_CHECK(status.ok() == expected, status.ToString());
  if (!status.ok()) CheckFieldError(status, "reason", text);
}

}  // namespace
}  // namespace cycle_claimer

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  using namespace cycle_claimer;
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  CheckUuid(text);
  CheckIdentifierText(text, kMaxWorkerIdBytes);
  CheckIdentifierText(text, kMaxRequestIdBytes);
  CheckIdentifierText(text, size > 0 ? size - 1 : 0);
  CheckFreeText(text, kMaxReasonBytes, /*required=*/true);
  CheckFreeText(text, kMaxReasonBytes, /*required=*/false);
  CheckFreeText(text, size / 2, /*required=*/true);
  if (size >= sizeof(int64_t)) {
    int64_t token = 0;
    std::memcpy(&token, data, sizeof(token));
    const absl::Status status = CheckLeaseToken("lease_token", token);
    FUZZ_CHECK(status.ok() == (token > 0), status.ToString());
    if (!status.ok()) CheckFieldError(status, "lease_token", "");
  }
  return 0;
}
