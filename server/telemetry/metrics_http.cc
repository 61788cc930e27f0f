#include "server/telemetry/metrics_http.h"

#include <httplib.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace cycle_claimer {

MetricsHttpServer::MetricsHttpServer()
    : http_(std::make_unique<httplib::Server>()) {}

MetricsHttpServer::~MetricsHttpServer() {
  http_->stop();
  if (thread_.joinable()) thread_.join();
}

absl::StatusOr<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::Start(
    const std::string& address, std::function<std::string()> render) {
  const std::size_t colon = address.rfind(':');
  int port = 0;
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(address.substr(colon + 1), &port) || port < 0 ||
      port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        "metrics_addr must be host:port or :port, got \"", address, "\""));
  }
  std::string host = address.substr(0, colon);
  if (host.empty()) host = "0.0.0.0";
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  std::unique_ptr<MetricsHttpServer> server(new MetricsHttpServer());
  server->http_->Get("/metrics", [render = std::move(render)](
                                     const httplib::Request&,
                                     httplib::Response& response) {
    response.set_content(render(), "text/plain; version=0.0.4; charset=utf-8");
  });
  server->http_->Get("/", [](const httplib::Request&,
                             httplib::Response& response) {
    response.set_content("cycle-claimer: metrics at /metrics\n",
                         "text/plain");
  });
  if (port == 0) {
    server->port_ = server->http_->bind_to_any_port(host);
  } else if (server->http_->bind_to_port(host, port)) {
    server->port_ = port;
  }
  if (server->port_ <= 0) {
    return absl::InternalError(
        absl::StrCat("cannot listen for metrics on ", address));
  }
  server->thread_ =
      std::thread([http = server->http_.get()] { http->listen_after_bind(); });
  return server;
}

}  // namespace cycle_claimer
