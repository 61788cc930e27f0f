#include "server/service/claimer_server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <spdlog/spdlog.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/domain/status_macros.h"

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
  if (options.pool_size < 1) {
    return absl::InvalidArgumentError("pool_size must be at least 1");
  }
  std::unique_ptr<ClaimerServer> server(new ClaimerServer(std::move(options)));
  const ServerOptions& opts = server->options_;

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
      .policy = opts.policy,
      .prepared_statements = opts.prepared_statements,
  });
  server->executor_ =
      std::make_unique<Executor>(opts.pool_size, opts.max_queued_calls);
  server->dispatcher_ = std::make_unique<ClaimDispatcher>(
      *server->repository_, *server->executor_,
      DispatcherOptions{.coalesce = opts.coalesce});
  server->notifier_ = std::make_unique<ClaimableNotifier>(
      SessionDatabaseUrl(opts),
      [dispatcher = server->dispatcher_.get()] { dispatcher->Wake(); });
  server->service_ = std::make_unique<CycleServiceImpl>(
      *server->repository_, *server->executor_, *server->dispatcher_,
      opts.coalesce, opts.tokens.get());

  server->admin_ = std::make_unique<AdminServiceImpl>(
      *server->repository_, *server->executor_, opts.tokens.get());

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(opts.listen_address, Credentials(opts),
                           &server->port_);
  builder.RegisterService(server->service_.get());
  builder.RegisterService(server->admin_.get());
  server->server_ = builder.BuildAndStart();
  if (!server->server_ || server->port_ == 0) {
    return absl::InternalError(
        absl::StrCat("cannot listen on ", opts.listen_address));
  }
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
  if (dispatcher_) dispatcher_->Shutdown();
  if (server_) {
    server_->Shutdown(std::chrono::system_clock::now() +
                      absl::ToChronoNanoseconds(grace));
  }
  if (index_keeper_.joinable()) index_keeper_.join();
  notifier_.reset();
  executor_.reset();  // finishes the work already queued
}

void ClaimerServer::KeepIndex() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    lock.unlock();
    const absl::StatusOr<int> built = schema_.EnsureKeptObjects();
    const bool reachable =
        built.ok() || built.status().code() != absl::StatusCode::kUnavailable;
    server_->GetHealthCheckService()->SetServingStatus(reachable);
    if (!built.ok()) {
      spdlog::warn("schema keeper check failed: {}", built.status().ToString());
    } else if (*built > 0) {
      spdlog::info(
          "re-created {} missing index(es)/trigger on arbitrage_cycles",
          *built);
    }
    lock.lock();
    stop_.wait_for(lock,
                   absl::ToChronoNanoseconds(options_.index_check_interval),
                   [this] { return stopping_; });
  }
}

}  // namespace cycle_claimer
