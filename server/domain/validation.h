#pragma once

// Checks of untrusted request text. Every error is INVALID_ARGUMENT and names
// the field it is about.

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cycle_claimer {

inline constexpr std::size_t kMaxWorkerIdBytes = 200;
inline constexpr std::size_t kMaxRequestIdBytes = 100;
inline constexpr std::size_t kMaxReasonBytes = 4096;

// The canonical (lower-case, hyphenated) form of the UUID `text`, e.g.
// "0b1c...-...". Required: an empty `text` is an error too.
absl::StatusOr<std::string> ParseUuid(absl::string_view field,
                                      absl::string_view text);

// An identifier such as a worker id or request id: 1 to `max_bytes` bytes,
// no control characters.
absl::Status CheckIdentifier(absl::string_view field, absl::string_view text,
                             std::size_t max_bytes);

// Free text stored in a text column: at most `max_bytes`, no NUL (which
// PostgreSQL cannot store); `required` rejects an empty or blank text.
absl::Status CheckText(absl::string_view field, absl::string_view text,
                       std::size_t max_bytes, bool required);

// A decimal for a numeric(precision, scale) column: an optional sign, digits,
// and optionally a point followed by digits, with at most
// precision - scale significant integer digits and at most `scale` fraction
// digits (more would be rounded away by PostgreSQL, and these are amounts of
// money). Empty text is an error; callers treat empty as "not given" first.
absl::Status CheckDecimal(absl::string_view field, absl::string_view text,
                          int precision, int scale);

// A lease token as returned by a claim: positive.
absl::Status CheckLeaseToken(absl::string_view field, int64_t token);

}  // namespace cycle_claimer
