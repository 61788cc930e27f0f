#pragma once

// One place that sees every call: a gRPC server interceptor that counts it
// in Metrics (per method and status code, latency, and the outcome of
// claims, completions, failures, releases and renewals) and writes one log
// line for it with method, worker, cycle, lease token, status code and
// duration. Bearer tokens are never read here.

#include <grpcpp/grpcpp.h>
#include <grpcpp/support/server_interceptor.h>

#include <memory>
#include <vector>

#include "server/telemetry/metrics.h"

namespace cycle_claimer {

// The interceptor creators to pass to ServerBuilder; `metrics` must outlive
// the server.
std::vector<
    std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
CallTelemetryInterceptors(Metrics& metrics);

}  // namespace cycle_claimer
