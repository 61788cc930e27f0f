#include "tests/support/server_fixture.h"

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/support/channel_arguments.h>

#include <future>
#include <vector>

#include "absl/strings/str_cat.h"

namespace cycle_claimer::testing {

ServerOptions ServerTest::DefaultOptions() const {
  ServerOptions options;
  options.listen_address = "127.0.0.1:0";
  options.plaintext = true;
  options.database_url = db_.url();
  options.pool_size = 8;
  options.index_check_interval = absl::Milliseconds(200);
  // In-process tests stop servers often; the drain is tested through the
  // binary (server_process_pgtest).
  options.drain_period = absl::ZeroDuration();
  return options;
}

void ServerTest::StartServer(ServerOptions options) {
  if (server_) server_->Shutdown(absl::Seconds(5));
  server_.reset();
  auto started = ClaimerServer::Start(std::move(options));
  ASSERT_TRUE(started.ok()) << started.status();
  server_ = *std::move(started);
}

void ServerTest::SetUp() { StartServer(DefaultOptions()); }

void ServerTest::TearDown() {
  if (server_) server_->Shutdown(absl::Seconds(5));
  server_.reset();
}

std::string ServerTest::target() const {
  return absl::StrCat("127.0.0.1:", server_->port());
}

std::shared_ptr<grpc::Channel> ServerTest::NewChannel() const {
  // A channel argument unique to this channel keeps gRPC from sharing one
  // TCP connection (subchannel) between channels.
  static std::atomic<int> next{0};
  grpc::ChannelArguments args;
  args.SetInt("cycle_claimer.test_channel", next++);
  return grpc::CreateCustomChannel(target(), grpc::InsecureChannelCredentials(),
                                   args);
}

std::unique_ptr<kimp::cycles::v1::CycleService::Stub> ServerTest::NewStub()
    const {
  return kimp::cycles::v1::CycleService::NewStub(NewChannel());
}

client::CycleClient ServerTest::NewClient() const {
  return client::CycleClient(NewChannel());
}

void ServerTest::InsertCycles(int count) {
  ASSERT_TRUE(server_->repository().InsertDemoCycles(count).ok());
}

}  // namespace cycle_claimer::testing
