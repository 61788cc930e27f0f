// Lease semantics through a real channel: order, take-over of expired
// leases and fencing of the old holder, retries with backoff, dead letters,
// release, renewal, and the errors for wrong tokens and unknown ids.

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/support/server_fixture.h"

namespace cycle_claimer::testing {
namespace {

namespace v1 = kimp::cycles::v1;

constexpr char kUnknownId[] = "00000000-0000-4000-8000-000000000000";

v1::CompleteCycleRequest Completion(const v1::Cycle& cycle) {
  v1::CompleteCycleRequest request;
  request.set_cycle_id(cycle.id());
  request.set_lease_token(cycle.lease_token());
  return request;
}

class LeaseTest : public ServerTest {
 protected:
  // Makes every lease look expired, as if its holder had died long ago.
  void ExpireAllLeases() {
    db_.Exec(
        "UPDATE cycle_claimer.cycle_leases SET lease_expires_at = "
        "timezone('UTC', now()) - interval '1 second' "
        "WHERE lease_expires_at IS NOT NULL");
  }
  // Makes every waiting retry due now.
  void MakeRetriesDue() {
    db_.Exec(
        "UPDATE arbitrage_cycles SET next_retry_at = "
        "timezone('UTC', now()) - interval '1 second' "
        "WHERE status = 'AWAITING_RETRY'");
  }
  v1::Cycle MustClaim(client::CycleClient& client, const std::string& worker,
                      absl::Duration lease = absl::ZeroDuration()) {
    auto claimed = client.Claim(worker, lease);
    EXPECT_TRUE(claimed.ok()) << claimed.status();
    EXPECT_TRUE(claimed.ok() && claimed->has_value())
        << worker << " found nothing to claim";
    return claimed.ok() && claimed->has_value() ? **claimed : v1::Cycle();
  }
  void ExpectNothingClaimable(client::CycleClient& client) {
    auto claimed = client.Claim("observer");
    ASSERT_TRUE(claimed.ok()) << claimed.status();
    EXPECT_FALSE(claimed->has_value()) << "claimed " << (*claimed)->id();
  }
};

TEST_F(LeaseTest, OneWorkerReceivesCyclesInStartTimeOrderTiesById) {
  // Start times out of insertion order, with ties (broken by id).
  db_.Exec(
      "INSERT INTO arbitrage_cycles (start_time, end_time, status) "
      "SELECT timezone('UTC', now()) - ((g * 7919) % 50) * interval '1 minute',"
      "       NULL, 'AWAITING_REBALANCE' "
      "FROM generate_series(1, 120) AS g");
  std::vector<std::string> expected;
  for (const auto& row : db_.Exec("SELECT id::text FROM arbitrage_cycles "
                                  "ORDER BY start_time, id")) {
    expected.push_back(row[0].as<std::string>());
  }
  client::CycleClient client = NewClient();
  std::vector<std::string> received;
  for (;;) {
    auto claimed = client.Claim("solo");
    ASSERT_TRUE(claimed.ok()) << claimed.status();
    if (!claimed->has_value()) break;
    received.push_back((*claimed)->id());
    ASSERT_TRUE(client.Complete(Completion(**claimed)).ok());
  }
  EXPECT_EQ(received, expected);
}

TEST_F(LeaseTest, ClaimReturnsTheFullRowAndLease) {
  db_.Exec(
      "INSERT INTO arbitrage_cycles (id, start_time, end_time, status, "
      "initial_trade_id, initial_investment_krw) VALUES "
      "('11111111-2222-4333-8444-555555555555', '2026-01-02 03:04:05.678901', "
      "NULL, 'AWAITING_REBALANCE', 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee', "
      "'1234567890123456.7891')");
  client::CycleClient client = NewClient();
  const absl::Time before = absl::Now();
  const v1::Cycle cycle = MustClaim(client, "finalizer-1", absl::Seconds(90));
  EXPECT_EQ(cycle.id(), "11111111-2222-4333-8444-555555555555");
  EXPECT_EQ(cycle.status(), v1::CYCLE_STATUS_REBALANCING_IN_PROGRESS);
  EXPECT_EQ(cycle.start_time().seconds(),
            absl::ToUnixSeconds(absl::FromCivil(
                absl::CivilSecond(2026, 1, 2, 3, 4, 5), absl::UTCTimeZone())));
  EXPECT_EQ(cycle.start_time().nanos(), 678901000);
  EXPECT_FALSE(cycle.has_end_time());
  EXPECT_EQ(cycle.initial_trade_id(), "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee");
  EXPECT_EQ(cycle.initial_investment_krw(), "1234567890123456.7891");
  EXPECT_EQ(cycle.locked_by(), "finalizer-1");
  EXPECT_EQ(cycle.lease_token(), 1);
  EXPECT_EQ(cycle.retry_count(), 0);
  ASSERT_TRUE(cycle.has_locked_at());
  ASSERT_TRUE(cycle.has_lease_expires_at());
  EXPECT_EQ(cycle.lease_expires_at().seconds() - cycle.locked_at().seconds(),
            90);
  // The database clock and ours agree to within a few seconds here.
  EXPECT_NEAR(static_cast<double>(cycle.locked_at().seconds()),
              static_cast<double>(absl::ToUnixSeconds(before)), 5.0);
}

TEST_F(LeaseTest, ExpiredLeaseIsTakenOverAndOldHolderIsFenced) {
  InsertCycles(1);
  client::CycleClient first = NewClient();
  client::CycleClient second = NewClient();
  const v1::Cycle held = MustClaim(first, "first", absl::Seconds(1));
  ASSERT_EQ(held.lease_token(), 1);

  // Never renewed: within 2 s another worker gets it.
  std::optional<v1::Cycle> taken;
  const absl::Time deadline = absl::Now() + absl::Seconds(2);
  while (!taken && absl::Now() < deadline) {
    auto claimed = second.Claim("second");
    ASSERT_TRUE(claimed.ok()) << claimed.status();
    if (claimed->has_value()) {
      taken = **claimed;
    } else {
      absl::SleepFor(absl::Milliseconds(50));
    }
  }
  ASSERT_TRUE(taken.has_value()) << "the expired lease was not taken over";
  EXPECT_EQ(taken->id(), held.id());
  EXPECT_EQ(taken->lease_token(), 2);
  EXPECT_EQ(taken->retry_count(), 1);
  EXPECT_EQ(taken->locked_by(), "second");
  EXPECT_EQ(taken->failure_reason(), "lease expired");
  EXPECT_NE(taken->error_details().find("lease of first (token 1) expired"),
            std::string::npos)
      << taken->error_details();

  // The first holder wakes up: every lease operation is refused.
  auto late_complete = first.Complete(Completion(held));
  EXPECT_EQ(late_complete.status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(late_complete.status().message().find("lease lost"),
            std::string::npos);
  EXPECT_EQ(first.Renew(held.id(), 1).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(first.Fail(held.id(), 1, "boom").status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(first.Release(held.id(), 1).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(
      db_.Scalar<std::string>("SELECT status::text FROM arbitrage_cycles"),
      "REBALANCING_IN_PROGRESS");

  // The successor's completion is accepted.
  v1::CompleteCycleRequest done = Completion(*taken);
  done.set_rebalance_trade_id("99999999-8888-4777-8666-555555555555");
  auto completed = second.Complete(done);
  ASSERT_TRUE(completed.ok()) << completed.status();
  EXPECT_EQ(completed->status(), v1::CYCLE_STATUS_COMPLETED);
  EXPECT_EQ(db_.Scalar<std::string>(
                "SELECT rebalance_trade_id::text FROM arbitrage_cycles"),
            "99999999-8888-4777-8666-555555555555");
}

TEST_F(LeaseTest, ExpiredLeaseNobodyTookOverIsStillHonoured) {
  InsertCycles(1);
  client::CycleClient client = NewClient();
  const v1::Cycle held = MustClaim(client, "slow");
  ExpireAllLeases();
  auto completed = client.Complete(Completion(held));
  ASSERT_TRUE(completed.ok()) << completed.status();
  EXPECT_EQ(completed->status(), v1::CYCLE_STATUS_COMPLETED);
}

TEST_F(LeaseTest, FailuresBackOffThenDeadLetterAndRetryDueCyclesComeBack) {
  InsertCycles(1);
  client::CycleClient client = NewClient();
  const absl::Duration base = absl::Minutes(10);  // kimP's default
  for (int attempt = 1; attempt <= 5; ++attempt) {
    const v1::Cycle held = MustClaim(client, "w");
    ASSERT_EQ(held.lease_token(), attempt);
    EXPECT_EQ(held.retry_count(), attempt - 1);
    auto failed = client.Fail(held.id(), held.lease_token(),
                              absl::StrCat("exchange said no #", attempt));
    ASSERT_TRUE(failed.ok()) << failed.status();
    EXPECT_EQ(failed->retry_count(), attempt);
    EXPECT_EQ(failed->failure_reason(),
              absl::StrCat("exchange said no #", attempt));
    EXPECT_TRUE(failed->locked_by().empty());
    EXPECT_FALSE(failed->has_locked_at());
    if (attempt < 5) {
      EXPECT_EQ(failed->status(), v1::CYCLE_STATUS_AWAITING_RETRY);
      ASSERT_TRUE(failed->has_next_retry_at());
      // next_retry_at = last_retry_at + base * 2^(attempt-1), exactly.
      EXPECT_EQ(
          failed->next_retry_at().seconds() - failed->last_retry_at().seconds(),
          absl::ToInt64Seconds(base * (1 << (attempt - 1))));
      ExpectNothingClaimable(client);  // not due yet
      MakeRetriesDue();
    } else {
      EXPECT_EQ(failed->status(), v1::CYCLE_STATUS_DEAD_LETTER);
      EXPECT_FALSE(failed->has_next_retry_at());
    }
  }
  EXPECT_EQ(db_.Scalar<int>("SELECT count(*) FROM arbitrage_cycles WHERE "
                            "error_details LIKE '%attempt 5 failed (worker w, "
                            "token 5): exchange said no #5'"),
            1);
  // A dead letter is never handed out again, even with a past retry time.
  db_.Exec("UPDATE arbitrage_cycles SET next_retry_at = '2000-01-01'");
  ExpectNothingClaimable(client);
}

TEST_F(LeaseTest, PermanentFailureDeadLettersAtOnce) {
  InsertCycles(1);
  client::CycleClient client = NewClient();
  const v1::Cycle held = MustClaim(client, "w");
  auto failed = client.Fail(held.id(), held.lease_token(), "bad cycle",
                            /*permanent=*/true);
  ASSERT_TRUE(failed.ok()) << failed.status();
  EXPECT_EQ(failed->status(), v1::CYCLE_STATUS_DEAD_LETTER);
  EXPECT_EQ(failed->retry_count(), 1);
  ExpectNothingClaimable(client);
}

TEST_F(LeaseTest, TakeOverOnTheLastAttemptDeadLettersInsteadOfHandingOut) {
  ServerOptions options = DefaultOptions();
  options.policy.max_attempts = 2;
  StartServer(options);
  InsertCycles(1);
  client::CycleClient client = NewClient();
  MustClaim(client, "dies-1");
  ExpireAllLeases();
  const v1::Cycle second = MustClaim(client, "dies-2");
  EXPECT_EQ(second.retry_count(), 1);
  ExpireAllLeases();
  ExpectNothingClaimable(client);
  EXPECT_EQ(
      db_.Scalar<std::string>(
          "SELECT status::text || ' ' || retry_count FROM arbitrage_cycles"),
      "DEAD_LETTER 2");
  EXPECT_EQ(db_.Scalar<int>("SELECT count(*) FROM cycle_claimer.cycle_leases "
                            "WHERE locked_by IS NULL AND lease_token = 3"),
            1);
}

TEST_F(LeaseTest, ReleaseGivesTheCycleBackWithoutCountingAnAttempt) {
  InsertCycles(1);
  client::CycleClient client = NewClient();
  const v1::Cycle held = MustClaim(client, "w");
  auto released = client.Release(held.id(), held.lease_token());
  ASSERT_TRUE(released.ok()) << released.status();
  EXPECT_EQ(released->status(), v1::CYCLE_STATUS_AWAITING_REBALANCE);
  EXPECT_EQ(released->retry_count(), 0);
  EXPECT_TRUE(released->locked_by().empty());
  EXPECT_FALSE(released->has_lease_expires_at());
  EXPECT_EQ(client.Complete(Completion(held)).status().code(),
            absl::StatusCode::kFailedPrecondition);
  const v1::Cycle again = MustClaim(client, "w2");
  EXPECT_EQ(again.id(), held.id());
  EXPECT_EQ(again.lease_token(), 2);
  EXPECT_EQ(again.retry_count(), 0);
}

TEST_F(LeaseTest, RenewExtendsTheLeaseOnlyForTheCurrentToken) {
  InsertCycles(1);
  client::CycleClient client = NewClient();
  const v1::Cycle held = MustClaim(client, "w", absl::Seconds(10));
  auto renewed = client.Renew(held.id(), held.lease_token(), absl::Minutes(30));
  ASSERT_TRUE(renewed.ok()) << renewed.status();
  EXPECT_GE(renewed->lease_expires_at().seconds(),
            held.lease_expires_at().seconds() + 29 * 60);
  EXPECT_EQ(renewed->lease_token(), held.lease_token());
  EXPECT_EQ(renewed->locked_by(), "w");
  // A renewed lease is not taken over.
  ExpectNothingClaimable(client);

  auto wrong = client.Renew(held.id(), held.lease_token() + 1);
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(client.Renew(kUnknownId, 1).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(client.Renew(held.id(), 1, absl::Hours(2)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(LeaseTest, WrongTokenAndUnknownIdChangeNothing) {
  InsertCycles(2);
  client::CycleClient client = NewClient();
  const v1::Cycle held = MustClaim(client, "w");
  const std::string before = db_.Scalar<std::string>(
      "SELECT string_agg(t::text, '|' ORDER BY id) "
      "FROM arbitrage_cycles t");
  v1::CompleteCycleRequest wrong = Completion(held);
  wrong.set_lease_token(held.lease_token() + 5);
  EXPECT_EQ(client.Complete(wrong).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(client.Fail(held.id(), 7, "x").status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(client.Release(held.id(), 7).status().code(),
            absl::StatusCode::kFailedPrecondition);
  v1::CompleteCycleRequest unknown = Completion(held);
  unknown.set_cycle_id(kUnknownId);
  auto not_found = client.Complete(unknown);
  EXPECT_EQ(not_found.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(not_found.status().message().find("cycle_id"), std::string::npos);
  EXPECT_EQ(client.Fail(kUnknownId, 1, "x").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(client.Release(kUnknownId, 1).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(db_.Scalar<std::string>("SELECT string_agg(t::text, '|' ORDER BY "
                                    "id) FROM arbitrage_cycles t"),
            before);
}

// One malformed request and the field its error must name.
struct BadRequest {
  std::string name;
  std::function<grpc::Status(v1::CycleService::Stub&, grpc::ClientContext*)>
      call;
  std::string field;
};

TEST_F(LeaseTest, EveryInvalidFieldIsRefusedByNameAndChangesNothing) {
  InsertCycles(1);
  client::CycleClient client = NewClient();
  const v1::Cycle held = MustClaim(client, "w");
  const std::string id = held.id();
  const std::string before = db_.Scalar<std::string>(
                                 "SELECT string_agg(t::text, '|' ORDER BY id) "
                                 "FROM arbitrage_cycles t") +
                             db_.Scalar<std::string>(
                                 "SELECT string_agg(t::text, '|') FROM "
                                 "cycle_claimer.cycle_leases t");

  auto claim = [](std::function<void(v1::ClaimNextCycleRequest&)> edit) {
    return [edit](v1::CycleService::Stub& stub, grpc::ClientContext* context) {
      v1::ClaimNextCycleRequest request;
      request.set_worker_id("w");
      edit(request);
      v1::ClaimNextCycleResponse response;
      return stub.ClaimNextCycle(context, request, &response);
    };
  };
  auto renew = [id](std::function<void(v1::RenewLeaseRequest&)> edit) {
    return
        [edit, id](v1::CycleService::Stub& stub, grpc::ClientContext* context) {
          v1::RenewLeaseRequest request;
          request.set_cycle_id(id);
          request.set_lease_token(1);
          edit(request);
          v1::RenewLeaseResponse response;
          return stub.RenewLease(context, request, &response);
        };
  };
  auto complete = [id](std::function<void(v1::CompleteCycleRequest&)> edit) {
    return
        [edit, id](v1::CycleService::Stub& stub, grpc::ClientContext* context) {
          v1::CompleteCycleRequest request;
          request.set_cycle_id(id);
          request.set_lease_token(1);
          edit(request);
          v1::CompleteCycleResponse response;
          return stub.CompleteCycle(context, request, &response);
        };
  };
  auto fail = [id](std::function<void(v1::FailCycleRequest&)> edit) {
    return
        [edit, id](v1::CycleService::Stub& stub, grpc::ClientContext* context) {
          v1::FailCycleRequest request;
          request.set_cycle_id(id);
          request.set_lease_token(1);
          request.set_reason("r");
          edit(request);
          v1::FailCycleResponse response;
          return stub.FailCycle(context, request, &response);
        };
  };
  auto release = [id](std::function<void(v1::ReleaseCycleRequest&)> edit) {
    return
        [edit, id](v1::CycleService::Stub& stub, grpc::ClientContext* context) {
          v1::ReleaseCycleRequest request;
          request.set_cycle_id(id);
          request.set_lease_token(1);
          edit(request);
          v1::ReleaseCycleResponse response;
          return stub.ReleaseCycle(context, request, &response);
        };
  };

  const std::vector<BadRequest> cases = {
      {"empty worker", claim([](auto& r) { r.set_worker_id(""); }),
       "worker_id"},
      {"long worker",
       claim([](auto& r) { r.set_worker_id(std::string(201, 'w')); }),
       "worker_id"},
      {"control char worker", claim([](auto& r) { r.set_worker_id("a\nb"); }),
       "worker_id"},
      {"negative lease",
       claim([](auto& r) { r.mutable_lease_duration()->set_seconds(-5); }),
       "lease_duration"},
      {"zero lease", claim([](auto& r) { r.mutable_lease_duration(); }),
       "lease_duration"},
      {"lease over max",
       claim([](auto& r) { r.mutable_lease_duration()->set_seconds(7200); }),
       "lease_duration"},
      {"malformed duration", claim([](auto& r) {
         r.mutable_lease_duration()->set_seconds(5);
         r.mutable_lease_duration()->set_nanos(-1);
       }),
       "lease_duration"},
      {"renew bad id", renew([](auto& r) { r.set_cycle_id("not-a-uuid"); }),
       "cycle_id"},
      {"renew empty id", renew([](auto& r) { r.set_cycle_id(""); }),
       "cycle_id"},
      {"renew zero token", renew([](auto& r) { r.set_lease_token(0); }),
       "lease_token"},
      {"renew negative token", renew([](auto& r) { r.set_lease_token(-3); }),
       "lease_token"},
      {"renew long lease",
       renew([](auto& r) { r.mutable_lease_duration()->set_seconds(86400); }),
       "lease_duration"},
      {"complete bad id", complete([](auto& r) {
         r.set_cycle_id("11111111-2222-4333-8444-55555555555");
       }),
       "cycle_id"},
      {"complete bad trade id",
       complete([](auto& r) { r.set_rebalance_trade_id("trade-1"); }),
       "rebalance_trade_id"},
      {"complete not a number",
       complete([](auto& r) { r.set_total_net_profit_krw("12a"); }),
       "total_net_profit_krw"},
      {"complete five decimals",
       complete([](auto& r) { r.set_total_net_profit_krw("1.23456"); }),
       "total_net_profit_krw"},
      {"complete too large", complete([](auto& r) {
         r.set_total_net_profit_krw("12345678901234567");
       }),
       "total_net_profit_krw"},
      {"complete injection",
       complete([](auto& r) { r.set_total_net_profit_krw("1; DROP TABLE x"); }),
       "total_net_profit_krw"},
      {"complete percent too large",
       complete([](auto& r) { r.set_total_net_profit_percent("1234567.1"); }),
       "total_net_profit_percent"},
      {"complete percent exponent",
       complete([](auto& r) { r.set_total_net_profit_percent("1e3"); }),
       "total_net_profit_percent"},
      {"fail empty reason", fail([](auto& r) { r.set_reason(""); }), "reason"},
      {"fail blank reason", fail([](auto& r) { r.set_reason("  \n"); }),
       "reason"},
      {"fail long reason",
       fail([](auto& r) { r.set_reason(std::string(4097, 'x')); }), "reason"},
      {"fail NUL reason",
       fail([](auto& r) { r.set_reason(std::string("a\0b", 3)); }), "reason"},
      {"fail bad token", fail([](auto& r) { r.set_lease_token(0); }),
       "lease_token"},
      {"release bad id", release([](auto& r) { r.set_cycle_id("x"); }),
       "cycle_id"},
      {"release bad token", release([](auto& r) { r.set_lease_token(-1); }),
       "lease_token"},
  };
  auto stub = NewStub();
  for (const BadRequest& bad : cases) {
    grpc::ClientContext context;
    const grpc::Status status = bad.call(*stub, &context);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << bad.name << ": " << status.error_message();
    EXPECT_NE(status.error_message().find(bad.field), std::string::npos)
        << bad.name << ": \"" << status.error_message() << "\" does not name "
        << bad.field;
  }
  EXPECT_EQ(
      db_.Scalar<std::string>("SELECT string_agg(t::text, '|' ORDER BY id) "
                              "FROM arbitrage_cycles t") +
          db_.Scalar<std::string>("SELECT string_agg(t::text, '|') FROM "
                                  "cycle_claimer.cycle_leases t"),
      before);
}

}  // namespace
}  // namespace cycle_claimer::testing
