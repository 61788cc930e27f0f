#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"

namespace httplib {
class Server;
}  // namespace httplib

namespace cycle_claimer {

// Serves GET /metrics (Prometheus text format, from `render`) over HTTP with
// cpp-httplib, on a thread of its own. Stops on destruction.
class MetricsHttpServer {
 public:
  // `address`: "host:port" or ":port" (all interfaces); port 0 picks a free
  // one. INVALID_ARGUMENT for a malformed address, INTERNAL when it cannot
  // be bound.
  static absl::StatusOr<std::unique_ptr<MetricsHttpServer>> Start(
      const std::string& address, std::function<std::string()> render);
  ~MetricsHttpServer();
  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;

  int port() const { return port_; }

 private:
  MetricsHttpServer();

  std::unique_ptr<httplib::Server> http_;
  int port_ = 0;
  std::thread thread_;
};

}  // namespace cycle_claimer
