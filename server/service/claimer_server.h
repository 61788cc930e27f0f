#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/domain/lease_policy.h"
#include "server/service/admin_service.h"
#include "server/service/claim_dispatcher.h"
#include "server/service/cycle_service.h"
#include "server/service/executor.h"
#include "server/service/long_poll_limiter.h"
#include "server/storage/cycle_repository.h"
#include "server/storage/database_probe.h"
#include "server/storage/notifier.h"
#include "server/storage/plan_growth.h"
#include "server/storage/schema_manager.h"
#include "server/telemetry/metrics.h"
#include "server/telemetry/metrics_http.h"

namespace cycle_claimer {

// PEM texts for TLS. With client_ca_pem set, clients must present a
// certificate signed by it (mutual TLS).
struct TlsOptions {
  std::string cert_pem;
  std::string key_pem;
  std::string client_ca_pem;
};

struct ServerOptions {
  // host:port to serve gRPC on; port 0 picks a free one (see port()).
  std::string listen_address = "0.0.0.0:50051";
  // libpq connection string or URL.
  std::string database_url;
  // Where the work that needs a session of its own goes: migrations and the
  // schema keeper (advisory locks, SET, CREATE INDEX CONCURRENTLY) and the
  // LISTEN that wakes long polls. Point it straight at PostgreSQL when
  // database_url goes through a transaction-mode pooler such as PgBouncer,
  // which hands each transaction to whichever server connection is free.
  // Empty: database_url.
  std::string direct_database_url;
  // Database connections, and threads running database work.
  int pool_size = 8;
  // Prepare each statement once per connection. Off, every call sends its
  // statement's text unnamed: needed behind PgBouncer in transaction mode
  // before 1.21, which cannot carry named prepared statements.
  bool prepared_statements = true;
  LeasePolicy policy;
  // Apply server/sql/migrations before serving.
  bool migrate = true;
  // How often to check that the claim index on arbitrage_cycles still exists
  // (TypeORM's synchronize drops it) and re-create it.
  absl::Duration index_check_interval = absl::Seconds(30);
  // How often to check that the database answers; grpc.health.v1 follows
  // (NOT_SERVING while it does not).
  absl::Duration health_check_interval = absl::Seconds(1);
  // The longest a statement may run; an RPC's deadline shortens it.
  absl::Duration statement_timeout = absl::Seconds(30);
  // Calls waiting for a database thread at most; more get RESOURCE_EXHAUSTED.
  std::size_t max_queued_calls = 10000;
  // Merge concurrent claims into one statement.
  bool coalesce = true;
  // Largest request accepted; larger ones get RESOURCE_EXHAUSTED.
  int max_message_bytes = 4 << 20;
  // Claims waiting for a cycle (wait_timeout > 0) at once, in all and per
  // worker id; more get RESOURCE_EXHAUSTED.
  int max_long_polls = 10000;
  int max_long_polls_per_worker = 32;
  // TLS, or else plaintext, which must be asked for: Start refuses neither.
  std::optional<TlsOptions> tls;
  bool plaintext = false;
  // host:port (or :port) to serve Prometheus metrics on at /metrics; port 0
  // picks a free one (see metrics_port()); empty: no metrics endpoint.
  std::string metrics_address;
  // How often to sample the queue (cycles per status, oldest claimable age,
  // leases) for the metrics: a query per interval, never one per scrape.
  absl::Duration stats_interval = absl::Seconds(10);
  // On Shutdown, new calls get UNAVAILABLE for this long (at most the
  // grace) while the calls in flight finish, before gRPC stops accepting
  // calls: a call arriving at a server in gRPC's own shutdown may be
  // CANCELLED, which clients do not retry.
  absl::Duration drain_period = absl::Seconds(1);
  // Bearer tokens; null or empty: no authentication.
  std::shared_ptr<const TokenRegistry> tokens;
};

// The cycle-claiming gRPC server: CycleService, CycleAdminService,
// grpc.health.v1 and server reflection, over a pool of PostgreSQL connections.
// Shared by the server binary, the tests and the benchmark.
class ClaimerServer {
 public:
  // Validates `options`, migrates when asked, starts serving, and starts the
  // index keeper. INVALID_ARGUMENT for bad options (including neither TLS nor
  // plaintext asked for), UNAVAILABLE when a
  // migration cannot reach the database, INTERNAL when the address cannot be
  // bound. Without migration the server starts even if the database is down:
  // calls get UNAVAILABLE until it is back.
  static absl::StatusOr<std::unique_ptr<ClaimerServer>> Start(
      ServerOptions options);

  // Stops like Shutdown with no grace.
  ~ClaimerServer();

  // The port gRPC listens on.
  int port() const { return port_; }

  CycleRepository& repository() { return *repository_; }

  // The port /metrics is served on; 0 when there is no metrics endpoint.
  int metrics_port() const { return metrics_http_ ? metrics_http_->port() : 0; }

  Metrics& metrics() { return metrics_; }

  // Claims waiting (long-polling) for a cycle right now.
  int waiting_claims() const { return dispatcher_->waiting(); }

  // Reports NOT_SERVING, answers waiting long polls with no cycle and new
  // calls with UNAVAILABLE for options.drain_period, then stops accepting
  // calls; calls in flight may finish within `grace` in all (then they are
  // cancelled). Stops the background work. Idempotent.
  void Shutdown(absl::Duration grace);

 private:
  explicit ClaimerServer(ServerOptions options);
  void KeepIndex();
  void WatchHealth();
  // Reads the queue's figures for the metrics.
  void SampleQueue();
  void AddCollectedMetrics();
  // Probes the database once and updates grpc.health.v1 on a change.
  void CheckHealth();
  // Re-plans the prepared statements when the claim's tables have doubled
  // (storage/plan_growth.h); health_watcher_ only.
  void CheckPlanGrowth();

  const ServerOptions options_;
  Metrics metrics_;
  CallGate gate_;
  SchemaManager schema_;
  std::unique_ptr<CycleRepository> repository_;
  std::unique_ptr<ClaimDispatcher> dispatcher_;
  std::unique_ptr<LongPollLimiter> long_polls_;
  std::unique_ptr<Executor> executor_;
  std::unique_ptr<ClaimableNotifier> notifier_;
  std::unique_ptr<CycleServiceImpl> service_;
  std::unique_ptr<AdminServiceImpl> admin_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;

  std::mutex mu_;
  std::condition_variable stop_;
  bool stopping_ = false;
  std::thread index_keeper_;
  std::unique_ptr<DatabaseProbe> probe_;
  std::atomic<int> database_up_{-1};  // the last probe's verdict; -1: none yet
  std::thread health_watcher_;
  PlanGrowth plan_growth_;  // health_watcher_ only
  std::unique_ptr<MetricsHttpServer> metrics_http_;
  // The last queue sample, and when it was taken.
  std::mutex sample_mu_;
  std::optional<QueueStats> queue_sample_;
  absl::Time sampled_at_ = absl::InfinitePast();
};

}  // namespace cycle_claimer
