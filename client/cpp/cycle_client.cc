#include "client/cpp/cycle_client.h"

#include <grpcpp/generic/generic_stub.h>

#include <future>
#include <vector>

#include "google/protobuf/duration.pb.h"

namespace cycle_claimer::client {
namespace {

namespace v1 = kimp::cycles::v1;

absl::Status FromGrpc(const grpc::Status& status) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      status.error_message());
}

void SetDuration(absl::Duration duration, google::protobuf::Duration& out) {
  const int64_t nanos = absl::ToInt64Nanoseconds(duration);
  out.set_seconds(nanos / 1000000000);
  out.set_nanos(static_cast<int32_t>(nanos % 1000000000));
}

// The cycle of a response that carries one, or the call's error.
template <typename Response>
absl::StatusOr<v1::Cycle> CycleOf(absl::StatusOr<Response> response) {
  if (!response.ok()) return response.status();
  return std::move(*response->mutable_cycle());
}

}  // namespace

template <typename Stub, typename Request, typename Response>
absl::StatusOr<Response> CycleClient::Call(
    Stub& stub,
    grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&,
                                 Response*),
    const Request& request) const {
  Response response;
  grpc::ClientContext context;
  Prepare(context);
  const grpc::Status status = (stub.*method)(&context, request, &response);
  if (!status.ok()) return FromGrpc(status);
  return response;
}

CycleClient::CycleClient(std::shared_ptr<grpc::Channel> channel,
                         absl::Duration call_timeout, std::string bearer_token)
    : channel_(std::move(channel)),
      stub_(v1::CycleService::NewStub(channel_)),
      admin_(v1::CycleAdminService::NewStub(channel_)),
      call_timeout_(call_timeout),
      bearer_token_(std::move(bearer_token)) {}

CycleClient CycleClient::Insecure(const std::string& target,
                                  absl::Duration call_timeout,
                                  std::string bearer_token) {
  return CycleClient(
      grpc::CreateChannel(target, grpc::InsecureChannelCredentials()),
      call_timeout, std::move(bearer_token));
}

CycleClient CycleClient::Tls(const std::string& target,
                             const std::string& server_ca_pem,
                             const std::string& client_cert_pem,
                             const std::string& client_key_pem,
                             absl::Duration call_timeout,
                             std::string bearer_token) {
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = server_ca_pem;
  ssl.pem_cert_chain = client_cert_pem;
  ssl.pem_private_key = client_key_pem;
  return CycleClient(grpc::CreateChannel(target, grpc::SslCredentials(ssl)),
                     call_timeout, std::move(bearer_token));
}

void CycleClient::Prepare(grpc::ClientContext& context) const {
  context.set_deadline(std::chrono::system_clock::now() +
                       absl::ToChronoNanoseconds(call_timeout_));
  if (!bearer_token_.empty()) {
    context.AddMetadata("authorization", "Bearer " + bearer_token_);
  }
}

absl::StatusOr<std::optional<v1::Cycle>> CycleClient::Claim(
    absl::string_view worker_id, absl::Duration lease) {
  v1::ClaimNextCycleRequest request;
  request.set_worker_id(std::string(worker_id));
  if (lease != absl::ZeroDuration()) {
    SetDuration(lease, *request.mutable_lease_duration());
  }
  v1::ClaimNextCycleResponse response;
  grpc::ClientContext context;
  Prepare(context);
  const grpc::Status status =
      stub_->ClaimNextCycle(&context, request, &response);
  if (!status.ok()) return FromGrpc(status);
  if (!response.has_cycle()) return std::optional<v1::Cycle>();
  return std::optional<v1::Cycle>(std::move(*response.mutable_cycle()));
}

absl::StatusOr<v1::Cycle> CycleClient::Renew(absl::string_view cycle_id,
                                             int64_t lease_token,
                                             absl::Duration lease) {
  v1::RenewLeaseRequest request;
  request.set_cycle_id(std::string(cycle_id));
  request.set_lease_token(lease_token);
  if (lease != absl::ZeroDuration()) {
    SetDuration(lease, *request.mutable_lease_duration());
  }
  return CycleOf(Call(*stub_, &v1::CycleService::Stub::RenewLease, request));
}

absl::StatusOr<v1::Cycle> CycleClient::Complete(
    const v1::CompleteCycleRequest& result) {
  return CycleOf(Call(*stub_, &v1::CycleService::Stub::CompleteCycle, result));
}

absl::StatusOr<v1::Cycle> CycleClient::Fail(absl::string_view cycle_id,
                                            int64_t lease_token,
                                            absl::string_view reason,
                                            bool permanent) {
  v1::FailCycleRequest request;
  request.set_cycle_id(std::string(cycle_id));
  request.set_lease_token(lease_token);
  request.set_reason(std::string(reason));
  request.set_permanent(permanent);
  return CycleOf(Call(*stub_, &v1::CycleService::Stub::FailCycle, request));
}

absl::StatusOr<v1::Cycle> CycleClient::Release(absl::string_view cycle_id,
                                               int64_t lease_token) {
  v1::ReleaseCycleRequest request;
  request.set_cycle_id(std::string(cycle_id));
  request.set_lease_token(lease_token);
  return CycleOf(Call(*stub_, &v1::CycleService::Stub::ReleaseCycle, request));
}

absl::StatusOr<v1::ClaimNextCycleResponse> CycleClient::ClaimNext(
    const v1::ClaimNextCycleRequest& request) {
  v1::ClaimNextCycleResponse response;
  grpc::ClientContext context;
  Prepare(context);
  // A long poll may take its whole wait on top of the usual call time.
  context.set_deadline(
      std::chrono::system_clock::now() +
      absl::ToChronoNanoseconds(
          call_timeout_ + absl::Seconds(request.wait_timeout().seconds())));
  const grpc::Status status =
      stub_->ClaimNextCycle(&context, request, &response);
  if (!status.ok()) return FromGrpc(status);
  return response;
}

absl::StatusOr<v1::Cycle> CycleClient::Create(
    const v1::CreateCycleRequest& request) {
  return CycleOf(
      Call(*admin_, &v1::CycleAdminService::Stub::CreateCycle, request));
}

absl::StatusOr<v1::Cycle> CycleClient::Get(absl::string_view cycle_id) {
  v1::GetCycleRequest request;
  request.set_id(std::string(cycle_id));
  return CycleOf(
      Call(*admin_, &v1::CycleAdminService::Stub::GetCycle, request));
}

absl::StatusOr<v1::ListCyclesResponse> CycleClient::List(
    const v1::ListCyclesRequest& request) {
  return Call(*admin_, &v1::CycleAdminService::Stub::ListCycles, request);
}

absl::StatusOr<v1::Cycle> CycleClient::Requeue(absl::string_view cycle_id) {
  v1::RequeueCycleRequest request;
  request.set_id(std::string(cycle_id));
  v1::RequeueCycleResponse response;
  grpc::ClientContext context;
  Prepare(context);
  const grpc::Status status =
      admin_->RequeueCycle(&context, request, &response);
  if (!status.ok()) return FromGrpc(status);
  return std::move(*response.mutable_cycle());
}

absl::StatusOr<v1::GetQueueStatsResponse> CycleClient::Stats() {
  return Call(*admin_, &v1::CycleAdminService::Stub::GetQueueStats,
              v1::GetQueueStatsRequest());
}

absl::StatusOr<bool> CycleClient::Serving() {
  // Debian ships no health.proto: the call is made with a generic stub. The
  // request (service "") encodes to nothing; the response is field 1.
  grpc::GenericStub stub(channel_);
  grpc::ClientContext context;
  Prepare(context);
  grpc::Slice no_bytes;
  grpc::ByteBuffer request(&no_bytes, 1);
  grpc::ByteBuffer response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(),
                 &request, &response,
                 [&done](grpc::Status status) { done.set_value(status); });
  const grpc::Status status = done.get_future().get();
  if (!status.ok()) return FromGrpc(status);
  std::vector<grpc::Slice> slices;
  if (!response.Dump(&slices).ok()) return absl::InternalError("bad response");
  std::string bytes;
  for (const grpc::Slice& slice : slices) {
    bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  constexpr char kServing = 1;
  return bytes.size() == 2 && bytes[0] == 0x08 && bytes[1] == kServing;
}

}  // namespace cycle_claimer::client
