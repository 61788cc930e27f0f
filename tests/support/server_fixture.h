#pragma once

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "client/cpp/cycle_client.h"
#include "kimp/cycles/v1/cycles.grpc.pb.h"
#include "server/service/claimer_server.h"
#include "tests/support/test_database.h"

namespace cycle_claimer::testing {

// A test with a database of its own and the real server in-process on
// 127.0.0.1:<free port>, migrated, reached through real gRPC channels.
class ServerTest : public ::testing::Test {
 protected:
  // Options the server starts with; a test may change them before
  // StartServer().
  ServerOptions DefaultOptions() const;

  // Starts the server (SetUp starts it with DefaultOptions()).
  void StartServer(ServerOptions options);
  void SetUp() override;
  void TearDown() override;

  std::string target() const;
  // A new channel (its own TCP connection) to the server.
  std::shared_ptr<grpc::Channel> NewChannel() const;
  std::unique_ptr<kimp::cycles::v1::CycleService::Stub> NewStub() const;
  client::CycleClient NewClient() const;

  // Inserts `count` AWAITING_REBALANCE cycles, start_time 1 ms apart.
  void InsertCycles(int count);

  TestDatabase db_;
  std::unique_ptr<ClaimerServer> server_;
};

}  // namespace cycle_claimer::testing
