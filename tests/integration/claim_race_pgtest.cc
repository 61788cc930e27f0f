// Many workers racing over real channels: every cycle is handed out and
// completed exactly once, and nobody is told "nothing to do" while work is
// plentiful.

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/support/server_fixture.h"

namespace cycle_claimer::testing {
namespace {

namespace v1 = kimp::cycles::v1;

struct Grant {
  std::string cycle_id;
  int64_t token;
  int worker;
};

class ClaimRaceTest : public ServerTest {};

TEST_F(ClaimRaceTest, ThirtyTwoWorkersCompleteTenThousandCyclesExactlyOnce) {
  constexpr int kCycles = 10000;
  constexpr int kWorkers = 32;
  InsertCycles(kCycles);

  std::atomic<int> claims_received{0};
  std::atomic<int> completions_accepted{0};
  std::mutex mu;
  std::vector<Grant> grants;
  std::vector<std::string> errors;
  // For each empty answer, a lower bound on how many cycles were unclaimed
  // when the server gave it: of the claims granted before that moment, all
  // but the at most kWorkers - 1 still in flight to other workers have been
  // counted in claims_received by the time the empty answer is in.
  std::vector<int> unclaimed_at_least_when_empty;

  std::vector<std::thread> workers;
  for (int w = 0; w < kWorkers; ++w) {
    workers.emplace_back([&, w] {
      client::CycleClient client = NewClient();
      const std::string worker_id = absl::StrCat("worker-", w);
      for (;;) {
        auto claimed = client.Claim(worker_id);
        if (!claimed.ok()) {
          std::lock_guard lock(mu);
          errors.push_back(
              absl::StrCat("claim: ", claimed.status().ToString()));
          return;
        }
        if (!claimed->has_value()) {
          const int received = claims_received.load();
          std::lock_guard lock(mu);
          unclaimed_at_least_when_empty.push_back(kCycles - received -
                                                  (kWorkers - 1));
          return;
        }
        const v1::Cycle& cycle = **claimed;
        claims_received.fetch_add(1);
        {
          std::lock_guard lock(mu);
          grants.push_back({cycle.id(), cycle.lease_token(), w});
        }
        v1::CompleteCycleRequest done;
        done.set_cycle_id(cycle.id());
        done.set_lease_token(cycle.lease_token());
        done.set_total_net_profit_krw("1000.5");
        auto completed = client.Complete(done);
        if (!completed.ok()) {
          std::lock_guard lock(mu);
          errors.push_back(
              absl::StrCat("complete: ", completed.status().ToString()));
          return;
        }
        completions_accepted.fetch_add(1);
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

  // SKIP LOCKED only skips rows other claims hold, at most one each: an
  // empty answer can only come when fewer cycles than workers were left.
  for (int unclaimed : unclaimed_at_least_when_empty) {
    EXPECT_LE(unclaimed, kWorkers)
        << "a worker was told nothing is claimable while at least " << unclaimed
        << " cycles were unclaimed";
  }

  // And from the table itself.
  EXPECT_EQ(
      db_.Scalar<int>("SELECT count(*) FROM arbitrage_cycles "
                      "WHERE status = 'COMPLETED' AND end_time IS NOT NULL "
                      "AND locked_at IS NULL "
                      "AND total_net_profit_krw = 1000.5"),
      kCycles);
  EXPECT_EQ(db_.Scalar<int>("SELECT count(*) FROM cycle_claimer.cycle_leases "
                            "WHERE lease_token = 1 AND locked_by IS NULL "
                            "AND lease_expires_at IS NULL"),
            kCycles);
  EXPECT_EQ(db_.Scalar<int>("SELECT count(*) FROM arbitrage_cycles "
                            "WHERE retry_count <> 0"),
            0);
}

}  // namespace
}  // namespace cycle_claimer::testing
