// Leases that expire while their holders are slow, dead or renewing at the
// last moment: take-overs race with late completions and renewals, and still
// every cycle is completed exactly once, by the holder of its latest token.

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/support/server_fixture.h"

namespace cycle_claimer::testing {
namespace {

namespace v1 = kimp::cycles::v1;

struct Accepted {
  std::string cycle_id;
  int64_t token;
};

class FencingRaceTest : public ServerTest {};

TEST_F(FencingRaceTest, SlowDeadAndRenewingWorkersNeverCompleteACycleTwice) {
  constexpr int kCycles = 300;
  constexpr int kWorkers = 16;
  const absl::Duration kLease = absl::Seconds(1);  // the shortest allowed
  ServerOptions options = DefaultOptions();
  options.policy.max_attempts = 1000;  // this test is about fencing only
  StartServer(options);
  InsertCycles(kCycles);

  const unsigned seed = std::random_device{}();
  SCOPED_TRACE(absl::StrCat("seed ", seed));
  std::mutex mu;
  std::vector<Accepted> accepted;
  std::vector<std::string> errors;
  std::atomic<int> refused{0};
  std::atomic<int> abandoned{0};
  std::atomic<bool> stop{false};
  const absl::Time give_up = absl::Now() + absl::Seconds(120);

  std::vector<std::thread> workers;
  for (int w = 0; w < kWorkers; ++w) {
    workers.emplace_back([&, w] {
      std::mt19937 random(seed + w);
      std::uniform_int_distribution<int> percent(0, 99);
      client::CycleClient client = NewClient();
      const std::string worker = absl::StrCat("w", w);
      while (!stop.load() && absl::Now() < give_up) {
        auto claimed = client.Claim(worker, kLease);
        if (!claimed.ok()) {
          std::lock_guard lock(mu);
          errors.push_back(claimed.status().ToString());
          return;
        }
        if (!claimed->has_value()) {
          // Remaining cycles are held by slow or dead workers: wait for
          // their leases to run out.
          absl::SleepFor(absl::Milliseconds(100));
          continue;
        }
        const v1::Cycle cycle = **claimed;
        const int roll = percent(random);
        if (roll < 10) {  // dies holding the lease
          ++abandoned;
          continue;
        }
        if (roll < 35) {  // slow: finishes around or after lease expiry
          absl::SleepFor(absl::Milliseconds(800 + percent(random) * 6));
        } else if (roll < 55) {  // renews at the last moment, then finishes
          absl::SleepFor(absl::Milliseconds(900 + percent(random) * 2));
          const absl::Status renewed =
              client.Renew(cycle.id(), cycle.lease_token(), kLease).status();
          if (!renewed.ok() &&
              renewed.code() != absl::StatusCode::kFailedPrecondition) {
            std::lock_guard lock(mu);
            errors.push_back(absl::StrCat("renew: ", renewed.ToString()));
          }
        }
        v1::CompleteCycleRequest done;
        done.set_cycle_id(cycle.id());
        done.set_lease_token(cycle.lease_token());
        done.set_rebalance_trade_id(
            absl::StrCat("00000000-0000-4000-8000-00000000000", w % 10));
        const absl::Status completed = client.Complete(done).status();
        std::lock_guard lock(mu);
        if (completed.ok()) {
          accepted.push_back({cycle.id(), cycle.lease_token()});
        } else if (completed.code() == absl::StatusCode::kFailedPrecondition) {
          ++refused;
        } else {
          errors.push_back(absl::StrCat("complete: ", completed.ToString()));
        }
      }
    });
  }
  // Done when the table says every cycle is completed.
  while (absl::Now() < give_up &&
         db_.Scalar<int>("SELECT count(*) FROM arbitrage_cycles "
                         "WHERE status = 'COMPLETED'") < kCycles) {
    absl::SleepFor(absl::Milliseconds(200));
  }
  stop = true;
  for (std::thread& worker : workers) worker.join();

  EXPECT_TRUE(errors.empty()) << errors.front();
  ASSERT_EQ(
      db_.Scalar<int>(
          "SELECT count(*) FROM arbitrage_cycles WHERE status = 'COMPLETED'"),
      kCycles);
  // Exactly one accepted completion per cycle...
  std::map<std::string, std::vector<int64_t>> accepted_tokens;
  for (const Accepted& a : accepted)
    accepted_tokens[a.cycle_id].push_back(a.token);
  EXPECT_EQ(accepted_tokens.size(), static_cast<size_t>(kCycles));
  // ...carrying the cycle's latest token.
  std::map<std::string, int64_t> latest;
  for (const auto& row : db_.Exec("SELECT cycle_id::text, lease_token FROM "
                                  "cycle_claimer.cycle_leases")) {
    latest[row[0].as<std::string>()] = row[1].as<int64_t>();
  }
  for (const auto& [id, tokens] : accepted_tokens) {
    ASSERT_EQ(tokens.size(), 1u)
        << "cycle " << id << " completed " << tokens.size() << " times";
    EXPECT_EQ(tokens[0], latest[id])
        << "cycle " << id << " completed with a stale token";
  }
  // The races this test is about did happen.
  EXPECT_GT(abandoned.load(), 0);
  EXPECT_GT(db_.Scalar<int>("SELECT count(*) FROM arbitrage_cycles "
                            "WHERE retry_count > 0"),
            0);
  RecordProperty("refused_late_completions", refused.load());
}

}  // namespace
}  // namespace cycle_claimer::testing
