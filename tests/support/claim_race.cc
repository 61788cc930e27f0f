#include "tests/support/claim_race.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "client/cpp/cycle_client.h"
#include "kimp/cycles/v1/cycles.grpc.pb.h"

namespace cycle_claimer::testing {
namespace {

namespace v1 = kimp::cycles::v1;

struct Grant {
  std::string cycle_id;
  int64_t token;
  int worker;
};

// Claims up to `batch` cycles: by ClaimNextCycle when batch is 1.
absl::StatusOr<std::vector<v1::Cycle>> ClaimSome(client::CycleClient& client,
                                                 v1::CycleService::Stub& stub,
                                                 const std::string& worker_id,
                                                 int batch) {
  if (batch == 1) {
    auto claimed = client.Claim(worker_id);
    if (!claimed.ok()) return claimed.status();
    if (!claimed->has_value()) return std::vector<v1::Cycle>();
    return std::vector<v1::Cycle>{**claimed};
  }
  v1::ClaimCyclesRequest request;
  request.set_worker_id(worker_id);
  request.set_max_cycles(batch);
  v1::ClaimCyclesResponse response;
  grpc::ClientContext context;
  const grpc::Status status = stub.ClaimCycles(&context, request, &response);
  if (!status.ok()) return absl::UnknownError(status.error_message());
  return std::vector<v1::Cycle>(response.cycles().begin(),
                                response.cycles().end());
}

// Completes `cycles`: one CompleteCycle each when batch is 1. Returns how
// many were accepted, or the first error.
absl::StatusOr<int> CompleteAll(client::CycleClient& client,
                                v1::CycleService::Stub& stub,
                                const std::vector<v1::Cycle>& cycles,
                                int batch) {
  v1::CompleteCyclesRequest request;
  for (const v1::Cycle& cycle : cycles) {
    v1::CompleteCycleRequest* done = request.add_completions();
    done->set_cycle_id(cycle.id());
    done->set_lease_token(cycle.lease_token());
    done->set_total_net_profit_krw("1000.5");
  }
  if (batch == 1) {
    absl::Status status = client.Complete(request.completions(0)).status();
    if (!status.ok()) return status;
    return 1;
  }
  v1::CompleteCyclesResponse response;
  grpc::ClientContext context;
  const grpc::Status status = stub.CompleteCycles(&context, request, &response);
  if (!status.ok()) return absl::UnknownError(status.error_message());
  int accepted = 0;
  for (const v1::CompleteCycleResult& result : response.results()) {
    if (!result.has_cycle())
      return absl::UnknownError(result.error().message());
    ++accepted;
  }
  return accepted;
}

}  // namespace

void PrintTo(const RaceMode& mode, std::ostream* os) { *os << mode.name; }

void RunClaimRace(
    const RaceMode& mode, int cycles,
    const std::function<std::shared_ptr<grpc::Channel>()>& new_channel,
    TestDatabase& db) {
  const int kCycles = cycles;
  const int kWorkers = mode.workers;
  const int kBatch = mode.batch;

  std::atomic<int> claims_received{0};
  std::atomic<int> completions_accepted{0};
  std::mutex mu;
  std::vector<Grant> grants;
  std::vector<std::string> errors;
  // For each empty answer, a lower bound on how many cycles were unclaimed
  // when the server gave it: of the claims granted before that moment, all
  // but the at most (kWorkers - 1) * kBatch still in flight to other workers
  // have been counted in claims_received by the time the empty answer is in.
  std::vector<int> unclaimed_at_least_when_empty;

  std::vector<std::thread> workers;
  for (int w = 0; w < kWorkers; ++w) {
    workers.emplace_back([&, w] {
      // Connected before the race: 128 channels dialling at once may see a
      // refused first attempt, which gRPC retries with backoff; a worker
      // that called meanwhile would get UNAVAILABLE, and this test is about
      // claims, not connection set-up.
      auto claim_channel = new_channel();
      auto stub_channel = new_channel();
      for (const auto& channel : {claim_channel, stub_channel}) {
        channel->WaitForConnected(std::chrono::system_clock::now() +
                                  std::chrono::seconds(30));
      }
      client::CycleClient client(claim_channel);
      auto stub = v1::CycleService::NewStub(stub_channel);
      const std::string worker_id = absl::StrCat("worker-", w);
      for (;;) {
        auto claimed = ClaimSome(client, *stub, worker_id, kBatch);
        if (!claimed.ok()) {
          std::lock_guard lock(mu);
          errors.push_back(
              absl::StrCat("claim: ", claimed.status().ToString()));
          return;
        }
        if (claimed->empty()) {
          const int received = claims_received.load();
          std::lock_guard lock(mu);
          unclaimed_at_least_when_empty.push_back(kCycles - received -
                                                  (kWorkers - 1) * kBatch);
          return;
        }
        claims_received.fetch_add(static_cast<int>(claimed->size()));
        {
          std::lock_guard lock(mu);
          for (const v1::Cycle& cycle : *claimed) {
            grants.push_back({cycle.id(), cycle.lease_token(), w});
          }
        }
        auto completed = CompleteAll(client, *stub, *claimed, kBatch);
        if (!completed.ok()) {
          std::lock_guard lock(mu);
          errors.push_back(
              absl::StrCat("complete: ", completed.status().ToString()));
          return;
        }
        completions_accepted.fetch_add(*completed);
      }
    });
  }
  for (std::thread& worker : workers) worker.join();

  EXPECT_TRUE(errors.empty()) << errors.front();
  EXPECT_EQ(completions_accepted.load(), kCycles);

  // Exactly once: each cycle was granted once, with the first token.
  std::map<std::string, int> grants_per_cycle;
  for (const Grant& grant : grants) {
    ++grants_per_cycle[grant.cycle_id];
    EXPECT_EQ(grant.token, 1) << grant.cycle_id;
  }
  EXPECT_EQ(grants_per_cycle.size(), static_cast<size_t>(kCycles));
  for (const auto& [cycle_id, count] : grants_per_cycle) {
    EXPECT_EQ(count, 1) << "cycle " << cycle_id << " was handed out " << count
                        << " times";
  }

  // SKIP LOCKED only skips rows other claims hold, at most kBatch each: an
  // empty answer can only come when few cycles were left.
  for (int unclaimed : unclaimed_at_least_when_empty) {
    EXPECT_LE(unclaimed, kWorkers * kBatch)
        << "a worker was told nothing is claimable while at least " << unclaimed
        << " cycles were unclaimed";
  }

  // And from the table itself.
  EXPECT_EQ(
      db.Scalar<int>("SELECT count(*) FROM arbitrage_cycles "
                     "WHERE status = 'COMPLETED' AND end_time IS NOT NULL "
                     "AND locked_at IS NULL "
                     "AND total_net_profit_krw = 1000.5"),
      kCycles);
  EXPECT_EQ(db.Scalar<int>("SELECT count(*) FROM cycle_claimer.cycle_leases "
                           "WHERE lease_token = 1 AND locked_by IS NULL "
                           "AND lease_expires_at IS NULL"),
            kCycles);
  EXPECT_EQ(db.Scalar<int>("SELECT count(*) FROM arbitrage_cycles "
                           "WHERE retry_count <> 0"),
            0);
}

}  // namespace cycle_claimer::testing
