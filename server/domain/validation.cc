#include "server/domain/validation.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace cycle_claimer {
namespace {

// Keeps error messages short and printable whatever the client sent.
std::string Quote(absl::string_view text) {
  constexpr std::size_t kShown = 40;
  std::size_t cut = std::min(text.size(), kShown);
  // Never cut a UTF-8 character in two: the message is sent as gRPC status
  // text and written to (JSON) logs.
  while (cut > 0 && cut < text.size() &&
         (static_cast<unsigned char>(text[cut]) & 0xc0) == 0x80) {
    --cut;
  }
  std::string shown;
  for (char ch : text.substr(0, cut)) {
    const auto byte = static_cast<unsigned char>(ch);
    shown += (byte < 0x20 || byte == 0x7f) ? '?' : ch;
  }
  if (text.size() > cut) shown += "...";
  return absl::StrCat("\"", shown, "\"");
}

}  // namespace

absl::StatusOr<std::string> ParseUuid(absl::string_view field,
                                      absl::string_view text) {
  if (text.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(field, " is required"));
  }
  constexpr std::size_t kLength = 36;
  bool ok = text.size() == kLength;
  for (std::size_t i = 0; ok && i < kLength; ++i) {
    const bool hyphen_position = i == 8 || i == 13 || i == 18 || i == 23;
    ok = hyphen_position ? text[i] == '-' : absl::ascii_isxdigit(text[i]);
  }
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat(field,
                     " must be a UUID like "
                     "\"123e4567-e89b-12d3-a456-426614174000\", got ",
                     Quote(text)));
  }
  return absl::AsciiStrToLower(text);
}

absl::Status CheckIdentifier(absl::string_view field, absl::string_view text,
                             std::size_t max_bytes) {
  if (text.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(field, " is required"));
  }
  if (text.size() > max_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, " must be at most ", max_bytes, " bytes, got ", text.size()));
  }
  const bool has_control = std::any_of(text.begin(), text.end(), [](char ch) {
    const auto byte = static_cast<unsigned char>(ch);
    return byte < 0x20 || byte == 0x7f;
  });
  if (has_control) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " must not contain control characters"));
  }
  return absl::OkStatus();
}

absl::Status CheckText(absl::string_view field, absl::string_view text,
                       std::size_t max_bytes, bool required) {
  if (required && absl::StripAsciiWhitespace(text).empty()) {
    return absl::InvalidArgumentError(absl::StrCat(field, " is required"));
  }
  if (text.size() > max_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, " must be at most ", max_bytes, " bytes, got ", text.size()));
  }
  if (text.find('\0') != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " must not contain NUL characters"));
  }
  return absl::OkStatus();
}

absl::Status CheckDecimal(absl::string_view field, absl::string_view text,
                          int precision, int scale) {
  const auto malformed = [&] {
    return absl::InvalidArgumentError(absl::StrCat(
        field, " must be a decimal like \"-1234.5678\", got ", Quote(text)));
  };
  constexpr std::size_t kMaxDecimalBytes = 64;
  if (text.size() > kMaxDecimalBytes) return malformed();
  absl::string_view rest = text;
  if (!rest.empty() && (rest.front() == '-' || rest.front() == '+')) {
    rest.remove_prefix(1);
  }
  const std::size_t point = rest.find('.');
  absl::string_view integer = rest.substr(0, point);
  absl::string_view fraction = point == absl::string_view::npos
                                   ? absl::string_view()
                                   : rest.substr(point + 1);
  const auto all_digits = [](absl::string_view digits) {
    return std::all_of(digits.begin(), digits.end(),
                       [](char ch) { return absl::ascii_isdigit(ch); });
  };
  if (integer.empty() || !all_digits(integer) || !all_digits(fraction) ||
      (point != absl::string_view::npos && fraction.empty())) {
    return malformed();
  }
  const std::size_t first_significant = integer.find_first_not_of('0');
  const std::size_t integer_digits =
      first_significant == absl::string_view::npos
          ? 0
          : integer.size() - first_significant;
  const auto max_integer_digits = static_cast<std::size_t>(precision - scale);
  if (integer_digits > max_integer_digits) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " must have at most ", max_integer_digits,
                     " digits before the point, got ", Quote(text)));
  }
  if (fraction.size() > static_cast<std::size_t>(scale)) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " must have at most ", scale,
                     " digits after the point, got ", Quote(text)));
  }
  return absl::OkStatus();
}

absl::Status CheckLeaseToken(absl::string_view field, int64_t token) {
  if (token <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, " must be the positive token a claim returned, got ", token));
  }
  return absl::OkStatus();
}

}  // namespace cycle_claimer
