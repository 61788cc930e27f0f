#pragma once

// Checks for the libFuzzer targets. A failed check prints what failed, where
// and on which value, then aborts: libFuzzer reports the crash and saves the
// input that caused it.

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace cycle_claimer::fuzz {

[[noreturn]] inline void Fail(const char* file, int line, const char* check,
                              const std::string& detail) {
  std::fprintf(stderr, "%s:%d: check failed: %s\n  %s\n", file, line, check,
               detail.c_str());
  std::abort();
}

// Whether `text` is well-formed UTF-8 (no overlong forms, surrogates or code
// points past U+10FFFF), as protobuf requires of proto3 strings.
inline bool IsValidUtf8(absl::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte < 0x80) {
      ++i;
      continue;
    }
    std::size_t length = 0;
    unsigned min_second = 0x80, max_second = 0xbf;
    if (byte >= 0xc2 && byte <= 0xdf) {
      length = 2;
    } else if (byte >= 0xe0 && byte <= 0xef) {
      length = 3;
      if (byte == 0xe0) min_second = 0xa0;  // overlong
      if (byte == 0xed) max_second = 0x9f;  // surrogates
    } else if (byte >= 0xf0 && byte <= 0xf4) {
      length = 4;
      if (byte == 0xf0) min_second = 0x90;  // overlong
      if (byte == 0xf4) max_second = 0x8f;  // past U+10FFFF
    } else {
      return false;
    }
    if (i + length > text.size()) return false;
    const auto second = static_cast<unsigned char>(text[i + 1]);
    if (second < min_second || second > max_second) return false;
    for (std::size_t k = 2; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if (next < 0x80 || next > 0xbf) return false;
    }
    i += length;
  }
  return true;
}

}  // namespace cycle_claimer::fuzz

// Aborts with `detail` (anything absl::StrCat takes) when `condition` fails.
#define FUZZ_CHECK(condition, ...)                        \
  do {                                                    \
    if (!(condition)) {                                   \
      ::cycle_claimer::fuzz::Fail(                        \
          __FILE__, __LINE__, #condition,                 \
          ::absl::StrCat("" __VA_OPT__(, ) __VA_ARGS__)); \
    }                                                     \
  } while (false)
