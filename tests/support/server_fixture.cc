#include "tests/support/server_fixture.h"

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/support/channel_arguments.h>

#include <future>
#include <vector>

#include "absl/strings/str_cat.h"

namespace cycle_claimer::testing {

absl::StatusOr<HealthStatus> CheckHealth(grpc::Channel& channel) {
  grpc::GenericStub stub(
      std::shared_ptr<grpc::Channel>(&channel, [](grpc::Channel*) {}));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(5));
  grpc::Slice no_bytes;  // HealthCheckRequest{service: ""} encodes to nothing
  grpc::ByteBuffer request(&no_bytes, 1);
  grpc::ByteBuffer response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(),
                 &request, &response,
                 [&done](grpc::Status status) { done.set_value(status); });
  const grpc::Status status = done.get_future().get();
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                        status.error_message());
  }
  std::vector<grpc::Slice> slices;
  if (!response.Dump(&slices).ok()) return absl::InternalError("bad response");
  std::string bytes;
  for (const grpc::Slice& slice : slices) {
    bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  if (bytes.empty()) return HealthStatus::kUnknown;
  if (bytes.size() != 2 || bytes[0] != 0x08) {
    return absl::InternalError("unexpected HealthCheckResponse encoding");
  }
  return static_cast<HealthStatus>(bytes[1]);
}

ServerOptions ServerTest::DefaultOptions() const {
  ServerOptions options;
  options.listen_address = "127.0.0.1:0";
  options.database_url = db_.url();
  options.pool_size = 8;
  options.index_check_interval = absl::Milliseconds(200);
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
