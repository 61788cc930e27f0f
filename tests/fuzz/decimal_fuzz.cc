// CheckDecimal (server/domain/validation.h) both ways, for any
// numeric(precision, scale): text it accepts is a number that
// numeric(precision, scale) holds exactly (it parses, and its value read as
// an integer count of 10^-scale units and printed back equals its canonical
// form); and every value such a column holds, written as a decimal, is
// accepted.

#include <fuzzer/FuzzedDataProvider.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "server/domain/validation.h"
#include "tests/fuzz/fuzz_support.h"

namespace cycle_claimer {
namespace {

using Units = unsigned __int128;

Units PowerOfTen(int exponent) {
  Units power = 1;
  for (int i = 0; i < exponent; ++i) power *= 10;
  return power;
}

std::string DigitsOf(Units value) {
  std::string digits;
  do {
    digits.insert(digits.begin(), static_cast<char>('0' + value % 10));
    value /= 10;
  } while (value != 0);
  return digits;
}

// `units` 10^-scale units, printed with exactly `scale` fraction digits.
std::string Print(bool negative, Units units, int scale) {
  std::string digits = DigitsOf(units);
  if (digits.size() <= static_cast<std::size_t>(scale)) {
    digits.insert(0, scale + 1 - digits.size(), '0');
  }
  std::string text = negative && units != 0 ? "-" : "";
  text += digits.substr(0, digits.size() - scale);
  if (scale > 0) text += "." + digits.substr(digits.size() - scale);
  return text;
}

// The same number as `text` (accepted by CheckDecimal) written like Print:
// no '+', no leading zeros, `scale` fraction digits, no "-0".
std::string Canonical(absl::string_view text, int scale) {
  bool negative = false;
  if (absl::ConsumePrefix(&text, "-")) {
    negative = true;
  } else {
    absl::ConsumePrefix(&text, "+");
  }
  const std::size_t point = text.find('.');
  absl::string_view integer = text.substr(0, point);
  std::string fraction(point == absl::string_view::npos
                           ? absl::string_view()
                           : text.substr(point + 1));
  while (integer.size() > 1 && integer.front() == '0') integer.remove_prefix(1);
  fraction.append(scale - fraction.size(), '0');
  const bool zero =
      integer == "0" && fraction.find_first_not_of('0') == std::string::npos;
  std::string canonical = negative && !zero ? "-" : "";
  absl::StrAppend(&canonical, integer);
  if (scale > 0) absl::StrAppend(&canonical, ".", fraction);
  return canonical;
}

// The value of accepted `text` in 10^-scale units; fails the run if it does
// not fit numeric(precision, scale).
Units UnitsOf(absl::string_view text, int precision, int scale) {
  if (!absl::ConsumePrefix(&text, "-")) absl::ConsumePrefix(&text, "+");
  const std::size_t point = text.find('.');
  const absl::string_view integer = text.substr(0, point);
  const absl::string_view fraction = point == absl::string_view::npos
                                         ? absl::string_view()
                                         : text.substr(point + 1);
  const Units limit = PowerOfTen(precision);
  Units units = 0;
  for (char digit : integer) {
    units = units * 10 + (digit - '0');
    // Leading zeros keep it at zero; anything else must stay in range.
    FUZZ_CHECK(units < limit, text, " overflows numeric(", precision, ",",
               scale, ")");
  }
  for (int i = 0; i < scale; ++i) {
    const int digit =
        i < static_cast<int>(fraction.size()) ? fraction[i] - '0' : 0;
    units = units * 10 + digit;
    FUZZ_CHECK(units < limit, text, " overflows numeric(", precision, ",",
               scale, ")");
  }
  FUZZ_CHECK(fraction.size() <= static_cast<std::size_t>(scale), text,
             " would be rounded to scale ", scale);
  return units;
}

void CheckAcceptedText(absl::string_view text, int precision, int scale) {
  const absl::Status status = CheckDecimal("amount", text, precision, scale);
  if (!status.ok()) {
    FUZZ_CHECK(status.code() == absl::StatusCode::kInvalidArgument,
               status.ToString());
    FUZZ_CHECK(absl::StartsWith(status.message(), "amount"), status.ToString());
    FUZZ_CHECK(!fuzz::IsValidUtf8(text) || fuzz::IsValidUtf8(status.message()),
               status.ToString());
    return;
  }
  const Units units = UnitsOf(text, precision, scale);
  const bool negative = absl::StartsWith(text, "-");
  FUZZ_CHECK(Print(negative, units, scale) == Canonical(text, scale), text,
             " printed back as ", Print(negative, units, scale));
  // And it is a number to anyone else too.
  const std::string copy(text);
  char* end = nullptr;
  const double value = std::strtod(copy.c_str(), &end);
  FUZZ_CHECK(end == copy.c_str() + copy.size() && std::isfinite(value), text);
  const double expected = static_cast<double>(units) /
                          static_cast<double>(PowerOfTen(scale)) *
                          (negative ? -1 : 1);
  FUZZ_CHECK(
      std::fabs(value - expected) <= 1e-9 * std::max(1.0, std::fabs(expected)),
      text, " reads as ", value, " not ", expected);
}

// A value numeric(precision, scale) holds, written with optional sign,
// leading zeros and up to `scale` fraction digits: it must be accepted.
void CheckHeldValue(FuzzedDataProvider& input, int precision, int scale) {
  const Units limit = PowerOfTen(precision);
  const Units units =
      ((static_cast<Units>(input.ConsumeIntegral<uint64_t>()) << 64) |
       input.ConsumeIntegral<uint64_t>()) %
      limit;
  const bool negative = input.ConsumeBool();
  std::string text = Print(negative, units, scale);
  // Drop trailing fraction zeros (and then maybe the point), add a '+' or
  // leading zeros: the same number, other spellings.
  if (scale > 0) {
    const int drop = input.ConsumeIntegralInRange(0, scale);
    for (int i = 0; i < drop && text.back() == '0'; ++i) text.pop_back();
    if (text.back() == '.') text.pop_back();
  }
  const std::size_t digits_at = absl::StartsWith(text, "-") ? 1 : 0;
  text.insert(digits_at, input.ConsumeIntegralInRange(0, 3), '0');
  if (digits_at == 0 && input.ConsumeBool()) text.insert(0, "+");
  const absl::Status status = CheckDecimal("amount", text, precision, scale);
  FUZZ_CHECK(status.ok() || text.size() > 64, text, " in numeric(", precision,
             ",", scale, "): ", status.ToString());
}

}  // namespace
}  // namespace cycle_claimer

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  using namespace cycle_claimer;
  FuzzedDataProvider input(data, size);
  // kimP's columns are numeric(20,4) and numeric(10,4); any up to 38 digits
  // (what 128 bits hold) is checked.
  const int precision = input.ConsumeIntegralInRange(1, 38);
  const int scale = input.ConsumeIntegralInRange(0, precision);
  if (input.ConsumeBool()) {
    CheckHeldValue(input, precision, scale);
  } else {
    CheckAcceptedText(input.ConsumeRemainingBytesAsString(), precision, scale);
  }
  return 0;
}
