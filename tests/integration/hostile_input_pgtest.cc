// Hostile strings (quotes, statement separators, NUL, 1 MB) in every string
// field of every RPC: each is refused or harmlessly used as data, the table
// is unchanged afterwards, and the server still serves.

#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>

#include <functional>
#include <future>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "tests/support/server_fixture.h"

namespace cycle_claimer::testing {
namespace {

namespace v1 = kimp::cycles::v1;
namespace pb = google::protobuf;

using MessageStub = grpc::TemplatedGenericStub<pb::Message, pb::Message>;

const std::string kOneMegabyte = [] {
  std::string text;
  while (text.size() < 1'000'000) text += "'; DROP TABLE arbitrage_cycles; ";
  return text;
}();

// Values no string field must let through as SQL, or at all where it
// cannot be stored.
std::vector<std::string> HostileValues() {
  return {
      "'",
      "'; DROP TABLE arbitrage_cycles; --",
      "\"); DELETE FROM cycle_claimer.cycle_leases; --",
      "x' OR '1'='1",
      "\\'; SELECT pg_sleep(5); --",
      "$1::text || chr(39)",
      "%s%n%x{}{0}",
      "\xe6\xbc\xa2\xe5\xad\x97' --",
      std::string("a\0b'; --", 8),
      kOneMegabyte,
  };
}

bool MustBeRefused(const std::string& value) {
  return value.find('\0') != std::string::npos || value.size() > 100'000;
}

// A string field somewhere in a request: top level, or in the one element of
// a repeated message field.
struct StringField {
  std::string path;
  std::function<void(pb::Message&, const std::string&)> set;
};

// Baseline values that make a request valid but change nothing: the held
// cycle with a wrong lease token, a worker that finds nothing claimable.
struct Baseline {
  std::string held_cycle_id;
  int64_t wrong_token = 0;
};

void FillBaseline(pb::Message& message, const Baseline& baseline) {
  const pb::Descriptor* descriptor = message.GetDescriptor();
  const pb::Reflection* reflection = message.GetReflection();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const pb::FieldDescriptor* field = descriptor->field(i);
    const std::string& name = field->name();
    if (field->is_repeated()) {
      if (field->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
        FillBaseline(*reflection->AddMessage(&message, field), baseline);
      }
      continue;
    }
    switch (field->cpp_type()) {
      case pb::FieldDescriptor::CPPTYPE_STRING:
        if (name == "cycle_id" || name == "id") {
          reflection->SetString(&message, field, baseline.held_cycle_id);
        } else if (name == "worker_id") {
          reflection->SetString(&message, field, "probe");
        } else if (name == "rebalance_trade_id" || name == "initial_trade_id") {
          reflection->SetString(&message, field,
                                "0b9d5a52-7a47-4d43-9c1c-8f1f3f9a2b10");
        } else if (name == "total_net_profit_krw" ||
                   name == "total_net_profit_percent" ||
                   name == "initial_investment_krw") {
          reflection->SetString(&message, field, "1.5");
        } else if (name == "reason") {
          reflection->SetString(&message, field, "probe");
        }
        break;
      case pb::FieldDescriptor::CPPTYPE_INT64:
        if (name == "lease_token") {
          reflection->SetInt64(&message, field, baseline.wrong_token);
        }
        break;
      case pb::FieldDescriptor::CPPTYPE_INT32:
        if (name == "max_cycles") reflection->SetInt32(&message, field, 1);
        break;
      default:
        break;
    }
  }
}

std::vector<StringField> StringFields(const pb::Descriptor* descriptor) {
  std::vector<StringField> fields;
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const pb::FieldDescriptor* field = descriptor->field(i);
    if (field->cpp_type() == pb::FieldDescriptor::CPPTYPE_STRING &&
        !field->is_repeated()) {
      fields.push_back({field->name(), [field](pb::Message& m,
                                               const std::string& value) {
                          m.GetReflection()->SetString(&m, field, value);
                        }});
    } else if (field->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE &&
               field->is_repeated()) {
      for (StringField& inner : StringFields(field->message_type())) {
        fields.push_back(
            {absl::StrCat(field->name(), "[0].", inner.path),
             [field, set = inner.set](pb::Message& m,
                                      const std::string& value) {
               set(*m.GetReflection()->MutableRepeatedMessage(&m, field, 0),
                   value);
             }});
      }
    }
  }
  return fields;
}

// A batch answers OK with a status per item: the one item's, then.
grpc::Status ItemStatus(const grpc::Status& status,
                        const pb::Message& response) {
  const pb::FieldDescriptor* results =
      response.GetDescriptor()->FindFieldByName("results");
  if (!status.ok() || results == nullptr) return status;
  const pb::Reflection* reflection = response.GetReflection();
  if (reflection->FieldSize(response, results) != 1) return status;
  const pb::Message& item =
      reflection->GetRepeatedMessage(response, results, 0);
  const pb::FieldDescriptor* error_field =
      item.GetDescriptor()->FindFieldByName("error");
  if (!item.GetReflection()->HasField(item, error_field)) return status;
  const auto& error = dynamic_cast<const v1::ItemError&>(
      item.GetReflection()->GetMessage(item, error_field));
  return grpc::Status(static_cast<grpc::StatusCode>(error.code()),
                      error.message());
}

class HostileInputTest : public ServerTest {
 protected:
  // Everything in kimP's table and ours, as one text.
  std::string Snapshot() {
    return db_.Scalar<std::string>(
        "SELECT coalesce((SELECT md5(string_agg(c::text, '|' ORDER BY c.id)) "
        "FROM arbitrage_cycles c), '') || '/' || "
        "coalesce((SELECT md5(string_agg(l::text, '|' ORDER BY l.cycle_id)) "
        "FROM cycle_claimer.cycle_leases l), '') || '/' || "
        "(SELECT count(*) FROM pg_tables WHERE schemaname IN "
        "('public', 'cycle_claimer'))");
  }
};

TEST_F(HostileInputTest, EveryStringFieldOfEveryRpc) {
  InsertCycles(3);
  client::CycleClient client = NewClient();

  // As data, hostile text is stored exactly as given (bound parameters).
  const std::string quoted_worker = "o'hara\"; DROP TABLE arbitrage_cycles; --";
  auto mine = client.Claim(quoted_worker);
  ASSERT_TRUE(mine.ok() && mine->has_value()) << mine.status();
  EXPECT_EQ((*mine)->locked_by(), quoted_worker);
  const std::string quoted_reason =
      "exchange said: '); DELETE FROM arbitrage_cycles; -- \\ %s";
  auto failed = client.Fail((*mine)->id(), (*mine)->lease_token(),
                            quoted_reason, /*permanent=*/true);
  ASSERT_TRUE(failed.ok()) << failed.status();
  // error_details records the attempt, worker and reason, verbatim.
  const std::string details = db_.Scalar<std::string>(absl::StrCat(
      "SELECT error_details FROM arbitrage_cycles WHERE id = '", (*mine)->id(),
      "'"));
  EXPECT_TRUE(absl::EndsWith(details, quoted_reason)) << details;
  EXPECT_TRUE(absl::StrContains(details, quoted_worker)) << details;

  // The rest is held, so no valid claim below finds anything to take.
  std::optional<v1::Cycle> held;
  for (int i = 0; i < 2; ++i) {
    auto claimed = client.Claim("holder");
    ASSERT_TRUE(claimed.ok() && claimed->has_value()) << claimed.status();
    held = **claimed;
  }
  const Baseline baseline{held->id(), held->lease_token() + 1000};
  const std::string before = Snapshot();

  MessageStub stub(NewChannel());
  const pb::FileDescriptor* file =
      v1::ClaimNextCycleRequest::descriptor()->file();
  int calls = 0;
  for (const char* name : {"CycleService", "CycleAdminService"}) {
    const pb::ServiceDescriptor* service = file->FindServiceByName(name);
    ASSERT_NE(service, nullptr) << name;
    for (int m = 0; m < service->method_count(); ++m) {
      const pb::MethodDescriptor* method = service->method(m);
      const pb::Message* request_prototype =
          pb::MessageFactory::generated_factory()->GetPrototype(
              method->input_type());
      const pb::Message* response_prototype =
          pb::MessageFactory::generated_factory()->GetPrototype(
              method->output_type());
      for (const StringField& field : StringFields(method->input_type())) {
        for (const std::string& value : HostileValues()) {
          std::unique_ptr<pb::Message> request(request_prototype->New());
          FillBaseline(*request, baseline);
          field.set(*request, value);
          std::unique_ptr<pb::Message> response(response_prototype->New());
          grpc::ClientContext context;
          context.set_deadline(std::chrono::system_clock::now() +
                               std::chrono::seconds(20));
          std::promise<grpc::Status> done;
          stub.UnaryCall(&context,
                         absl::StrCat("/", service->full_name(), "/",
                                      method->name()),
                         grpc::StubOptions(), request.get(), response.get(),
                         [&done](grpc::Status status) {
                           done.set_value(std::move(status));
                         });
          const grpc::Status status = ItemStatus(done.get_future().get(),
                                                 *response);
          ++calls;
          const std::string where = absl::StrCat(
              method->full_name(), " ", field.path, " = ",
              value.substr(0, 40), " (", value.size(), " bytes): ",
              status.error_code(), " ", status.error_message().substr(0, 200));
          const grpc::StatusCode code = status.error_code();
          EXPECT_TRUE(code == grpc::StatusCode::OK ||
                      code == grpc::StatusCode::INVALID_ARGUMENT ||
                      code == grpc::StatusCode::NOT_FOUND ||
                      code == grpc::StatusCode::FAILED_PRECONDITION)
              << where;
          if (code == grpc::StatusCode::INVALID_ARGUMENT) {
            const std::string leaf =
                field.path.substr(field.path.rfind('.') + 1);
            EXPECT_NE(status.error_message().find(leaf), std::string::npos)
                << "the error does not name the field: " << where;
            EXPECT_LT(status.error_message().size(), 2000u)
                << "the error echoes the input: " << where;
          }
          if (MustBeRefused(value)) {
            EXPECT_EQ(code, grpc::StatusCode::INVALID_ARGUMENT) << where;
          }
        }
      }
    }
  }
  EXPECT_GT(calls, 100);
  EXPECT_EQ(Snapshot(), before) << "a hostile request changed the database";

  // The server is up and serving as before.
  absl::StatusOr<bool> serving = client.Serving();
  ASSERT_TRUE(serving.ok()) << serving.status();
  EXPECT_TRUE(*serving);
  InsertCycles(1);
  auto fresh = client.Claim("after");
  ASSERT_TRUE(fresh.ok() && fresh->has_value()) << fresh.status();
}

}  // namespace
}  // namespace cycle_claimer::testing
