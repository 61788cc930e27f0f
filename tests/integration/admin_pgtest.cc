// CycleAdminService against known data: create, get, paging and filters,
// requeue rules, queue statistics.

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/support/server_fixture.h"

namespace cycle_claimer::testing {
namespace {

namespace v1 = kimp::cycles::v1;

class AdminTest : public ServerTest {
 protected:
  void SetUp() override {
    ServerTest::SetUp();
    admin_ = v1::CycleAdminService::NewStub(NewChannel());
  }
  grpc::Status Create(const v1::CreateCycleRequest& request, v1::Cycle* out) {
    v1::CreateCycleResponse response;
    grpc::ClientContext context;
    const grpc::Status status =
        admin_->CreateCycle(&context, request, &response);
    if (out != nullptr) *out = response.cycle();
    return status;
  }
  grpc::Status List(const v1::ListCyclesRequest& request,
                    v1::ListCyclesResponse* response) {
    grpc::ClientContext context;
    return admin_->ListCycles(&context, request, response);
  }
  grpc::Status Requeue(const std::string& id, v1::Cycle* out) {
    v1::RequeueCycleRequest request;
    request.set_id(id);
    v1::RequeueCycleResponse response;
    grpc::ClientContext context;
    const grpc::Status status =
        admin_->RequeueCycle(&context, request, &response);
    if (out != nullptr) *out = response.cycle();
    return status;
  }
  std::unique_ptr<v1::CycleAdminService::Stub> admin_;
};

TEST_F(AdminTest, CreateCycleDefaultsToAwaitingRebalanceAndIsClaimable) {
  v1::CreateCycleRequest request;
  request.set_initial_trade_id("AAAAAAAA-BBBB-4CCC-8DDD-EEEEEEEEEEEE");
  request.set_initial_investment_krw("5000000.5");
  v1::Cycle created;
  ASSERT_TRUE(Create(request, &created).ok());
  EXPECT_EQ(created.status(), v1::CYCLE_STATUS_AWAITING_REBALANCE);
  EXPECT_EQ(created.initial_trade_id(), "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee");
  EXPECT_EQ(created.initial_investment_krw(), "5000000.5000");
  EXPECT_FALSE(created.has_end_time());
  client::CycleClient client = NewClient();
  auto claimed = client.Claim("w");
  ASSERT_TRUE(claimed.ok() && claimed->has_value());
  EXPECT_EQ((*claimed)->id(), created.id());

  v1::GetCycleRequest get;
  get.set_id(created.id());
  v1::GetCycleResponse got;
  grpc::ClientContext context;
  ASSERT_TRUE(admin_->GetCycle(&context, get, &got).ok());
  EXPECT_EQ(got.cycle().status(), v1::CYCLE_STATUS_REBALANCING_IN_PROGRESS);
  EXPECT_EQ(got.cycle().locked_by(), "w");
}

TEST_F(AdminTest, CreateAndGetRefuseBadInputByName) {
  v1::CreateCycleRequest bad_status;
  bad_status.set_status(v1::CYCLE_STATUS_COMPLETED);
  v1::CreateCycleRequest bad_trade;
  bad_trade.set_initial_trade_id("trade");
  v1::CreateCycleRequest bad_amount;
  bad_amount.set_initial_investment_krw("1.23456");
  for (const auto& [request, field] :
       std::vector<std::pair<v1::CreateCycleRequest, std::string>>{
           {bad_status, "status"},
           {bad_trade, "initial_trade_id"},
           {bad_amount, "initial_investment_krw"}}) {
    const grpc::Status status = Create(request, nullptr);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << field;
    EXPECT_NE(status.error_message().find(field), std::string::npos);
  }
  EXPECT_EQ(db_.Scalar<int>("SELECT count(*) FROM arbitrage_cycles"), 0);
  v1::GetCycleRequest get;
  get.set_id("00000000-0000-4000-8000-000000000000");
  v1::GetCycleResponse got;
  grpc::ClientContext context;
  EXPECT_EQ(admin_->GetCycle(&context, get, &got).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(AdminTest, ListPagesNewestFirstAndStaysStableWhileRowsAreAdded) {
  InsertCycles(25);
  std::vector<std::string> expected;
  for (const auto& row : db_.Exec("SELECT id::text FROM arbitrage_cycles "
                                  "ORDER BY start_time DESC, id DESC")) {
    expected.push_back(row[0].as<std::string>());
  }
  std::vector<std::string> seen;
  v1::ListCyclesRequest request;
  request.set_page_size(10);
  std::vector<int> page_sizes;
  for (int page = 0; page < 10; ++page) {
    v1::ListCyclesResponse response;
    ASSERT_TRUE(List(request, &response).ok());
    page_sizes.push_back(response.cycles_size());
    for (const v1::Cycle& cycle : response.cycles()) seen.push_back(cycle.id());
    // New cycles arrive between pages; they are newer than every page.
    InsertCycles(3);
    if (response.next_page_token().empty()) break;
    request.set_page_token(response.next_page_token());
  }
  EXPECT_EQ(page_sizes, (std::vector<int>{10, 10, 5}));
  EXPECT_EQ(seen, expected);
}

TEST_F(AdminTest, ListFiltersByStatusAndRefusesBadPaging) {
  InsertCycles(4);
  db_.Exec(
      "UPDATE arbitrage_cycles SET status = 'DEAD_LETTER' WHERE id IN "
      "(SELECT id FROM arbitrage_cycles ORDER BY start_time LIMIT 3)");
  v1::ListCyclesRequest request;
  request.add_statuses(v1::CYCLE_STATUS_DEAD_LETTER);
  v1::ListCyclesResponse response;
  ASSERT_TRUE(List(request, &response).ok());
  EXPECT_EQ(response.cycles_size(), 3);
  for (const v1::Cycle& cycle : response.cycles()) {
    EXPECT_EQ(cycle.status(), v1::CYCLE_STATUS_DEAD_LETTER);
  }
  EXPECT_TRUE(response.next_page_token().empty());

  for (const auto& [edit, field] : std::vector<
           std::pair<std::function<void(v1::ListCyclesRequest&)>, std::string>>{
           {[](auto& r) { r.set_page_size(1001); }, "page_size"},
           {[](auto& r) { r.set_page_size(-1); }, "page_size"},
           {[](auto& r) { r.set_page_token("garbage!"); }, "page_token"},
           {[](auto& r) { r.set_page_token("MTIzL25vdC1hLXV1aWQ="); },
            "page_token"},
           {[](auto& r) { r.add_statuses(v1::CYCLE_STATUS_UNSPECIFIED); },
            "statuses[0]"}}) {
    v1::ListCyclesRequest bad;
    edit(bad);
    v1::ListCyclesResponse ignored;
    const grpc::Status status = List(bad, &ignored);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << field;
    EXPECT_NE(status.error_message().find(field), std::string::npos)
        << status.error_message();
  }
}

TEST_F(AdminTest, RequeueOnlyTakesDeadLettersAndFailures) {
  InsertCycles(1);
  client::CycleClient client = NewClient();
  auto held = client.Claim("w");
  ASSERT_TRUE(held.ok() && held->has_value());
  const std::string id = (*held)->id();
  // Held: not requeueable.
  EXPECT_EQ(Requeue(id, nullptr).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  ASSERT_TRUE(client.Fail(id, (*held)->lease_token(), "broken", true).ok());
  v1::Cycle requeued;
  ASSERT_TRUE(Requeue(id, &requeued).ok());
  EXPECT_EQ(requeued.status(), v1::CYCLE_STATUS_AWAITING_REBALANCE);
  EXPECT_EQ(requeued.retry_count(), 0);
  EXPECT_FALSE(requeued.has_next_retry_at());
  EXPECT_TRUE(requeued.failure_reason().empty());
  EXPECT_TRUE(requeued.locked_by().empty());
  EXPECT_NE(requeued.error_details().find("requeued from DEAD_LETTER"),
            std::string::npos);
  // The token keeps growing: the next claim fences every earlier one.
  auto again = client.Claim("w2");
  ASSERT_TRUE(again.ok() && again->has_value());
  EXPECT_EQ((*again)->lease_token(), 2);
  // FAILED (set by a kimP app) is requeueable too; unknown ids are not found.
  db_.Exec(absl::StrCat(
      "UPDATE arbitrage_cycles SET status = 'FAILED' WHERE id = '", id, "'"));
  EXPECT_TRUE(Requeue(id, nullptr).ok());
  EXPECT_EQ(
      Requeue("00000000-0000-4000-8000-000000000000", nullptr).error_code(),
      grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Requeue("nope", nullptr).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(AdminTest, QueueStatsCountKnownData) {
  db_.Exec(
      "INSERT INTO arbitrage_cycles (start_time, end_time, status) VALUES "
      "(timezone('UTC', now()) - interval '90 seconds', NULL, "
      "'AWAITING_REBALANCE'),"
      "(timezone('UTC', now()) - interval '10 seconds', NULL, "
      "'AWAITING_REBALANCE'),"
      "(timezone('UTC', now()) - interval '1 hour', NULL, 'COMPLETED'),"
      "(timezone('UTC', now()) - interval '2 hours', NULL, 'DEAD_LETTER'),"
      "(timezone('UTC', now()) - interval '3 hours', NULL, 'AWAITING_RETRY')");
  db_.Exec(
      "UPDATE arbitrage_cycles SET next_retry_at = timezone('UTC', now()) "
      "+ interval '1 hour' WHERE status = 'AWAITING_RETRY'");
  client::CycleClient client = NewClient();
  auto live = client.Claim("live", absl::Minutes(10));  // the 90 s old one
  ASSERT_TRUE(live.ok() && live->has_value());
  InsertCycles(1);
  auto dying = client.Claim("dying");  // the 10 s old one
  ASSERT_TRUE(dying.ok() && dying->has_value());
  db_.Exec(absl::StrCat(
      "UPDATE cycle_claimer.cycle_leases SET lease_expires_at = "
      "timezone('UTC', now()) - interval '1 second' WHERE cycle_id = '",
      (*dying)->id(), "'"));

  v1::GetQueueStatsResponse stats;
  grpc::ClientContext context;
  ASSERT_TRUE(
      admin_->GetQueueStats(&context, v1::GetQueueStatsRequest(), &stats).ok());
  std::map<v1::CycleStatus, int64_t> counts;
  for (const v1::StatusCount& count : stats.counts()) {
    counts[count.status()] = count.count();
  }
  EXPECT_EQ(stats.counts_size(), 9);
  EXPECT_EQ(counts[v1::CYCLE_STATUS_REBALANCING_IN_PROGRESS], 2);
  EXPECT_EQ(counts[v1::CYCLE_STATUS_AWAITING_REBALANCE], 1);  // the new one
  EXPECT_EQ(counts[v1::CYCLE_STATUS_COMPLETED], 1);
  EXPECT_EQ(counts[v1::CYCLE_STATUS_DEAD_LETTER], 1);
  EXPECT_EQ(counts[v1::CYCLE_STATUS_AWAITING_RETRY], 1);
  EXPECT_EQ(counts[v1::CYCLE_STATUS_STARTED], 0);
  EXPECT_EQ(stats.live_leases(), 1);
  EXPECT_EQ(stats.expired_leases(), 1);
  // The oldest claimable: the expired lease on the 10 s old cycle.
  ASSERT_TRUE(stats.has_oldest_claimable_age());
  EXPECT_GE(stats.oldest_claimable_age().seconds(), 10);
  EXPECT_LT(stats.oldest_claimable_age().seconds(), 60);
}

}  // namespace
}  // namespace cycle_claimer::testing
