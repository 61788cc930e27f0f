#include "server/service/call_telemetry.h"

#include <string>
#include <unordered_map>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "kimp/cycles/v1/cycles.grpc.pb.h"
#include "server/telemetry/logging.h"

namespace cycle_claimer {
namespace {

namespace v1 = kimp::cycles::v1;
namespace pb = google::protobuf;
using grpc::experimental::InterceptionHookPoints;

// How to read the request and response of one of our methods: gRPC hands
// interceptors untyped pointers.
struct MethodCodec {
  std::string name;  // e.g. "ClaimNextCycle"
  const pb::Message* (*request)(const void*);
  const pb::Message* (*response)(const void*);
};

template <typename Request, typename Response>
MethodCodec Codec(std::string name) {
  return MethodCodec{
      std::move(name),
      [](const void* p) -> const pb::Message* {
        return static_cast<const Request*>(p);
      },
      [](const void* p) -> const pb::Message* {
        return static_cast<const Response*>(p);
      }};
}

const std::unordered_map<std::string, MethodCodec>& Codecs() {
  static const auto* codecs = [] {
    auto* map = new std::unordered_map<std::string, MethodCodec>;
    const auto add = [map](const char* service, MethodCodec codec) {
      map->emplace(absl::StrCat("/kimp.cycles.v1.", service, "/", codec.name),
                   std::move(codec));
    };
    add("CycleService", Codec<v1::ClaimNextCycleRequest,
                              v1::ClaimNextCycleResponse>("ClaimNextCycle"));
    add("CycleService",
        Codec<v1::RenewLeaseRequest, v1::RenewLeaseResponse>("RenewLease"));
    add("CycleService", Codec<v1::CompleteCycleRequest,
                              v1::CompleteCycleResponse>("CompleteCycle"));
    add("CycleService",
        Codec<v1::FailCycleRequest, v1::FailCycleResponse>("FailCycle"));
    add("CycleService", Codec<v1::ReleaseCycleRequest,
                              v1::ReleaseCycleResponse>("ReleaseCycle"));
    add("CycleService",
        Codec<v1::ClaimCyclesRequest, v1::ClaimCyclesResponse>("ClaimCycles"));
    add("CycleService", Codec<v1::CompleteCyclesRequest,
                              v1::CompleteCyclesResponse>("CompleteCycles"));
    add("CycleAdminService",
        Codec<v1::CreateCycleRequest, v1::CreateCycleResponse>("CreateCycle"));
    add("CycleAdminService",
        Codec<v1::GetCycleRequest, v1::GetCycleResponse>("GetCycle"));
    add("CycleAdminService",
        Codec<v1::ListCyclesRequest, v1::ListCyclesResponse>("ListCycles"));
    add("CycleAdminService", Codec<v1::RequeueCycleRequest,
                                   v1::RequeueCycleResponse>("RequeueCycle"));
    add("CycleAdminService",
        Codec<v1::GetQueueStatsRequest, v1::GetQueueStatsResponse>(
            "GetQueueStats"));
    return map;
  }();
  return *codecs;
}

// "FAILED_PRECONDITION" -> "failed_precondition".
std::string CodeName(grpc::StatusCode code) {
  static constexpr const char* kNames[] = {
      "ok",           "cancelled",         "unknown",
      "invalid_argument", "deadline_exceeded", "not_found",
      "already_exists",   "permission_denied", "resource_exhausted",
      "failed_precondition", "aborted",      "out_of_range",
      "unimplemented",    "internal",          "unavailable",
      "data_loss",        "unauthenticated"};
  const int index = static_cast<int>(code);
  if (index < 0 || index >= static_cast<int>(std::size(kNames))) {
    return absl::StrCat("code_", index);
  }
  return kNames[index];
}

// A lease operation's outcome: `ok_outcome`, lease_lost, not_found, or the
// code's name.
std::string LeaseOutcome(grpc::StatusCode code, const char* ok_outcome) {
  switch (code) {
    case grpc::StatusCode::OK:
      return ok_outcome;
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "lease_lost";
    default:
      return CodeName(code);
  }
}

const pb::FieldDescriptor* Field(const pb::Message& message, const char* name) {
  return message.GetDescriptor()->FindFieldByName(name);
}

std::string StringField(const pb::Message& message, const char* name) {
  const pb::FieldDescriptor* field = Field(message, name);
  if (field == nullptr || field->is_repeated() ||
      field->cpp_type() != pb::FieldDescriptor::CPPTYPE_STRING) {
    return "";
  }
  return message.GetReflection()->GetString(message, field);
}

// What one call is about, for its log line.
struct CallFacts {
  std::string worker;
  std::string cycle;
  int64_t token = 0;
  std::string cycle_status;  // the cycle's status after the call
  int cycles = -1;           // batch calls: cycles in the answer
};

void FromCycle(const v1::Cycle& cycle, CallFacts& facts) {
  if (facts.cycle.empty()) facts.cycle = cycle.id();
  if (facts.token == 0) facts.token = cycle.lease_token();
  facts.cycle_status = v1::CycleStatus_Name(cycle.status());
}

class CallInterceptor final : public grpc::experimental::Interceptor {
 public:
  CallInterceptor(Metrics& metrics, const char* method)
      : metrics_(metrics), start_(absl::Now()), path_(method) {
    const auto found = Codecs().find(path_);
    codec_ = found == Codecs().end() ? nullptr : &found->second;
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::POST_RECV_MESSAGE) &&
        codec_ != nullptr) {
      if (const void* request = methods->GetRecvMessage()) {
        ReadRequest(*codec_->request(request));
      }
    }
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::PRE_SEND_MESSAGE) &&
        codec_ != nullptr) {
      if (const void* response = methods->GetSendMessage()) {
        ReadResponse(*codec_->response(response));
      }
    }
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::PRE_SEND_STATUS)) {
      Record(methods->GetSendStatus());
    }
    methods->Proceed();
  }

 private:
  void ReadRequest(const pb::Message& request) {
    facts_.worker = StringField(request, "worker_id");
    facts_.cycle = StringField(request, "cycle_id");
    if (facts_.cycle.empty()) facts_.cycle = StringField(request, "id");
    if (const auto* token = Field(request, "lease_token")) {
      facts_.token = request.GetReflection()->GetInt64(request, token);
    }
    if (const auto* batch =
            dynamic_cast<const v1::CompleteCyclesRequest*>(&request)) {
      batch_items_ = batch->completions_size();
    }
  }

  void ReadResponse(const pb::Message& response) {
    if (const auto* claim =
            dynamic_cast<const v1::ClaimNextCycleResponse*>(&response)) {
      if (claim->has_cycle()) FromCycle(claim->cycle(), facts_);
      facts_.cycles = claim->has_cycle() ? 1 : 0;
    } else if (const auto* claims =
                   dynamic_cast<const v1::ClaimCyclesResponse*>(&response)) {
      facts_.cycles = claims->cycles_size();
      if (claims->cycles_size() == 1) FromCycle(claims->cycles(0), facts_);
    } else if (const auto* done =
                   dynamic_cast<const v1::CompleteCyclesResponse*>(&response)) {
      for (const v1::CompleteCycleResult& result : done->results()) {
        item_codes_.push_back(
            result.has_cycle()
                ? grpc::StatusCode::OK
                : static_cast<grpc::StatusCode>(result.error().code()));
      }
    } else if (const auto* field = Field(response, "cycle");
               field != nullptr &&
               response.GetReflection()->HasField(response, field)) {
      FromCycle(static_cast<const v1::Cycle&>(
                    response.GetReflection()->GetMessage(response, field)),
                facts_);
    }
  }

  void Record(const grpc::Status& status) {
    const absl::Duration duration = absl::Now() - start_;
    const std::string method = codec_ != nullptr ? codec_->name : path_;
    const grpc::StatusCode code = status.error_code();
    metrics_.rpcs.Add({method, CodeName(code)});
    metrics_.latency.Observe(method, duration);
    if (codec_ != nullptr) CountOutcome(method, code);
    Log(method, status, duration);
  }

  void CountOutcome(const std::string& method, grpc::StatusCode code) {
    if (code == grpc::StatusCode::FAILED_PRECONDITION &&
        (method == "RenewLease" || method == "CompleteCycle" ||
         method == "FailCycle" || method == "ReleaseCycle")) {
      metrics_.fencing_rejections.Add({method});
    }
    if (method == "ClaimNextCycle" || method == "ClaimCycles") {
      if (code != grpc::StatusCode::OK) {
        metrics_.claims.Add({CodeName(code)});
      } else {
        metrics_.claims.Add({facts_.cycles > 0 ? "claimed" : "empty"});
        if (facts_.cycles > 0) metrics_.cycles_claimed.Add({}, facts_.cycles);
      }
    } else if (method == "CompleteCycle") {
      metrics_.completions.Add({LeaseOutcome(code, "completed")});
    } else if (method == "CompleteCycles") {
      if (code != grpc::StatusCode::OK) {
        metrics_.completions.Add({CodeName(code)}, batch_items_);
      }
      for (grpc::StatusCode item : item_codes_) {
        metrics_.completions.Add({LeaseOutcome(item, "completed")});
        if (item == grpc::StatusCode::FAILED_PRECONDITION) {
          metrics_.fencing_rejections.Add({method});
        }
      }
    } else if (method == "FailCycle") {
      std::string outcome = LeaseOutcome(code, "");
      if (code == grpc::StatusCode::OK) {
        outcome = facts_.cycle_status == "CYCLE_STATUS_DEAD_LETTER"
                      ? "dead_letter"
                  : facts_.cycle_status == "CYCLE_STATUS_AWAITING_RETRY"
                      ? "retry"
                      : absl::AsciiStrToLower(facts_.cycle_status);
      }
      metrics_.failures.Add({outcome});
    } else if (method == "ReleaseCycle") {
      metrics_.releases.Add({LeaseOutcome(code, "released")});
    } else if (method == "RenewLease") {
      metrics_.renewals.Add({LeaseOutcome(code, "renewed")});
    }
  }

  void Log(const std::string& method, const grpc::Status& status,
           absl::Duration duration) {
    const grpc::StatusCode code = status.error_code();
    const bool server_fault = code == grpc::StatusCode::INTERNAL ||
                              code == grpc::StatusCode::UNKNOWN ||
                              code == grpc::StatusCode::DATA_LOSS ||
                              code == grpc::StatusCode::UNAVAILABLE;
    const auto level =
        server_fault ? spdlog::level::warn
        : codec_ == nullptr ? spdlog::level::debug  // health, reflection
                            : spdlog::level::info;
    if (!spdlog::should_log(level)) return;
    std::vector<LogField> fields = {
        {"method", method},
        {"code", CodeName(code)},
        {"duration_ms",
         absl::StrCat(absl::ToDoubleMilliseconds(duration)), true},
    };
    if (!facts_.worker.empty()) fields.push_back({"worker", facts_.worker});
    if (!facts_.cycle.empty()) fields.push_back({"cycle", facts_.cycle});
    if (facts_.token != 0) {
      fields.push_back({"token", absl::StrCat(facts_.token), true});
    }
    if (!facts_.cycle_status.empty()) {
      fields.push_back(
          {"status", std::string(absl::StripPrefix(facts_.cycle_status,
                                                   "CYCLE_STATUS_"))});
    }
    if (facts_.cycles >= 0 && method != "ClaimNextCycle") {
      fields.push_back({"cycles", absl::StrCat(facts_.cycles), true});
    }
    if (!item_codes_.empty()) {
      fields.push_back({"items", absl::StrCat(item_codes_.size()), true});
    }
    if (!status.ok()) fields.push_back({"error", status.error_message()});
    LogEvent(level, "rpc", fields);
  }

  Metrics& metrics_;
  const absl::Time start_;
  const std::string path_;
  const MethodCodec* codec_ = nullptr;
  CallFacts facts_;
  int batch_items_ = 0;
  std::vector<grpc::StatusCode> item_codes_;
};

class CallTelemetryFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit CallTelemetryFactory(Metrics& metrics) : metrics_(metrics) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new CallInterceptor(metrics_, info->method());
  }

 private:
  Metrics& metrics_;
};

}  // namespace

std::vector<
    std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
CallTelemetryInterceptors(Metrics& metrics) {
  std::vector<
      std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
      creators;
  creators.push_back(std::make_unique<CallTelemetryFactory>(metrics));
  return creators;
}

}  // namespace cycle_claimer
