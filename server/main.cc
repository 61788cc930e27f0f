// cycle-claimer-server: flags and wiring only; see server/service for the rest.

#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "server/config/config.h"
#include "server/service/claimer_server.h"
#include "server/telemetry/logging.h"

ABSL_FLAG(std::string, listen, "0.0.0.0:50051",
          "host:port to serve gRPC on. Env: LISTEN_ADDRESS.");
ABSL_FLAG(std::string, database_url, "",
          "PostgreSQL connection URL or libpq string (required). Env: "
          "DATABASE_URL. Prefer the environment: flags show up in ps.");
ABSL_FLAG(std::string, direct_database_url, "",
          "PostgreSQL URL for migrations, the schema keeper and LISTEN, which "
          "need a session of their own: set it, bypassing the pooler, when "
          "--database_url goes through PgBouncer in transaction mode. Empty: "
          "--database_url. Env: DIRECT_DATABASE_URL.");
ABSL_FLAG(int, pool_size, 8,
          "Database connections (and database threads). Env: POOL_SIZE.");
ABSL_FLAG(bool, prepared_statements, true,
          "Prepare statements on each database connection; false behind "
          "PgBouncer in transaction mode before 1.21. Env: "
          "PREPARED_STATEMENTS.");
ABSL_FLAG(absl::Duration, default_lease, absl::Minutes(5),
          "Lease length when a claim does not ask for one. Env: "
          "DEFAULT_LEASE.");
ABSL_FLAG(absl::Duration, max_lease, absl::Hours(1),
          "Longest lease a request may ask for. Env: MAX_LEASE.");
ABSL_FLAG(int, max_attempts, 5,
          "Failed attempts (failures and expired leases) before DEAD_LETTER. "
          "Env: MAX_ATTEMPTS.");
ABSL_FLAG(absl::Duration, retry_base_delay, absl::Minutes(10),
          "Backoff after the n-th failure is this times 2^(n-1). Env: "
          "RETRY_BASE_DELAY.");
ABSL_FLAG(absl::Duration, max_wait_timeout, absl::Seconds(60),
          "Longest a claim may long-poll (wait_timeout is capped at this). "
          "Env: MAX_WAIT_TIMEOUT.");
ABSL_FLAG(bool, coalesce, true,
          "Merge concurrent claims into one statement. Env: COALESCE.");
ABSL_FLAG(bool, migrate, true,
          "Apply the schema migrations at start. Env: MIGRATE.");
ABSL_FLAG(absl::Duration, index_check_interval, absl::Seconds(30),
          "How often to check (and re-create) the claim index on "
          "arbitrage_cycles, and that it has planner statistics (ANALYZE "
          "when it has rows but none). Env: INDEX_CHECK_INTERVAL.");
ABSL_FLAG(int, demo_cycles, 0,
          "Insert this many AWAITING_REBALANCE cycles at start (demos). Env: "
          "DEMO_CYCLES.");
ABSL_FLAG(absl::Duration, shutdown_grace, absl::Seconds(10),
          "On SIGINT/SIGTERM, how long calls in flight may take to finish. "
          "Env: SHUTDOWN_GRACE.");
ABSL_FLAG(absl::Duration, shutdown_drain, absl::Seconds(1),
          "On SIGTERM, answer new calls with UNAVAILABLE for this long "
          "(within --shutdown_grace) before gRPC stops accepting calls. Env: "
          "SHUTDOWN_DRAIN.");
ABSL_FLAG(std::string, tls_cert, "",
          "PEM certificate chain file for TLS. Env: TLS_CERT.");
ABSL_FLAG(std::string, tls_key, "",
          "PEM private key file for TLS. Env: TLS_KEY.");
ABSL_FLAG(std::string, tls_client_ca, "",
          "PEM CA file: clients must present a certificate it signed "
          "(mutual TLS). Env: TLS_CLIENT_CA.");
ABSL_FLAG(bool, plaintext, false,
          "Serve without TLS (only when asked for; warns beyond loopback). "
          "Env: PLAINTEXT.");
ABSL_FLAG(std::string, tokens_file, "",
          "File of bearer tokens, lines \"worker <token>\" or \"admin "
          "<token>\"; without it (and without $CYCLE_CLAIMER_TOKENS, the same "
          "text) calls need no token. Env: TOKENS_FILE.");
ABSL_FLAG(absl::Duration, health_check_interval, absl::Seconds(1),
          "How often to check that the database answers; grpc.health.v1 "
          "reports NOT_SERVING while it does not. Env: "
          "HEALTH_CHECK_INTERVAL.");
ABSL_FLAG(absl::Duration, statement_timeout, absl::Seconds(30),
          "The longest a database statement may run; a call's gRPC deadline "
          "shortens it. 0: no limit. Env: STATEMENT_TIMEOUT.");
ABSL_FLAG(int, max_message_bytes, 4 << 20,
          "Largest request accepted, in bytes; larger ones get "
          "RESOURCE_EXHAUSTED. Env: MAX_MESSAGE_BYTES.");
ABSL_FLAG(int, max_long_polls, 10000,
          "Claims waiting for a cycle at once on this server; more get "
          "RESOURCE_EXHAUSTED. Env: MAX_LONG_POLLS.");
ABSL_FLAG(int, max_long_polls_per_worker, 32,
          "Claims waiting for a cycle at once per worker_id. Env: "
          "MAX_LONG_POLLS_PER_WORKER.");
ABSL_FLAG(std::string, metrics_addr, ":9464",
          "host:port (or :port, all interfaces) to serve Prometheus metrics "
          "on, at /metrics; empty: none. Env: METRICS_ADDR.");
ABSL_FLAG(absl::Duration, stats_interval, absl::Seconds(10),
          "How often to sample the queue (cycles per status, oldest "
          "claimable age) for the metrics. Env: STATS_INTERVAL.");
ABSL_FLAG(std::string, log_format, "text",
          "text, or json (one object per line, for log aggregation). Env: "
          "LOG_FORMAT.");
ABSL_FLAG(std::string, log_level, "info",
          "trace, debug, info, warn, error, critical or off; anything else "
          "stops the start. Env: LOG_LEVEL.");

namespace {

// Gives a flag of this file the text of its environment variable.
bool SetFlag(absl::string_view name, absl::string_view value,
             std::string* error) {
  absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
  return flag != nullptr && flag->ParseFrom(value, error);
}

absl::StatusOr<std::string> ReadFile(const std::string& flag,
                                     const std::string& path) {
  std::ifstream file(path);
  if (!file) return absl::NotFoundError("cannot read --" + flag + " " + path);
  return std::string(std::istreambuf_iterator<char>(file), {});
}

// TLS from --tls_cert/--tls_key (and --tls_client_ca); nullopt without them.
absl::StatusOr<std::optional<cycle_claimer::TlsOptions>> Tls() {
  const std::string cert = absl::GetFlag(FLAGS_tls_cert);
  const std::string key = absl::GetFlag(FLAGS_tls_key);
  const std::string ca = absl::GetFlag(FLAGS_tls_client_ca);
  if (cert.empty() && key.empty()) {
    if (!ca.empty()) {
      return absl::InvalidArgumentError(
          "--tls_client_ca needs --tls_cert and --tls_key");
    }
    return std::optional<cycle_claimer::TlsOptions>();
  }
  if (cert.empty() || key.empty()) {
    return absl::InvalidArgumentError("--tls_cert and --tls_key go together");
  }
  cycle_claimer::TlsOptions tls;
  absl::StatusOr<std::string> text = ReadFile("tls_cert", cert);
  if (!text.ok()) return text.status();
  tls.cert_pem = *std::move(text);
  text = ReadFile("tls_key", key);
  if (!text.ok()) return text.status();
  tls.key_pem = *std::move(text);
  if (!ca.empty()) {
    text = ReadFile("tls_client_ca", ca);
    if (!text.ok()) return text.status();
    tls.client_ca_pem = *std::move(text);
  }
  return std::optional<cycle_claimer::TlsOptions>(std::move(tls));
}

// The accepted bearer tokens, from --tokens_file or $CYCLE_CLAIMER_TOKENS
// (never a flag's value: flags show in ps); null when neither is set.
absl::StatusOr<std::shared_ptr<const cycle_claimer::TokenRegistry>> Tokens() {
  std::string text;
  if (const std::string path = absl::GetFlag(FLAGS_tokens_file);
      !path.empty()) {
    std::ifstream file(path);
    if (!file) return absl::NotFoundError("cannot read --tokens_file " + path);
    text.assign(std::istreambuf_iterator<char>(file), {});
  } else if (const char* from_environment =
                 std::getenv("CYCLE_CLAIMER_TOKENS")) {
    text = from_environment;
  } else {
    return std::shared_ptr<const cycle_claimer::TokenRegistry>();
  }
  absl::StatusOr<cycle_claimer::TokenRegistry> tokens =
      cycle_claimer::TokenRegistry::Parse(text);
  if (!tokens.ok()) return tokens.status();
  return std::make_shared<const cycle_claimer::TokenRegistry>(
      *std::move(tokens));
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Hands kimP arbitrage cycles to finalizer workers under leases with "
      "fencing tokens.\nEvery flag can also be set by the environment variable "
      "named in its help; a flag on the command line wins.");
  // --help lists the flags of this file (Abseil's default looks for a file
  // named after the binary).
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = [](absl::string_view file) {
    return absl::EndsWith(file, "server/main.cc");
  };
  usage.contains_helpshort_flags = usage.contains_help_flags;
  absl::SetFlagsUsageConfig(usage);
  // Environment variables set flags; the command line wins.
  const cycle_claimer::Environment environment =
      cycle_claimer::ProcessEnvironment();
  if (const absl::Status applied =
          cycle_claimer::ApplyEnvironment(environment, SetFlag);
      !applied.ok()) {
    std::cerr << applied.message() << "\n";
    return 2;
  }
  absl::ParseCommandLine(argc, argv);

  const absl::StatusOr<spdlog::level::level_enum> log_level =
      cycle_claimer::ParseLogLevel(absl::GetFlag(FLAGS_log_level));
  if (!log_level.ok()) {
    spdlog::critical("cannot start: {}", log_level.status().ToString());
    return 2;
  }
  spdlog::set_level(*log_level);
  const absl::StatusOr<cycle_claimer::LogFormat> log_format =
      cycle_claimer::ParseLogFormat(absl::GetFlag(FLAGS_log_format));
  if (!log_format.ok()) {
    spdlog::critical("cannot start: {}", log_format.status().ToString());
    return 2;
  }
  cycle_claimer::ConfigureLogging(*log_format);
  // libpq waits for the OS's TCP timeout on an unreachable host unless told
  // otherwise; a database that is down must turn into UNAVAILABLE quickly.
  setenv("PGCONNECT_TIMEOUT", "5", /*overwrite=*/0);

  // Block the stop signals in every thread; main waits for them below.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  cycle_claimer::ServerOptions options;
  options.listen_address = absl::GetFlag(FLAGS_listen);
  absl::StatusOr<std::string> database_url = cycle_claimer::DatabaseUrl(
      "database_url", absl::GetFlag(FLAGS_database_url), "DATABASE_URL",
      environment);
  absl::StatusOr<std::string> direct_database_url = cycle_claimer::DatabaseUrl(
      "direct_database_url", absl::GetFlag(FLAGS_direct_database_url),
      "DIRECT_DATABASE_URL", environment);
  for (const absl::StatusOr<std::string>* url :
       {&database_url, &direct_database_url}) {
    if (!url->ok()) {
      spdlog::critical("cannot start: {}", url->status().ToString());
      return 1;
    }
  }
  options.database_url = *std::move(database_url);
  options.direct_database_url = *std::move(direct_database_url);
  options.pool_size = absl::GetFlag(FLAGS_pool_size);
  options.prepared_statements = absl::GetFlag(FLAGS_prepared_statements);
  options.policy.default_lease = absl::GetFlag(FLAGS_default_lease);
  options.policy.max_lease = absl::GetFlag(FLAGS_max_lease);
  options.policy.max_attempts = absl::GetFlag(FLAGS_max_attempts);
  options.policy.retry_base_delay = absl::GetFlag(FLAGS_retry_base_delay);
  options.policy.max_wait = absl::GetFlag(FLAGS_max_wait_timeout);
  options.coalesce = absl::GetFlag(FLAGS_coalesce);
  options.migrate = absl::GetFlag(FLAGS_migrate);
  auto tls = Tls();
  if (!tls.ok()) {
    spdlog::critical("cannot start: {}", tls.status().ToString());
    return 1;
  }
  options.tls = *std::move(tls);
  options.plaintext = absl::GetFlag(FLAGS_plaintext);
  auto tokens = Tokens();
  if (!tokens.ok()) {
    spdlog::critical("cannot start: {}", tokens.status().ToString());
    return 1;
  }
  options.tokens = *std::move(tokens);
  spdlog::info(options.tokens ? "authentication on: calls need a bearer token"
                              : "authentication off: no tokens configured");
  options.index_check_interval = absl::GetFlag(FLAGS_index_check_interval);
  options.health_check_interval = absl::GetFlag(FLAGS_health_check_interval);
  options.statement_timeout = absl::GetFlag(FLAGS_statement_timeout);
  options.max_message_bytes = absl::GetFlag(FLAGS_max_message_bytes);
  options.metrics_address = absl::GetFlag(FLAGS_metrics_addr);
  options.stats_interval = absl::GetFlag(FLAGS_stats_interval);
  options.drain_period = absl::GetFlag(FLAGS_shutdown_drain);
  options.max_long_polls = absl::GetFlag(FLAGS_max_long_polls);
  options.max_long_polls_per_worker =
      absl::GetFlag(FLAGS_max_long_polls_per_worker);

  auto server = cycle_claimer::ClaimerServer::Start(std::move(options));
  if (!server.ok()) {
    spdlog::critical("cannot start: {}", server.status().ToString());
    return 1;
  }
  if (const int demo = absl::GetFlag(FLAGS_demo_cycles); demo > 0) {
    const absl::Status inserted =
        (*server)->repository().InsertDemoCycles(demo);
    if (!inserted.ok()) {
      spdlog::critical("cannot insert demo cycles: {}", inserted.ToString());
      return 1;
    }
    spdlog::info("inserted {} AWAITING_REBALANCE demo cycles", demo);
  }
  spdlog::info("serving kimp.cycles.v1.CycleService on {} (port {})",
               absl::GetFlag(FLAGS_listen), (*server)->port());

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  spdlog::info("received signal {}; draining calls for up to {}", signal_number,
               absl::FormatDuration(absl::GetFlag(FLAGS_shutdown_grace)));
  (*server)->Shutdown(absl::GetFlag(FLAGS_shutdown_grace));
  spdlog::info("stopped");
  return 0;
}
