// An example finalizer on the C++ Worker: "rebalances" each cycle by
// sleeping --work_ms, then completes it. Stops on SIGINT/SIGTERM, giving
// back a cycle it has claimed but not started.
//
//   example_finalizer --server=localhost:50051 --worker=fin-1 [--log=FILE]
//
// A server with tokens needs $CYCLE_CLAIMER_TOKEN; a TLS server needs
// $CYCLE_CLAIMER_TLS_CA (PEM file), and with mutual TLS also
// $CYCLE_CLAIMER_TLS_CERT and $CYCLE_CLAIMER_TLS_KEY.

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/cpp/worker.h"

ABSL_FLAG(std::string, server, "localhost:50051", "host:port of the service");
ABSL_FLAG(std::string, worker, "example-finalizer", "worker id");
ABSL_FLAG(absl::Duration, lease, absl::Seconds(30), "lease length");
ABSL_FLAG(int, work_ms, 10, "time one rebalance takes");
ABSL_FLAG(std::string, log, "", "append 'completed ID TOKEN' lines here");

namespace {

std::string Environment(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

// The contents of the file named by environment variable `name`; empty when
// unset. Exits when it cannot be read.
std::string FileFromEnvironment(const char* name) {
  const std::string path = Environment(name);
  if (path.empty()) return "";
  std::ifstream file(path);
  if (!file) {
    std::cerr << "cannot read $" << name << " " << path << "\n";
    std::exit(2);
  }
  return std::string(std::istreambuf_iterator<char>(file), {});
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const sigset_t stop = cycle_claimer::client::BlockStopSignals();

  using cycle_claimer::client::CycleClient;
  using cycle_claimer::client::RebalanceResult;
  using cycle_claimer::client::Worker;
  const std::string token = Environment("CYCLE_CLAIMER_TOKEN");
  const std::string ca = FileFromEnvironment("CYCLE_CLAIMER_TLS_CA");
  CycleClient client =
      ca.empty()
          ? CycleClient::Insecure(absl::GetFlag(FLAGS_server),
                                  absl::Seconds(30), token)
          : CycleClient::Tls(absl::GetFlag(FLAGS_server), ca,
                             FileFromEnvironment("CYCLE_CLAIMER_TLS_CERT"),
                             FileFromEnvironment("CYCLE_CLAIMER_TLS_KEY"),
                             absl::Seconds(30), token);
  std::ofstream log;
  if (!absl::GetFlag(FLAGS_log).empty()) {
    log.open(absl::GetFlag(FLAGS_log), std::ios::app);
  }
  cycle_claimer::client::WorkerOptions options;
  options.worker_id = absl::GetFlag(FLAGS_worker);
  options.lease = absl::GetFlag(FLAGS_lease);
  options.wait = absl::Seconds(5);
  Worker worker(
      client, options,
      [&](const kimp::cycles::v1::Cycle& cycle)
          -> absl::StatusOr<RebalanceResult> {
        absl::SleepFor(absl::Milliseconds(absl::GetFlag(FLAGS_work_ms)));
        if (log.is_open()) {
          // Written before completing: a line means "rebalanced"; the table
          // says which completion was accepted.
          log << "rebalanced " << cycle.id() << " " << cycle.lease_token()
              << std::endl;
        }
        RebalanceResult result;
        result.total_net_profit_krw = "1.0";
        return result;
      });
  std::thread stopper = cycle_claimer::client::StopOnSignal(stop, worker);
  const int completed = worker.Run();
  std::cout << absl::GetFlag(FLAGS_worker) << ": completed " << completed
            << " cycles\n";
  stopper.join();
  return 0;
}
