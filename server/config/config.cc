#include "server/config/config.h"

#include <libpq-fe.h>
#include <unistd.h>

#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

extern char** environ;

namespace cycle_claimer {
namespace {

constexpr FlagVariable kFlagVariables[] = {
    {"listen", "LISTEN_ADDRESS"},
    {"pool_size", "POOL_SIZE"},
    {"prepared_statements", "PREPARED_STATEMENTS"},
    {"default_lease", "DEFAULT_LEASE"},
    {"max_lease", "MAX_LEASE"},
    {"max_attempts", "MAX_ATTEMPTS"},
    {"retry_base_delay", "RETRY_BASE_DELAY"},
    {"max_wait_timeout", "MAX_WAIT_TIMEOUT"},
    {"coalesce", "COALESCE"},
    {"migrate", "MIGRATE"},
    {"index_check_interval", "INDEX_CHECK_INTERVAL"},
    {"demo_cycles", "DEMO_CYCLES"},
    {"shutdown_grace", "SHUTDOWN_GRACE"},
    {"shutdown_drain", "SHUTDOWN_DRAIN"},
    {"tls_cert", "TLS_CERT"},
    {"tls_key", "TLS_KEY"},
    {"tls_client_ca", "TLS_CLIENT_CA"},
    {"plaintext", "PLAINTEXT"},
    {"tokens_file", "TOKENS_FILE"},
    {"health_check_interval", "HEALTH_CHECK_INTERVAL"},
    {"statement_timeout", "STATEMENT_TIMEOUT"},
    {"max_message_bytes", "MAX_MESSAGE_BYTES"},
    {"max_long_polls", "MAX_LONG_POLLS"},
    {"max_long_polls_per_worker", "MAX_LONG_POLLS_PER_WORKER"},
    {"metrics_addr", "METRICS_ADDR"},
    {"stats_interval", "STATS_INTERVAL"},
    {"log_format", "LOG_FORMAT"},
    {"log_level", "LOG_LEVEL"},
};

// The length of the longest prefix of `text` that occurs in `secret`, if it
// is at least kMinRedactedBytes; else 0. A prefix of an occurring string
// occurs too, so the length can be searched for.
std::size_t SecretRunAt(absl::string_view text, absl::string_view secret) {
  const auto occurs = [&](std::size_t length) {
    return secret.find(text.substr(0, length)) != absl::string_view::npos;
  };
  if (text.size() < kMinRedactedBytes || !occurs(kMinRedactedBytes)) return 0;
  std::size_t found = kMinRedactedBytes;  // occurs
  std::size_t missing = found;            // smallest length known not to
  while (missing <= text.size() && occurs(missing)) {
    found = missing;
    missing *= 2;
  }
  missing = std::min(missing, text.size() + 1);
  while (missing - found > 1) {
    const std::size_t middle = found + (missing - found) / 2;
    (occurs(middle) ? found : missing) = middle;
  }
  return found;
}

// libpq's `reason` with what it quotes (from the text it could not parse)
// replaced by "...", but for the punctuation its own messages quote, as in
// `missing "=" after "..."`. Quotes in the text itself can pair up wrongly;
// CheckDatabaseUrl's RedactFragments catches what that leaves out.
std::string WithoutQuotedText(absl::string_view reason) {
  std::string shown;
  while (!reason.empty()) {
    const std::size_t open = reason.find('"');
    if (open == absl::string_view::npos) break;
    absl::StrAppend(&shown, reason.substr(0, open + 1));
    reason.remove_prefix(open + 1);
    const std::size_t close = reason.find('"');
    const absl::string_view quoted = reason.substr(0, close);
    const bool own =
        quoted == "=" || quoted == "]" || quoted == ":" || quoted == "/";
    absl::StrAppend(&shown, own ? quoted : "...");
    if (close == absl::string_view::npos) return shown;
    shown += '"';
    reason.remove_prefix(close + 1);
  }
  absl::StrAppend(&shown, reason);
  return shown;
}

}  // namespace

Environment ProcessEnvironment() {
  Environment environment;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const absl::string_view text(*entry);
    const std::size_t equals = text.find('=');
    if (equals == absl::string_view::npos) continue;
    environment.emplace(text.substr(0, equals), text.substr(equals + 1));
  }
  return environment;
}

absl::Span<const FlagVariable> FlagVariables() { return kFlagVariables; }

absl::Status ApplyEnvironment(const Environment& environment,
                              FlagSetter set_flag) {
  for (const FlagVariable& pair : kFlagVariables) {
    const auto value = environment.find(pair.variable);
    if (value == environment.end()) continue;
    std::string error;
    if (!set_flag(pair.flag, value->second, &error)) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid ", pair.variable, ": ", error));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> DatabaseUrl(absl::string_view flag_name,
                                        absl::string_view flag_value,
                                        absl::string_view variable,
                                        const Environment& environment) {
  std::string url(flag_value);
  std::string source = absl::StrCat("--", flag_name);
  if (url.empty()) {
    const auto value = environment.find(variable);
    if (value == environment.end()) return url;
    url = value->second;
    source = std::string(variable);
  }
  const absl::Status checked = CheckDatabaseUrl(source, url);
  if (!checked.ok()) return checked;
  return url;
}

absl::Status CheckDatabaseUrl(absl::string_view source, absl::string_view url) {
  // libpq reads a C string: text after a NUL would be silently ignored.
  if (url.find('\0') != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, " must not contain NUL characters"));
  }
  char* error = nullptr;
  std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> options(
      PQconninfoParse(std::string(url).c_str(), &error), &PQconninfoFree);
  std::unique_ptr<char, decltype(&PQfreemem)> error_owner(error, &PQfreemem);
  if (options != nullptr) return absl::OkStatus();
  const absl::string_view reason =
      error == nullptr ? "out of memory"
                       : absl::StripTrailingAsciiWhitespace(error);
  return absl::InvalidArgumentError(absl::StrCat(
      source,
      " is not a PostgreSQL connection URL "
      "(postgresql://user:password@host:port/database?option=value) or "
      "key=value string (libpq: ",
      RedactFragments(WithoutQuotedText(reason), url), ")"));
}

std::string RedactFragments(absl::string_view message,
                            absl::string_view secret) {
  std::string redacted;
  std::size_t at = 0;
  while (at < message.size()) {
    const std::size_t run = SecretRunAt(message.substr(at), secret);
    if (run == 0) {
      redacted += message[at++];
      continue;
    }
    if (!absl::EndsWith(redacted, "...")) redacted += "...";
    at += run;
  }
  return redacted;
}

}  // namespace cycle_claimer
