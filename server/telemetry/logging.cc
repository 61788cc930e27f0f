#include "server/telemetry/logging.h"

#include <spdlog/pattern_formatter.h>

#include <chrono>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"

namespace cycle_claimer {
namespace {

LogFormat current_format = LogFormat::kText;

// The fields of the event being logged by this thread (LogEvent), already
// rendered as JSON members; null for a plain message.
thread_local const std::string* event_members = nullptr;

// Formats a whole line as one JSON object.
class JsonLine final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& message, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const absl::Time time = absl::FromChrono(message.time);
    const auto level = spdlog::level::to_string_view(message.level);
    std::string line = absl::StrCat(
        "{\"time\":\"",
        absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", time, absl::UTCTimeZone()),
        "\",\"level\":\"", absl::string_view(level.data(), level.size()),
        "\",\"msg\":\"",
        JsonEscape(absl::string_view(message.payload.data(),
                                     message.payload.size())),
        "\"");
    if (event_members != nullptr && !event_members->empty()) {
      absl::StrAppend(&line, ",", *event_members);
    }
    line += "}";
    dest.append(line.data(), line.data() + line.size());
  }

  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonLine>();
  }
};

bool NeedsQuotes(absl::string_view value) {
  if (value.empty()) return true;
  for (char ch : value) {
    if (ch == ' ' || ch == '"' || ch == '=' ||
        static_cast<unsigned char>(ch) < 0x20) {
      return true;
    }
  }
  return false;
}

}  // namespace

absl::StatusOr<LogFormat> ParseLogFormat(absl::string_view text) {
  if (text == "text") return LogFormat::kText;
  if (text == "json") return LogFormat::kJson;
  return absl::InvalidArgumentError(
      absl::StrCat("log_format must be text or json, got \"", text, "\""));
}

absl::StatusOr<spdlog::level::level_enum> ParseLogLevel(
    absl::string_view text) {
  static constexpr std::pair<absl::string_view, spdlog::level::level_enum>
      kLevels[] = {{"trace", spdlog::level::trace},
                   {"debug", spdlog::level::debug},
                   {"info", spdlog::level::info},
                   {"warn", spdlog::level::warn},
                   {"warning", spdlog::level::warn},
                   {"error", spdlog::level::err},
                   {"err", spdlog::level::err},
                   {"critical", spdlog::level::critical},
                   {"off", spdlog::level::off}};
  for (const auto& [name, level] : kLevels) {
    if (text == name) return level;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "log_level must be trace, debug, info, warn, error, critical or off, "
      "got \"",
      text, "\""));
}

void ConfigureLogging(LogFormat format) {
  current_format = format;
  if (format == LogFormat::kJson) {
    auto formatter = std::make_unique<spdlog::pattern_formatter>();
    formatter->add_flag<JsonLine>('*').set_pattern("%*");
    spdlog::set_formatter(std::move(formatter));
  } else {
    spdlog::set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%l] %v");
  }
}

std::string JsonEscape(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    const auto byte = static_cast<unsigned char>(ch);
    if (ch == '"') {
      out += "\\\"";
    } else if (ch == '\\') {
      out += "\\\\";
    } else if (ch == '\n') {
      out += "\\n";
    } else if (byte < 0x20) {
      out += absl::StrFormat("\\u%04x", byte);
    } else {
      out += ch;
    }
  }
  return out;
}

void LogEvent(spdlog::level::level_enum level, absl::string_view message,
              const std::vector<LogField>& fields) {
  if (!spdlog::should_log(level)) return;
  if (current_format == LogFormat::kJson) {
    std::string members;
    for (const LogField& field : fields) {
      if (!members.empty()) members += ',';
      absl::StrAppend(&members, "\"", JsonEscape(field.key), "\":");
      if (field.number) {
        members += field.value;
      } else {
        absl::StrAppend(&members, "\"", JsonEscape(field.value), "\"");
      }
    }
    event_members = &members;
    spdlog::log(level, "{}", std::string(message));
    event_members = nullptr;
    return;
  }
  std::string line(message);
  for (const LogField& field : fields) {
    absl::StrAppend(&line, " ", field.key, "=");
    if (NeedsQuotes(field.value)) {
      absl::StrAppend(&line, "\"", JsonEscape(field.value), "\"");
    } else {
      line += field.value;
    }
  }
  spdlog::log(level, "{}", line);
}

}  // namespace cycle_claimer
