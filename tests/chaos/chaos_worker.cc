// One finalizer process of the chaos suite: the C++ Worker over a channel
// that round-robins across every replica, a random task time per cycle, and
// an append-only log of what it did, one line per event:
//
//   <event> <cycle id> <lease token> <locked_at us> <lease_expires_at us> <local time us>
//
// with <event> one of claimed, renewed, lost, completing, completed, failed.
// Each line is flushed as it is written, so a SIGKILL loses at most the
// event in progress.

#include <grpcpp/grpcpp.h>

#include <functional>
#include <cstdio>
#include <mutex>
#include <random>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "client/cpp/worker.h"

ABSL_FLAG(std::string, servers, "", "comma-separated host:port of every replica");
ABSL_FLAG(std::string, worker, "", "worker id");
ABSL_FLAG(absl::Duration, lease, absl::Seconds(2), "lease length");
ABSL_FLAG(int, min_task_ms, 5, "shortest task");
ABSL_FLAG(int, max_task_ms, 50, "longest task");
ABSL_FLAG(int, slow_percent, 10,
          "cycles (chosen by id, so every holder of one is slow) whose task "
          "takes 600 to 1500 ms: a lease renews while they run, and a worker "
          "stopped past its lease resumes while the next holder still works");
ABSL_FLAG(std::string, log, "", "event log to append to");
ABSL_FLAG(uint64_t, seed, 1, "seed of the task times");

namespace {

namespace v1 = kimp::cycles::v1;
using cycle_claimer::client::WorkerEvent;

int64_t Micros(const google::protobuf::Timestamp& time) {
  return time.seconds() * 1000000 + time.nanos() / 1000;
}

const char* EventName(WorkerEvent::Kind kind) {
  switch (kind) {
    case WorkerEvent::Kind::kClaimed:
      return "claimed";
    case WorkerEvent::Kind::kRenewed:
      return "renewed";
    case WorkerEvent::Kind::kLeaseLost:
      return "lost";
    case WorkerEvent::Kind::kCompleting:
      return "completing";
    case WorkerEvent::Kind::kCompleted:
      return "completed";
    case WorkerEvent::Kind::kFailed:
      return "failed";
  }
  return "unknown";
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const sigset_t stop = cycle_claimer::client::BlockStopSignals();

  // "ipv4:127.0.0.1:1,127.0.0.1:2" with round_robin: every replica in turn,
  // and the others while one is down.
  std::vector<std::string> addresses =
      absl::StrSplit(absl::GetFlag(FLAGS_servers), ',', absl::SkipEmpty());
  grpc::ChannelArguments arguments;
  arguments.SetLoadBalancingPolicyName("round_robin");
  // Reconnect to a restarted replica quickly.
  arguments.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  arguments.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  auto channel = grpc::CreateCustomChannel(
      absl::StrCat("ipv4:", absl::StrJoin(addresses, ",")),
      grpc::InsecureChannelCredentials(), arguments);
  cycle_claimer::client::CycleClient client(channel, absl::Seconds(5));

  std::FILE* log = std::fopen(absl::GetFlag(FLAGS_log).c_str(), "a");
  if (log == nullptr) {
    std::perror("chaos_worker: cannot open --log");
    return 2;
  }
  std::mutex log_mu;

  cycle_claimer::client::WorkerOptions options;
  options.worker_id = absl::GetFlag(FLAGS_worker);
  options.lease = absl::GetFlag(FLAGS_lease);
  options.wait = absl::Seconds(2);
  options.min_backoff = absl::Milliseconds(20);
  options.max_backoff = absl::Milliseconds(500);
  options.on_event = [&](const WorkerEvent& event) {
    const std::string line = absl::StrCat(
        EventName(event.kind), " ", event.cycle.id(), " ",
        event.cycle.lease_token(), " ", Micros(event.cycle.locked_at()), " ",
        Micros(event.cycle.lease_expires_at()), " ",
        absl::ToUnixMicros(absl::Now()), "\n");
    std::lock_guard lock(log_mu);
    std::fputs(line.c_str(), log);
    std::fflush(log);
  };
  std::mt19937_64 random(absl::GetFlag(FLAGS_seed));
  std::uniform_int_distribution<int> task_ms(absl::GetFlag(FLAGS_min_task_ms),
                                             absl::GetFlag(FLAGS_max_task_ms));
  cycle_claimer::client::Worker worker(
      client, options,
      [&](const v1::Cycle& cycle) -> absl::StatusOr<
                                     cycle_claimer::client::RebalanceResult> {
        const bool slow = std::hash<std::string>()(cycle.id()) % 100 <
                          static_cast<std::size_t>(
                              absl::GetFlag(FLAGS_slow_percent));
        absl::SleepFor(absl::Milliseconds(
            slow ? std::uniform_int_distribution<int>(600, 1500)(random)
                 : task_ms(random)));
        cycle_claimer::client::RebalanceResult result;
        result.total_net_profit_krw = "1.0";
        return result;
      });
  std::thread stopper = cycle_claimer::client::StopOnSignal(stop, worker);
  worker.Run();
  stopper.detach();
  std::fclose(log);
  return 0;
}
