// cyclectl: the cycle-claimer service from the shell, on the C++ client.
//
//   cyclectl [--server=host:port] [--json] COMMAND [ARGS...]
//
// Exit status: 0 done; 1 nothing to do (claim found no cycle, health not
// SERVING); 2 bad usage; otherwise 10 + the gRPC status code (13 invalid
// argument, 15 not found, 19 lease lost, 24 unavailable, ...).

#include <google/protobuf/util/json_util.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "client/cpp/cycle_client.h"

ABSL_FLAG(std::string, server, "",
          "host:port of the service (default: $CYCLECTL_SERVER or "
          "localhost:50051).");
ABSL_FLAG(bool, json, false, "Print results as JSON.");
ABSL_FLAG(std::string, tls_ca, "",
          "Use TLS, trusting this PEM CA file for the server.");
ABSL_FLAG(std::string, tls_cert, "", "mTLS: this client's PEM certificate.");
ABSL_FLAG(std::string, tls_key, "", "mTLS: this client's PEM private key.");
ABSL_FLAG(std::string, worker, "", "claim: worker id (default: host-pid).");
ABSL_FLAG(absl::Duration, lease, absl::ZeroDuration(),
          "claim, renew: lease length (0: the server's default).");
ABSL_FLAG(absl::Duration, wait, absl::ZeroDuration(),
          "claim: how long to wait for a cycle.");
ABSL_FLAG(std::string, request_id, "", "claim: idempotency key.");
ABSL_FLAG(std::string, trade_id, "",
          "complete: rebalance_trade_id; create: initial_trade_id.");
ABSL_FLAG(std::string, profit_krw, "", "complete: total_net_profit_krw.");
ABSL_FLAG(std::string, profit_percent, "",
          "complete: total_net_profit_percent.");
ABSL_FLAG(bool, permanent, false, "fail: dead-letter at once.");
ABSL_FLAG(std::string, status, "",
          "list: comma-separated statuses; create: the new cycle's status "
          "(e.g. AWAITING_REBALANCE).");
ABSL_FLAG(int, page_size, 0, "list: cycles per page (0: 100).");
ABSL_FLAG(std::string, page_token, "", "list: from a previous page.");
ABSL_FLAG(std::string, investment_krw, "", "create: initial_investment_krw.");

namespace {

namespace v1 = kimp::cycles::v1;
using cycle_claimer::client::CycleClient;

constexpr char kUsage[] = R"(cyclectl [flags] COMMAND [ARGS...]

Commands:
  claim                       claim the oldest claimable cycle (--worker, --lease,
                              --wait, --request_id); exit 1 when none
  renew ID TOKEN              extend a lease (--lease)
  complete ID TOKEN           complete (--trade_id, --profit_krw, --profit_percent)
  fail ID TOKEN REASON        record a failed attempt (--permanent)
  release ID TOKEN            give a cycle back
  get ID                      one cycle
  list                        cycles newest first (--status, --page_size, --page_token)
  requeue ID                  DEAD_LETTER or FAILED back to AWAITING_REBALANCE
  stats                       counts per status, oldest claimable age, leases
  create                      insert a cycle (--trade_id, --investment_krw, --status)
  health                      exit 0 when the server is SERVING (container checks)

Exit status: 0 done; 1 nothing to do; 2 bad usage; 10 + gRPC code on errors.
A server that needs a token gets it from $CYCLECTL_TOKEN.)";

constexpr int kNothing = 1;
constexpr int kUsageError = 2;

int Usage(const std::string& problem) {
  std::cerr << "cyclectl: " << problem << "\n\n" << kUsage << "\n";
  return kUsageError;
}

int Fail(const absl::Status& status) {
  std::cerr << "cyclectl: " << status << "\n";
  return 10 + static_cast<int>(status.code());
}

void Print(const google::protobuf::Message& message) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  std::cout << json;
}

std::string Human(const v1::Cycle& cycle) {
  std::string line = absl::StrCat(
      cycle.id(), " ", v1::CycleStatus_Name(cycle.status()).substr(13),
      " token=", cycle.lease_token(), " retries=", cycle.retry_count());
  if (!cycle.locked_by().empty()) {
    absl::StrAppend(&line, " worker=", cycle.locked_by(), " until=",
                    absl::FormatTime(absl::RFC3339_sec,
                                     absl::FromUnixSeconds(
                                         cycle.lease_expires_at().seconds()),
                                     absl::UTCTimeZone()));
  }
  return line;
}

int Show(const absl::StatusOr<v1::Cycle>& cycle) {
  if (!cycle.ok()) return Fail(cycle.status());
  if (absl::GetFlag(FLAGS_json)) {
    Print(*cycle);
  } else {
    std::cout << Human(*cycle) << "\n";
  }
  return 0;
}

bool ParseToken(const std::string& text, int64_t* token) {
  return absl::SimpleAtoi(text, token);
}

absl::Duration LeaseFlag() { return absl::GetFlag(FLAGS_lease); }

void SetDuration(absl::Duration duration, google::protobuf::Duration* out) {
  const int64_t nanos = absl::ToInt64Nanoseconds(duration);
  out->set_seconds(nanos / 1000000000);
  out->set_nanos(static_cast<int32_t>(nanos % 1000000000));
}

int Run(CycleClient& client, const std::vector<std::string>& args) {
  const std::string& command = args[0];
  const auto need = [&](std::size_t count) { return args.size() == count + 1; };
  int64_t token = 0;

  if (command == "claim" && need(0)) {
    v1::ClaimNextCycleRequest request;
    std::string worker = absl::GetFlag(FLAGS_worker);
    if (worker.empty()) {
      char host[256] = {};
      gethostname(host, sizeof host - 1);
      worker = absl::StrCat(host, "-", getpid());
    }
    request.set_worker_id(worker);
    if (LeaseFlag() > absl::ZeroDuration()) {
      SetDuration(LeaseFlag(), request.mutable_lease_duration());
    }
    if (absl::GetFlag(FLAGS_wait) > absl::ZeroDuration()) {
      SetDuration(absl::GetFlag(FLAGS_wait), request.mutable_wait_timeout());
    }
    request.set_request_id(absl::GetFlag(FLAGS_request_id));
    auto response = client.ClaimNext(request);
    if (!response.ok()) return Fail(response.status());
    if (!response->has_cycle()) {
      if (absl::GetFlag(FLAGS_json)) Print(*response);
      return kNothing;
    }
    return Show(response->cycle());
  }
  if (command == "renew" && need(2) && ParseToken(args[2], &token)) {
    return Show(client.Renew(args[1], token, LeaseFlag()));
  }
  if (command == "complete" && need(2) && ParseToken(args[2], &token)) {
    v1::CompleteCycleRequest request;
    request.set_cycle_id(args[1]);
    request.set_lease_token(token);
    request.set_rebalance_trade_id(absl::GetFlag(FLAGS_trade_id));
    request.set_total_net_profit_krw(absl::GetFlag(FLAGS_profit_krw));
    request.set_total_net_profit_percent(absl::GetFlag(FLAGS_profit_percent));
    return Show(client.Complete(request));
  }
  if (command == "fail" && need(3) && ParseToken(args[2], &token)) {
    return Show(
        client.Fail(args[1], token, args[3], absl::GetFlag(FLAGS_permanent)));
  }
  if (command == "release" && need(2) && ParseToken(args[2], &token)) {
    return Show(client.Release(args[1], token));
  }
  if (command == "get" && need(1)) return Show(client.Get(args[1]));
  if (command == "requeue" && need(1)) return Show(client.Requeue(args[1]));
  if (command == "create" && need(0)) {
    v1::CreateCycleRequest request;
    request.set_initial_trade_id(absl::GetFlag(FLAGS_trade_id));
    request.set_initial_investment_krw(absl::GetFlag(FLAGS_investment_krw));
    const std::string status = absl::GetFlag(FLAGS_status);
    v1::CycleStatus value = v1::CYCLE_STATUS_UNSPECIFIED;
    if (!status.empty() &&
        !v1::CycleStatus_Parse("CYCLE_STATUS_" + status, &value)) {
      return Usage("unknown --status " + status);
    }
    request.set_status(value);
    return Show(client.Create(request));
  }
  if (command == "list" && need(0)) {
    v1::ListCyclesRequest request;
    for (absl::string_view name :
         absl::StrSplit(absl::GetFlag(FLAGS_status), ',', absl::SkipEmpty())) {
      v1::CycleStatus value;
      if (!v1::CycleStatus_Parse(absl::StrCat("CYCLE_STATUS_", name), &value)) {
        return Usage(absl::StrCat("unknown status ", name));
      }
      request.add_statuses(value);
    }
    request.set_page_size(absl::GetFlag(FLAGS_page_size));
    request.set_page_token(absl::GetFlag(FLAGS_page_token));
    auto page = client.List(request);
    if (!page.ok()) return Fail(page.status());
    if (absl::GetFlag(FLAGS_json)) {
      Print(*page);
      return 0;
    }
    for (const v1::Cycle& cycle : page->cycles()) {
      std::cout << Human(cycle) << "\n";
    }
    if (!page->next_page_token().empty()) {
      std::cout << "next page: --page_token=" << page->next_page_token()
                << "\n";
    }
    return 0;
  }
  if (command == "stats" && need(0)) {
    auto stats = client.Stats();
    if (!stats.ok()) return Fail(stats.status());
    if (absl::GetFlag(FLAGS_json)) {
      Print(*stats);
      return 0;
    }
    for (const v1::StatusCount& count : stats->counts()) {
      std::cout << v1::CycleStatus_Name(count.status()).substr(13) << " "
                << count.count() << "\n";
    }
    std::cout << "oldest claimable: "
              << (stats->has_oldest_claimable_age()
                      ? absl::StrCat(stats->oldest_claimable_age().seconds(),
                                     "s")
                      : std::string("none"))
              << "\nlive leases: " << stats->live_leases()
              << "\nexpired leases: " << stats->expired_leases() << "\n";
    return 0;
  }
  if (command == "health" && need(0)) {
    auto serving = client.Serving();
    if (!serving.ok()) return Fail(serving.status());
    std::cout << (*serving ? "SERVING" : "NOT_SERVING") << "\n";
    return *serving ? 0 : kNothing;
  }
  return Usage(absl::StrCat("cannot run: ", absl::StrJoin(args, " ")));
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(kUsage);
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  std::vector<std::string> args(positional.begin() + 1, positional.end());
  if (args.empty()) return Usage("no command");
  std::string server = absl::GetFlag(FLAGS_server);
  if (server.empty()) {
    const char* from_environment = std::getenv("CYCLECTL_SERVER");
    server = from_environment != nullptr ? from_environment : "localhost:50051";
  }
  // The token comes from the environment, never from a flag (ps shows those).
  const char* token = std::getenv("CYCLECTL_TOKEN");
  const auto read = [](const std::string& path) {
    std::ifstream file(path);
    return std::string(std::istreambuf_iterator<char>(file), {});
  };
  const std::string ca = absl::GetFlag(FLAGS_tls_ca);
  CycleClient client =
      ca.empty()
          ? CycleClient::Insecure(server, absl::Seconds(10),
                                  token != nullptr ? token : "")
          : CycleClient::Tls(server, read(ca),
                             absl::GetFlag(FLAGS_tls_cert).empty()
                                 ? ""
                                 : read(absl::GetFlag(FLAGS_tls_cert)),
                             absl::GetFlag(FLAGS_tls_key).empty()
                                 ? ""
                                 : read(absl::GetFlag(FLAGS_tls_key)),
                             absl::Seconds(10), token != nullptr ? token : "");
  return Run(client, args);
}
