#include "server/service/claimer_server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <spdlog/spdlog.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/domain/status_macros.h"
#include "server/service/call_telemetry.h"

namespace cycle_claimer {

namespace {

std::shared_ptr<grpc::ServerCredentials> Credentials(
    const ServerOptions& options) {
  if (!options.tls) {
    const bool loopback =
        absl::StartsWith(options.listen_address, "127.") ||
        absl::StartsWith(options.listen_address, "localhost:") ||
        absl::StartsWith(options.listen_address, "[::1]:");
    if (!loopback) {
      spdlog::warn(
          "serving PLAINTEXT on {}: tokens and cycles cross the "
          "network unencrypted; use --tls_cert/--tls_key beyond a "
          "trusted network",
          options.listen_address);
    }
    return grpc::InsecureServerCredentials();
  }
  grpc::SslServerCredentialsOptions ssl(
      options.tls->client_ca_pem.empty()
          ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
          : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  ssl.pem_root_certs = options.tls->client_ca_pem;
  ssl.pem_key_cert_pairs.push_back(
      {options.tls->key_pem, options.tls->cert_pem});
  return grpc::SslServerCredentials(ssl);
}

// Where the connections that keep session state go.
const std::string& SessionDatabaseUrl(const ServerOptions& options) {
  return options.direct_database_url.empty() ? options.database_url
                                             : options.direct_database_url;
}

}  // namespace

ClaimerServer::ClaimerServer(ServerOptions options)
    : options_(std::move(options)), schema_(SessionDatabaseUrl(options_)) {}

absl::StatusOr<std::unique_ptr<ClaimerServer>> ClaimerServer::Start(
    ServerOptions options) {
  RETURN_IF_ERROR(ValidateLeasePolicy(options.policy));
  if (options.database_url.empty()) {
    return absl::InvalidArgumentError("database_url is required");
  }
  if (!options.tls && !options.plaintext) {
    return absl::InvalidArgumentError(
        "give --tls_cert and --tls_key, or ask for --plaintext explicitly");
  }
  if (options.max_message_bytes < 1024 || options.max_long_polls < 0 ||
      options.max_long_polls_per_worker < 0) {
    return absl::InvalidArgumentError(
        "max_message_bytes must be at least 1024 and the long-poll limits "
        "not negative");
  }
  if (options.pool_size < 1) {
    return absl::InvalidArgumentError("pool_size must be at least 1");
  }
  std::unique_ptr<ClaimerServer> server(new ClaimerServer(std::move(options)));
  const ServerOptions& opts = server->options_;
  server->gate_.tokens = opts.tokens.get();

  if (opts.migrate) {
    absl::Status migrated = server->schema_.Migrate();
    if (!migrated.ok()) {
      return absl::Status(migrated.code(), absl::StrCat("migration failed: ",
                                                        migrated.message()));
    }
    spdlog::info("schema is up to date");
  }

  server->repository_ = std::make_unique<CycleRepository>(RepositoryOptions{
      .database_url = opts.database_url,
      .pool_size = opts.pool_size,
      .statement_timeout = opts.statement_timeout,
      .policy = opts.policy,
      .prepared_statements = opts.prepared_statements,
  });
  server->executor_ =
      std::make_unique<Executor>(opts.pool_size, opts.max_queued_calls);
  server->dispatcher_ = std::make_unique<ClaimDispatcher>(
      *server->repository_, *server->executor_,
      DispatcherOptions{.coalesce = opts.coalesce,
                        .metrics = &server->metrics_});
  server->notifier_ = std::make_unique<ClaimableNotifier>(
      SessionDatabaseUrl(opts),
      [dispatcher = server->dispatcher_.get()] { dispatcher->Wake(); });
  server->long_polls_ = std::make_unique<LongPollLimiter>(
      opts.max_long_polls, opts.max_long_polls_per_worker);
  server->service_ = std::make_unique<CycleServiceImpl>(
      *server->repository_, *server->executor_, *server->dispatcher_,
      *server->long_polls_, opts.coalesce, server->gate_);

  server->admin_ = std::make_unique<AdminServiceImpl>(
      *server->repository_, *server->executor_, server->gate_);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(opts.listen_address, Credentials(opts),
                           &server->port_);
  builder.SetMaxReceiveMessageSize(opts.max_message_bytes);
  builder.experimental().SetInterceptorCreators(
      CallTelemetryInterceptors(server->metrics_));
  builder.RegisterService(server->service_.get());
  builder.RegisterService(server->admin_.get());
  server->server_ = builder.BuildAndStart();
  if (!server->server_ || server->port_ == 0) {
    return absl::InternalError(
        absl::StrCat("cannot listen on ", opts.listen_address));
  }
  // The first verdict before anyone asks; then one per interval.
  server->probe_ = std::make_unique<DatabaseProbe>(opts.database_url);
  server->CheckHealth();
  server->AddCollectedMetrics();
  if (!opts.metrics_address.empty()) {
    auto http = MetricsHttpServer::Start(
        opts.metrics_address,
        [metrics = &server->metrics_] { return metrics->Render(); });
    if (!http.ok()) return http.status();
    server->metrics_http_ = *std::move(http);
    spdlog::info("serving Prometheus metrics on {} at /metrics (port {})",
                 opts.metrics_address, server->metrics_http_->port());
  }
  server->health_watcher_ =
      std::thread([raw = server.get()] { raw->WatchHealth(); });
  server->index_keeper_ =
      std::thread([raw = server.get()] { raw->KeepIndex(); });
  return server;
}

ClaimerServer::~ClaimerServer() { Shutdown(absl::ZeroDuration()); }

void ClaimerServer::Shutdown(absl::Duration grace) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  stop_.notify_all();
  const absl::Time give_up = absl::Now() + grace;
  if (server_) server_->GetHealthCheckService()->Shutdown();
  gate_.draining = true;
  if (dispatcher_) dispatcher_->Shutdown();
  if (server_) {
    absl::SleepFor(std::min(options_.drain_period, grace));
    server_->Shutdown(std::chrono::system_clock::now() +
                      absl::ToChronoNanoseconds(
                          std::max(give_up - absl::Now(), absl::ZeroDuration())));
  }
  if (index_keeper_.joinable()) index_keeper_.join();
  if (health_watcher_.joinable()) health_watcher_.join();
  metrics_http_.reset();
  notifier_.reset();
  executor_.reset();  // finishes the work already queued
}

void ClaimerServer::KeepIndex() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    lock.unlock();
    const absl::StatusOr<int> built = schema_.EnsureKeptObjects();
    if (!built.ok()) {
      spdlog::warn("schema keeper check failed: {}", built.status().ToString());
    } else if (*built > 0) {
      spdlog::info(
          "re-created {} missing index(es)/trigger on arbitrage_cycles",
          *built);
    }
    const absl::StatusOr<bool> analyzed = schema_.EnsureClaimStatistics();
    if (!analyzed.ok()) {
      spdlog::warn("statistics check failed: {}",
                   analyzed.status().ToString());
    } else if (*analyzed) {
      spdlog::info(
          "analyzed arbitrage_cycles: it had rows but no statistics for the "
          "claim's plan");
    }
    lock.lock();
    stop_.wait_for(lock,
                   absl::ToChronoNanoseconds(options_.index_check_interval),
                   [this] { return stopping_; });
  }
}

void ClaimerServer::WatchHealth() {
  std::unique_lock lock(mu_);
  while (!stop_.wait_for(
      lock, absl::ToChronoNanoseconds(options_.health_check_interval),
      [this] { return stopping_; })) {
    lock.unlock();
    CheckHealth();
    bool due;
    {
      std::lock_guard sample_lock(sample_mu_);
      due = absl::Now() - sampled_at_ >= options_.stats_interval;
    }
    if (database_up_ == 1) CheckPlanGrowth();
    if (due && database_up_ == 1) SampleQueue();
    lock.lock();
  }
}

void ClaimerServer::CheckPlanGrowth() {
  const absl::StatusOr<std::pair<int64_t, int64_t>> sizes =
      repository_->ClaimTableSizes();
  if (!sizes.ok()) {
    spdlog::warn("cannot read the claim's table sizes: {}",
                 sizes.status().ToString());
    return;
  }
  if (plan_growth_.Observe(sizes->first, sizes->second)) {
    spdlog::info(
        "arbitrage_cycles ({} bytes) or cycle_leases ({} bytes) doubled: "
        "re-planning prepared statements",
        sizes->first, sizes->second);
    repository_->ReplanStatements();
  }
}

void ClaimerServer::SampleQueue() {
  absl::StatusOr<QueueStats> stats = repository_->Stats();
  std::lock_guard lock(sample_mu_);
  sampled_at_ = absl::Now();
  if (stats.ok()) {
    queue_sample_ = *std::move(stats);
  } else {
    spdlog::warn("cannot sample the queue for metrics: {}",
                 stats.status().ToString());
  }
}

void ClaimerServer::AddCollectedMetrics() {
  metrics_.AddCollected(
      "cycle_claimer_database_up", "gauge",
      "1 while the database answers the health probe, else 0.", [this] {
        return std::vector<GaugeSample>{{{}, database_up_ == 1 ? 1.0 : 0.0}};
      });
  metrics_.AddCollected(
      "cycle_claimer_long_polls_waiting", "gauge",
      "Claims waiting for a cycle right now.", [this] {
        return std::vector<GaugeSample>{
            {{}, static_cast<double>(dispatcher_->waiting())}};
      });
  metrics_.AddCollected(
      "cycle_claimer_long_polls_admitted", "gauge",
      "Claims with a wait_timeout in progress (counted against "
      "--max_long_polls).",
      [this] {
        return std::vector<GaugeSample>{
            {{}, static_cast<double>(long_polls_->active())}};
      });
  metrics_.AddCollected(
      "cycle_claimer_db_pool_connections", "gauge",
      "Database connections of the request pool: open, and in use by a "
      "call.",
      [this] {
        const PoolStats pool = repository_->pool_stats();
        return std::vector<GaugeSample>{
            {{{"state", "open"}}, static_cast<double>(pool.open)},
            {{{"state", "in_use"}}, static_cast<double>(pool.in_use)}};
      });
  const auto pool_counter = [this](const char* name, const char* help,
                                   int64_t PoolStats::*field) {
    metrics_.AddCollected(name, "counter", help, [this, field] {
      return std::vector<GaugeSample>{
          {{}, static_cast<double>(repository_->pool_stats().*field)}};
    });
  };
  pool_counter("cycle_claimer_db_pool_waits_total",
               "Calls that had to wait for a free database connection.",
               &PoolStats::waits);
  pool_counter("cycle_claimer_db_pool_acquire_timeouts_total",
               "Calls that gave up waiting for a database connection.",
               &PoolStats::acquire_timeouts);
  pool_counter("cycle_claimer_db_connect_failures_total",
               "Failed attempts to open a database connection.",
               &PoolStats::connect_failures);
  pool_counter("cycle_claimer_db_statements_cancelled_total",
               "Statements cancelled at their call's deadline or at "
               "--statement_timeout.",
               &PoolStats::cancelled_statements);
  metrics_.AddCollected(
      "cycle_claimer_cycles", "gauge",
      "Cycles per status in arbitrage_cycles (sampled every "
      "--stats_interval).",
      [this] {
        std::vector<GaugeSample> samples;
        std::lock_guard lock(sample_mu_);
        if (!queue_sample_) return samples;
        for (CycleStatus status : kAllCycleStatuses) {
          int64_t count = 0;
          for (const auto& [counted, n] : queue_sample_->counts) {
            if (counted == status) count = n;
          }
          samples.push_back({{{"status", std::string(CycleStatusLabel(status))}},
                             static_cast<double>(count)});
        }
        return samples;
      });
  metrics_.AddCollected(
      "cycle_claimer_oldest_claimable_age_seconds", "gauge",
      "How long the oldest claimable cycle has waited; 0 when none is "
      "(sampled).",
      [this] {
        std::lock_guard lock(sample_mu_);
        if (!queue_sample_) return std::vector<GaugeSample>();
        return std::vector<GaugeSample>{
            {{},
             queue_sample_->oldest_claimable_age
                 ? absl::ToDoubleSeconds(*queue_sample_->oldest_claimable_age)
                 : 0.0}};
      });
  metrics_.AddCollected(
      "cycle_claimer_leases", "gauge",
      "Leases held, live or expired and not yet taken over (sampled).", [this] {
        std::lock_guard lock(sample_mu_);
        if (!queue_sample_) return std::vector<GaugeSample>();
        return std::vector<GaugeSample>{
            {{{"state", "live"}},
             static_cast<double>(queue_sample_->live_leases)},
            {{{"state", "expired"}},
             static_cast<double>(queue_sample_->expired_leases)}};
      });
  metrics_.AddCollected(
      "cycle_claimer_queue_sample_age_seconds", "gauge",
      "Age of the queue sample behind cycle_claimer_cycles and friends.",
      [this] {
        std::lock_guard lock(sample_mu_);
        if (!queue_sample_) return std::vector<GaugeSample>();
        return std::vector<GaugeSample>{
            {{}, absl::ToDoubleSeconds(absl::Now() - sampled_at_)}};
      });
}

void ClaimerServer::CheckHealth() {
  const absl::Status answered = probe_->Check();
  const bool up = answered.ok();
  const int previous = database_up_.exchange(up ? 1 : 0);
  if (previous == (up ? 1 : 0)) return;
  const bool first = previous < 0;
  server_->GetHealthCheckService()->SetServingStatus(up);
  if (up) {
    if (!first) {
      spdlog::info("database is reachable again: health SERVING");
      // Connections from before the outage are broken; claims waiting for
      // a cycle may find one now.
      repository_->DropConnections();
      dispatcher_->Wake();
    }
  } else {
    spdlog::warn("database unreachable, health NOT_SERVING: {}",
                 std::string(answered.message()));
    repository_->DropConnections();
  }
}

}  // namespace cycle_claimer
