// The server binary as operators run it, configured by environment only:
// SIGTERM answers waiting long polls with no cycle, lets calls in flight
// finish and exits 0, and no lease is left held by a call whose caller never
// got its answer. Logs are one JSON object per line and never carry a
// bearer token. A malformed DATABASE_URL stops the start, its password
// unlogged.

#include <gtest/gtest.h>
#include <signal.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/support/private_postgres.h"
#include "tests/support/server_fixture.h"

namespace cycle_claimer::testing {
namespace {

namespace v1 = kimp::cycles::v1;

constexpr char kWorkerToken[] = "w0rker-s3cret-7f3a9c";
constexpr char kAdminToken[] = "adm1n-s3cret-51be02";

// The server binary, started with configuration in its environment and its
// log in a file.
class ServerProcess {
 public:
  ServerProcess(const std::string& database_url, const std::string& log_path)
      : port_(FreeLoopbackPort()) {
    std::vector<std::string> environment = {
        absl::StrCat("DATABASE_URL=", database_url),
        absl::StrCat("LISTEN_ADDRESS=127.0.0.1:", port_),
        "PLAINTEXT=true",
        "METRICS_ADDR=",
        "LOG_FORMAT=json",
        "SHUTDOWN_GRACE=5s",
        absl::StrCat("CYCLE_CLAIMER_TOKENS=worker ", kWorkerToken, "\nadmin ",
                     kAdminToken),
        "PATH=/usr/bin:/bin",
    };
    // Sanitizer builds (scripts/test.sh --sanitize) pass their options on.
    for (const char* name :
         {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "TSAN_OPTIONS"}) {
      if (const char* value = std::getenv(name)) {
        environment.push_back(absl::StrCat(name, "=", value));
      }
    }
    pid_ = fork();
    if (pid_ == 0) {
      const int log = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                           0644);
      dup2(log, STDOUT_FILENO);
      dup2(log, STDERR_FILENO);
      std::vector<char*> env;
      for (const std::string& variable : environment) {
        env.push_back(const_cast<char*>(variable.c_str()));
      }
      env.push_back(nullptr);
      char* argv[] = {const_cast<char*>(SERVER_EXECUTABLE), nullptr};
      execve(SERVER_EXECUTABLE, argv, env.data());
      _exit(127);
    }
  }

  ~ServerProcess() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }

  std::string target() const { return absl::StrCat("127.0.0.1:", port_); }

  client::CycleClient Client(const std::string& token) const {
    return client::CycleClient::Insecure(target(), absl::Seconds(30), token);
  }

  bool AwaitServing() const {
    client::CycleClient client = Client(kWorkerToken);
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (absl::Now() < deadline) {
      const absl::StatusOr<bool> serving = client.Serving();
      if (serving.ok() && *serving) return true;
      absl::SleepFor(absl::Milliseconds(50));
    }
    return false;
  }

  void Terminate() { kill(pid_, SIGTERM); }

  // The exit status once it exited within `limit`; -1 otherwise.
  int AwaitExit(absl::Duration limit) {
    const absl::Time deadline = absl::Now() + limit;
    while (absl::Now() < deadline) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
    return -1;
  }

 private:
  const int port_;
  pid_t pid_ = -1;
  bool exited_ = false;
};

class ServerProcessTest : public ServerTest {
 protected:
  std::string LogPath() const {
    return absl::StrCat(::testing::TempDir(), "/server-",
                        ::testing::UnitTest::GetInstance()
                            ->current_test_info()
                            ->name(),
                        ".log");
  }

  std::vector<std::string> LogLines(const std::string& path) {
    std::ifstream file(path);
    std::vector<std::string> lines;
    for (std::string line; std::getline(file, line);) lines.push_back(line);
    return lines;
  }
};

TEST_F(ServerProcessTest, SigtermAnswersWaitingLongPollsWithNoCycle) {
  ServerProcess process(db_.url(), LogPath());
  ASSERT_TRUE(process.AwaitServing());
  // Nothing is claimable: these wait (up to 30 s) until the server stops.
  std::vector<std::thread> waiters;
  std::atomic<int> empty_answers{0};
  std::atomic<int> other_answers{0};
  for (int i = 0; i < 4; ++i) {
    waiters.emplace_back([&, i] {
      client::CycleClient client = process.Client(kWorkerToken);
      v1::ClaimNextCycleRequest request;
      request.set_worker_id(absl::StrCat("idle-", i));
      request.mutable_wait_timeout()->set_seconds(30);
      auto response = client.ClaimNext(request);
      if (response.ok() && !response->has_cycle()) {
        ++empty_answers;
      } else {
        ++other_answers;
      }
    });
  }
  absl::SleepFor(absl::Milliseconds(500));
  const absl::Time stopped = absl::Now();
  process.Terminate();
  EXPECT_EQ(process.AwaitExit(absl::Seconds(10)), 0);
  for (std::thread& waiter : waiters) waiter.join();
  EXPECT_LT(absl::Now() - stopped, absl::Seconds(5));
  EXPECT_EQ(empty_answers, 4);
  EXPECT_EQ(other_answers, 0);
}

TEST_F(ServerProcessTest, SigtermDuringLoadLeavesNoLeaseWithoutItsAnswer) {
  InsertCycles(3000);
  const std::string log_path = LogPath();
  ServerProcess process(db_.url(), log_path);
  ASSERT_TRUE(process.AwaitServing());

  struct Grant {
    std::string cycle_id;
    int64_t token;
  };
  std::mutex mu;
  std::vector<Grant> delivered;             // claims answered with a cycle
  std::set<std::string> completed;          // completions answered OK
  std::map<std::string, int> final_status;  // the call that ended each loop
  std::atomic<bool> go{false};
  std::vector<std::thread> workers;
  for (int w = 0; w < 12; ++w) {
    workers.emplace_back([&, w] {
      client::CycleClient client = process.Client(kWorkerToken);
      std::mt19937 random(w);
      while (!go) absl::SleepFor(absl::Milliseconds(1));
      for (int attempt = 0;; ++attempt) {
        v1::ClaimNextCycleRequest request;
        request.set_worker_id(absl::StrCat("worker-", w));
        request.set_request_id(absl::StrCat("r", attempt));
        request.mutable_wait_timeout()->set_seconds(10);
        auto claimed = client.ClaimNext(request);
        if (!claimed.ok()) {
          std::lock_guard lock(mu);
          final_status[absl::StatusCodeToString(claimed.status().code())]++;
          return;
        }
        if (!claimed->has_cycle()) {  // answered empty by the shutdown
          std::lock_guard lock(mu);
          final_status["OK (empty)"]++;
          return;
        }
        const v1::Cycle& cycle = claimed->cycle();
        {
          std::lock_guard lock(mu);
          delivered.push_back({cycle.id(), cycle.lease_token()});
        }
        absl::SleepFor(absl::Milliseconds(random() % 5));
        v1::CompleteCycleRequest done;
        done.set_cycle_id(cycle.id());
        done.set_lease_token(cycle.lease_token());
        auto result = client.Complete(done);
        if (!result.ok()) {
          std::lock_guard lock(mu);
          final_status[absl::StrCat(
              "complete ", absl::StatusCodeToString(result.status().code()))]++;
          return;
        }
        std::lock_guard lock(mu);
        completed.insert(cycle.id());
      }
    });
  }
  go = true;
  absl::SleepFor(absl::Milliseconds(800));
  process.Terminate();
  const int exit_status = process.AwaitExit(absl::Seconds(15));
  for (std::thread& worker : workers) worker.join();
  EXPECT_EQ(exit_status, 0);

  // Every call got an answer, or a retryable UNAVAILABLE once the server
  // stopped accepting.
  for (const auto& [status, count] : final_status) {
    EXPECT_TRUE(status == "UNAVAILABLE" || status == "complete UNAVAILABLE" ||
                status == "OK (empty)")
        << count << " calls ended with " << status;
  }
  std::cout << completed.size() << " completed, " << delivered.size()
            << " claimed before the SIGTERM; loops ended by:";
  for (const auto& [status, count] : final_status) {
    std::cout << " " << status << " x" << count;
  }
  std::cout << "\n";
  ASSERT_GT(completed.size(), 0u) << "no load before the SIGTERM";
  ASSERT_LT(completed.size(), 3000u) << "the SIGTERM came after the load";

  // From the table: a lease still held belongs to a claim whose answer its
  // caller got (and whose completion did not get through); every completed
  // cycle was completed by a call answered OK, or had its answer delivered
  // as a claim.
  std::map<std::string, int64_t> delivered_tokens;
  for (const Grant& grant : delivered) {
    EXPECT_TRUE(delivered_tokens.emplace(grant.cycle_id, grant.token).second)
        << grant.cycle_id << " handed out twice";
  }
  const pqxx::result held = db_.Exec(
      "SELECT cycle_id::text, lease_token FROM cycle_claimer.cycle_leases "
      "WHERE locked_by IS NOT NULL");
  for (const pqxx::row& row : held) {
    const std::string id = row[0].as<std::string>();
    const auto found = delivered_tokens.find(id);
    ASSERT_NE(found, delivered_tokens.end())
        << "lease on " << id << " held by a call that never got its answer";
    EXPECT_EQ(found->second, row[1].as<int64_t>());
    EXPECT_FALSE(completed.contains(id));
  }
  const int completed_in_table = db_.Scalar<int>(
      "SELECT count(*) FROM arbitrage_cycles WHERE status = 'COMPLETED'");
  EXPECT_GE(completed_in_table, static_cast<int>(completed.size()));
  EXPECT_LE(completed_in_table, static_cast<int>(delivered.size()));

  // The log: JSON objects, one per line, a line per call with its facts, and
  // no bearer token anywhere.
  const std::vector<std::string> lines = LogLines(log_path);
  ASSERT_FALSE(lines.empty());
  int call_lines = 0;
  for (const std::string& line : lines) {
    EXPECT_EQ(line.find(kWorkerToken), std::string::npos) << line;
    EXPECT_EQ(line.find(kAdminToken), std::string::npos) << line;
    if (line.find("\"msg\":\"rpc\"") != std::string::npos &&
        line.find("\"method\":\"ClaimNextCycle\",\"code\":\"ok\"") !=
            std::string::npos &&
        line.find("\"cycle\":\"") != std::string::npos) {
      ++call_lines;
      EXPECT_NE(line.find("\"worker\":\"worker-"), std::string::npos) << line;
      EXPECT_NE(line.find("\"token\":"), std::string::npos) << line;
      EXPECT_NE(line.find("\"duration_ms\":"), std::string::npos) << line;
    }
  }
  EXPECT_GT(call_lines, 0);
  const std::string check = absl::StrCat(
      "python3 -c 'import json, sys\n"
      "for n, line in enumerate(open(sys.argv[1]), 1):\n"
      "    record = json.loads(line)\n"
      "    assert {\"time\", \"level\", \"msg\"} <= record.keys(), n\n' ",
      log_path);
  EXPECT_EQ(std::system(check.c_str()), 0) << "not one JSON object per line";
}

TEST_F(ServerProcessTest, MalformedDatabaseUrlStopsTheStartWithoutItsPassword) {
  constexpr char kPassword[] = "hunter2-s3cret";
  const std::string log_path = LogPath();
  ServerProcess server(
      absl::StrCat("postgresql://kimp:", kPassword, "@[::1/kimp"), log_path);
  EXPECT_EQ(server.AwaitExit(absl::Seconds(20)), 1);
  const std::vector<std::string> lines = LogLines(log_path);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("\"level\":\"critical\""), std::string::npos);
  EXPECT_NE(lines[0].find("DATABASE_URL is not a PostgreSQL connection URL"),
            std::string::npos)
      << lines[0];
  EXPECT_EQ(lines[0].find("hunter"), std::string::npos) << lines[0];
}

}  // namespace
}  // namespace cycle_claimer::testing
