// ListCycles page tokens (server/service/requests.h): any text DecodePageToken
// accepts decodes to a canonical position that encodes and decodes back to
// itself; anything else is INVALID_ARGUMENT naming page_token. And every
// position (any time, any UUID) survives EncodePageToken then
// DecodePageToken.

#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "server/domain/validation.h"
#include "server/service/requests.h"
#include "tests/fuzz/fuzz_support.h"

namespace cycle_claimer {
namespace {

bool SamePosition(const PagePosition& a, const PagePosition& b) {
  return a.start_time == b.start_time && a.id == b.id;
}

void CheckDecode(absl::string_view token) {
  const absl::StatusOr<PagePosition> position = DecodePageToken(token);
  if (!position.ok()) {
    FUZZ_CHECK(position.status().code() == absl::StatusCode::kInvalidArgument,
               position.status().ToString());
    FUZZ_CHECK(absl::StartsWith(position.status().message(), "page_token"),
               position.status().ToString());
    return;
  }
  const absl::StatusOr<std::string> id = ParseUuid("id", position->id);
  FUZZ_CHECK(id.ok() && *id == position->id, position->id);
  const std::string again = EncodePageToken(*position);
  const absl::StatusOr<PagePosition> decoded = DecodePageToken(again);
  FUZZ_CHECK(decoded.ok() && SamePosition(*decoded, *position), again);
  FUZZ_CHECK(EncodePageToken(*decoded) == again, again);
}

void CheckRoundTrip(FuzzedDataProvider& input) {
  const uint64_t high = input.ConsumeIntegral<uint64_t>();
  const uint64_t low = input.ConsumeIntegral<uint64_t>();
  const PagePosition position{
      absl::FromUnixMicros(input.ConsumeIntegral<int64_t>()),
      absl::StrFormat("%08x-%04x-%04x-%04x-%012x", high >> 32,
                      (high >> 16) & 0xffff, high & 0xffff, low >> 48,
                      low & 0xffffffffffff)};
  const std::string token = EncodePageToken(position);
  const absl::StatusOr<PagePosition> decoded = DecodePageToken(token);
  FUZZ_CHECK(decoded.ok() && SamePosition(*decoded, position),
             decoded.status().ToString(), " for ", token);
}

}  // namespace
}  // namespace cycle_claimer

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  FuzzedDataProvider input(data, size);
  cycle_claimer::CheckDecode(
      absl::string_view(reinterpret_cast<const char*>(data), size));
  cycle_claimer::CheckRoundTrip(input);
  return 0;
}
