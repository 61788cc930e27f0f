#include "client/cpp/cycle_client.h"

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

}  // namespace

CycleClient::CycleClient(std::shared_ptr<grpc::Channel> channel,
                         absl::Duration call_timeout)
    : stub_(v1::CycleService::NewStub(std::move(channel))),
      call_timeout_(call_timeout) {}

CycleClient CycleClient::Insecure(const std::string& target,
                                  absl::Duration call_timeout) {
  return CycleClient(
      grpc::CreateChannel(target, grpc::InsecureChannelCredentials()),
      call_timeout);
}

void CycleClient::Prepare(grpc::ClientContext& context) const {
  context.set_deadline(std::chrono::system_clock::now() +
                       absl::ToChronoNanoseconds(call_timeout_));
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
  v1::RenewLeaseResponse response;
  grpc::ClientContext context;
  Prepare(context);
  const grpc::Status status = stub_->RenewLease(&context, request, &response);
  if (!status.ok()) return FromGrpc(status);
  return std::move(*response.mutable_cycle());
}

absl::StatusOr<v1::Cycle> CycleClient::Complete(
    const v1::CompleteCycleRequest& result) {
  v1::CompleteCycleResponse response;
  grpc::ClientContext context;
  Prepare(context);
  const grpc::Status status = stub_->CompleteCycle(&context, result, &response);
  if (!status.ok()) return FromGrpc(status);
  return std::move(*response.mutable_cycle());
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
  v1::FailCycleResponse response;
  grpc::ClientContext context;
  Prepare(context);
  const grpc::Status status = stub_->FailCycle(&context, request, &response);
  if (!status.ok()) return FromGrpc(status);
  return std::move(*response.mutable_cycle());
}

absl::StatusOr<v1::Cycle> CycleClient::Release(absl::string_view cycle_id,
                                               int64_t lease_token) {
  v1::ReleaseCycleRequest request;
  request.set_cycle_id(std::string(cycle_id));
  request.set_lease_token(lease_token);
  v1::ReleaseCycleResponse response;
  grpc::ClientContext context;
  Prepare(context);
  const grpc::Status status = stub_->ReleaseCycle(&context, request, &response);
  if (!status.ok()) return FromGrpc(status);
  return std::move(*response.mutable_cycle());
}

}  // namespace cycle_claimer::client
