#pragma once

// Log lines as text (default) or one JSON object per line (--log_format=json)
// for log aggregation. Everything logged through spdlog follows the format.

#include <spdlog/spdlog.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cycle_claimer {

enum class LogFormat { kText, kJson };

// "text" or "json"; INVALID_ARGUMENT naming log_format otherwise.
absl::StatusOr<LogFormat> ParseLogFormat(absl::string_view text);

// trace, debug, info, warn (or warning), error (or err), critical or off;
// INVALID_ARGUMENT naming log_level otherwise (spdlog itself would silently
// turn logging off for a misspelt level).
absl::StatusOr<spdlog::level::level_enum> ParseLogLevel(absl::string_view text);

// Installs `format` on spdlog's default logger.
void ConfigureLogging(LogFormat format);

// A key and its value, for LogEvent. Numbers go unquoted in JSON.
struct LogField {
  std::string key;
  std::string value;
  bool number = false;
};

// Logs `message` with `fields`: as "message key=value ..." in text (values
// with spaces or quotes quoted), as {"time":..,"level":..,"msg":..,key:value}
// in JSON.
void LogEvent(spdlog::level::level_enum level, absl::string_view message,
              const std::vector<LogField>& fields);

// `text` as the inside of a JSON string.
std::string JsonEscape(absl::string_view text);

}  // namespace cycle_claimer
