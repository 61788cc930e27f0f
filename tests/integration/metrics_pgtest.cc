// /metrics parses as Prometheus text, and its counters match the calls made.

#include <gtest/gtest.h>
#include <httplib.h>

#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "tests/support/server_fixture.h"

namespace cycle_claimer::testing {
namespace {

namespace v1 = kimp::cycles::v1;

// Every sample of a scrape, by its series ("name{labels}" as exposed).
using Samples = std::map<std::string, double>;

// Parses the text exposition format strictly: HELP and TYPE before a
// family's samples, valid names, label sets and numbers. Adds a test failure
// for every malformed line.
Samples Parse(const std::string& text) {
  static const std::regex kSample(
      R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:\\.|[^"\\])*")"
      R"((?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:\\.|[^"\\])*")*\})? )"
      R"((-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?|NaN|\+Inf|-Inf)$)");
  static const std::regex kType(
      R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram)$)");
  static const std::regex kHelp(R"(^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .+$)");
  Samples samples;
  std::map<std::string, std::string> types;
  std::set<std::string> helped;
  EXPECT_TRUE(absl::EndsWith(text, "\n")) << "no final newline";
  for (absl::string_view view : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    const std::string line(view);
    std::smatch match;
    if (std::regex_match(line, match, kHelp)) {
      helped.insert(match[1]);
    } else if (std::regex_match(line, match, kType)) {
      EXPECT_TRUE(helped.contains(match[1])) << "TYPE before HELP: " << line;
      EXPECT_TRUE(types.emplace(match[1], match[2]).second)
          << "family declared twice: " << line;
    } else if (std::regex_match(line, match, kSample)) {
      std::string family = match[1];
      for (const char* suffix : {"_bucket", "_sum", "_count"}) {
        const std::string base =
            absl::EndsWith(family, suffix)
                ? family.substr(0, family.size() - std::strlen(suffix))
                : "";
        if (!base.empty() && types[base] == "histogram") family = base;
      }
      EXPECT_TRUE(types.contains(family)) << "sample without TYPE: " << line;
      const std::string series = absl::StrCat(match[1].str(), match[2].str());
      EXPECT_TRUE(samples.emplace(series, std::stod(match[3])).second)
          << "duplicate series: " << line;
    } else {
      ADD_FAILURE() << "not Prometheus text: " << line;
    }
  }
  return samples;
}

double Get(const Samples& samples, const std::string& series) {
  const auto found = samples.find(series);
  return found == samples.end() ? 0 : found->second;
}

class MetricsTest : public ServerTest {
 protected:
  void SetUp() override {
    ServerOptions options = DefaultOptions();
    options.metrics_address = "127.0.0.1:0";
    options.stats_interval = absl::Milliseconds(100);
    StartServer(options);
  }

  Samples Scrape() {
    httplib::Client http("127.0.0.1", server_->metrics_port());
    const auto response = http.Get("/metrics");
    EXPECT_TRUE(response) << "no answer from /metrics";
    if (!response) return {};
    EXPECT_EQ(response->status, 200);
    EXPECT_TRUE(absl::StartsWith(response->get_header_value("Content-Type"),
                                 "text/plain; version=0.0.4"));
    return Parse(response->body);
  }
};

TEST_F(MetricsTest, CountersMatchTheCallsMade) {
  InsertCycles(4);
  client::CycleClient client = NewClient();
  std::vector<v1::Cycle> held;
  for (int i = 0; i < 4; ++i) {
    auto claimed = client.Claim("w", i == 3 ? absl::Seconds(1) : absl::Minutes(5));
    ASSERT_TRUE(claimed.ok() && claimed->has_value()) << claimed.status();
    held.push_back(**claimed);
  }
  ASSERT_FALSE(client.Claim("w")->has_value());          // empty
  EXPECT_FALSE(client.Claim("").ok());                   // invalid_argument
  const auto complete = [&](const v1::Cycle& cycle, int64_t token) {
    v1::CompleteCycleRequest done;
    done.set_cycle_id(cycle.id());
    done.set_lease_token(token);
    return client.Complete(done);
  };
  EXPECT_TRUE(complete(held[0], held[0].lease_token()).ok());
  EXPECT_FALSE(complete(held[0], held[0].lease_token()).ok());  // lease lost
  EXPECT_TRUE(client.Renew(held[1].id(), held[1].lease_token()).ok());
  EXPECT_FALSE(client.Renew(held[1].id(), held[1].lease_token() + 1).ok());
  EXPECT_TRUE(client.Fail(held[1].id(), held[1].lease_token(), "boom", false)
                  .ok());                                            // retry
  EXPECT_TRUE(client.Release(held[2].id(), held[2].lease_token()).ok());
  auto again = client.Claim("w");                                    // held[2]
  ASSERT_TRUE(again.ok() && again->has_value());
  v1::CompleteCyclesRequest batch;
  auto* good = batch.add_completions();
  good->set_cycle_id((*again)->id());
  good->set_lease_token((*again)->lease_token());
  auto* stale = batch.add_completions();
  stale->set_cycle_id(held[0].id());
  stale->set_lease_token(held[0].lease_token());
  v1::CompleteCyclesResponse batch_response;
  grpc::ClientContext context;
  ASSERT_TRUE(
      NewStub()->CompleteCycles(&context, batch, &batch_response).ok());
  // held[3]'s one-second lease runs out; another worker takes it over.
  absl::SleepFor(absl::Milliseconds(1200));
  auto taken = client.Claim("thief");
  ASSERT_TRUE(taken.ok() && taken->has_value()) << taken.status();
  EXPECT_EQ((*taken)->id(), held[3].id());

  const Samples samples = Scrape();
  const auto rpcs = [&](const char* method, const char* code) {
    return Get(samples, absl::StrCat("cycle_claimer_rpcs_total{method=\"",
                                     method, "\",code=\"", code, "\"}"));
  };
  EXPECT_EQ(rpcs("ClaimNextCycle", "ok"), 7);
  EXPECT_EQ(rpcs("ClaimNextCycle", "invalid_argument"), 1);
  EXPECT_EQ(rpcs("CompleteCycle", "ok"), 1);
  EXPECT_EQ(rpcs("CompleteCycle", "failed_precondition"), 1);
  EXPECT_EQ(rpcs("RenewLease", "ok"), 1);
  EXPECT_EQ(rpcs("RenewLease", "failed_precondition"), 1);
  EXPECT_EQ(rpcs("FailCycle", "ok"), 1);
  EXPECT_EQ(rpcs("ReleaseCycle", "ok"), 1);
  EXPECT_EQ(rpcs("CompleteCycles", "ok"), 1);

  EXPECT_EQ(Get(samples, "cycle_claimer_claims_total{outcome=\"claimed\"}"), 6);
  EXPECT_EQ(Get(samples, "cycle_claimer_claims_total{outcome=\"empty\"}"), 1);
  EXPECT_EQ(
      Get(samples, "cycle_claimer_claims_total{outcome=\"invalid_argument\"}"),
      1);
  EXPECT_EQ(Get(samples, "cycle_claimer_cycles_claimed_total"), 6);
  EXPECT_EQ(
      Get(samples, "cycle_claimer_completions_total{outcome=\"completed\"}"),
      2);
  EXPECT_EQ(
      Get(samples, "cycle_claimer_completions_total{outcome=\"lease_lost\"}"),
      2);
  EXPECT_EQ(Get(samples, "cycle_claimer_renewals_total{outcome=\"renewed\"}"),
            1);
  EXPECT_EQ(
      Get(samples, "cycle_claimer_renewals_total{outcome=\"lease_lost\"}"), 1);
  EXPECT_EQ(Get(samples, "cycle_claimer_failures_total{outcome=\"retry\"}"), 1);
  EXPECT_EQ(Get(samples, "cycle_claimer_releases_total{outcome=\"released\"}"),
            1);
  EXPECT_EQ(Get(samples, "cycle_claimer_lease_takeovers_total"), 1);
  EXPECT_EQ(Get(samples, "cycle_claimer_fencing_rejections_total{method="
                         "\"CompleteCycle\"}"),
            1);
  EXPECT_EQ(Get(samples, "cycle_claimer_fencing_rejections_total{method="
                         "\"CompleteCycles\"}"),
            1);
  EXPECT_EQ(Get(samples, "cycle_claimer_fencing_rejections_total{method="
                         "\"RenewLease\"}"),
            1);
  // Every call is in its method's latency histogram, +Inf bucket included.
  for (const char* method : {"ClaimNextCycle", "CompleteCycle", "RenewLease"}) {
    double calls = 0;
    for (const auto& [series, value] : samples) {
      if (absl::StartsWith(series, absl::StrCat("cycle_claimer_rpcs_total{"
                                                "method=\"",
                                                method, "\""))) {
        calls += value;
      }
    }
    const std::string label = absl::StrCat("{method=\"", method, "\"");
    EXPECT_EQ(Get(samples, absl::StrCat("cycle_claimer_rpc_duration_seconds_"
                                        "count",
                                        label, "}")),
              calls)
        << method;
    EXPECT_EQ(Get(samples, absl::StrCat("cycle_claimer_rpc_duration_seconds_"
                                        "bucket",
                                        label, ",le=\"+Inf\"}")),
              calls)
        << method;
  }
  EXPECT_EQ(Get(samples, "cycle_claimer_database_up"), 1);
  EXPECT_EQ(Get(samples, "cycle_claimer_long_polls_waiting"), 0);
  EXPECT_GE(Get(samples, "cycle_claimer_db_pool_connections{state=\"open\"}"),
            1);

  // The queue figures come from the periodic sample: 2 completed, 1 awaiting
  // retry, 1 held by the thief.
  Samples later = samples;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (Get(later, "cycle_claimer_cycles{status=\"COMPLETED\"}") != 2 &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(100));
    later = Scrape();
  }
  EXPECT_EQ(Get(later, "cycle_claimer_cycles{status=\"COMPLETED\"}"), 2);
  EXPECT_EQ(Get(later, "cycle_claimer_cycles{status=\"AWAITING_RETRY\"}"), 1);
  EXPECT_EQ(
      Get(later, "cycle_claimer_cycles{status=\"REBALANCING_IN_PROGRESS\"}"),
      1);
  EXPECT_EQ(Get(later, "cycle_claimer_leases{state=\"live\"}"), 1);
  EXPECT_EQ(Get(later, "cycle_claimer_oldest_claimable_age_seconds"), 0);
}

}  // namespace
}  // namespace cycle_claimer::testing
