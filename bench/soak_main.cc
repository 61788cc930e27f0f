// The soak (scripts/soak.sh): the server binary under steady load for
// MINUTES, its resident memory and open descriptors sampled every 10 s.
// Passes when, after the first minute, neither grows by 5 % or more, no call
// fails with anything but the expected statuses, and throughput holds.

#include <dirent.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <pqxx/pqxx>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "client/cpp/cycle_client.h"

ABSL_FLAG(std::string, database_url, "",
          "PostgreSQL URL without a database name (scripts/soak.sh)");
ABSL_FLAG(std::string, server, "", "the cycle-claimer-server binary");
ABSL_FLAG(int, port, 0, "port for the server");
ABSL_FLAG(double, minutes, 10, "how long the load runs");
ABSL_FLAG(double, rate, 2100,
          "cycles per second (claimed and completed); default 80 % of the "
          "Step 2 maximum, 2,636/s at W=32");
ABSL_FLAG(int, workers, 32, "worker threads, each with its own channel");

extern "C" char** environ;

namespace {

namespace v1 = kimp::cycles::v1;

int64_t ReadRssKb(pid_t pid) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
  }
  return -1;
}

int CountFds(pid_t pid) {
  DIR* dir = opendir(absl::StrCat("/proc/", pid, "/fd").c_str());
  if (dir == nullptr) return -1;
  int count = 0;
  while (readdir(dir) != nullptr) ++count;
  closedir(dir);
  return count - 2;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  signal(SIGPIPE, SIG_IGN);
  const std::string base = absl::GetFlag(FLAGS_database_url);
  const std::string url = absl::StrCat(base, "/soak");
  {
    pqxx::connection admin(absl::StrCat(base, "/postgres"));
    pqxx::nontransaction tx(admin);
    tx.exec("DROP DATABASE IF EXISTS soak");
    tx.exec("CREATE DATABASE soak");
  }
  const int port = absl::GetFlag(FLAGS_port);
  std::vector<std::string> env_strings = {
      absl::StrCat("DATABASE_URL=", url),
      absl::StrCat("LISTEN_ADDRESS=127.0.0.1:", port), "PLAINTEXT=true",
      "METRICS_ADDR=127.0.0.1:0", "LOG_LEVEL=warn"};
  for (char** e = environ; *e != nullptr; ++e) env_strings.push_back(*e);
  std::vector<char*> env;
  for (std::string& s : env_strings) env.push_back(s.data());
  env.push_back(nullptr);
  std::string binary = absl::GetFlag(FLAGS_server);
  char* server_argv[] = {binary.data(), nullptr};
  pid_t server = -1;
  if (posix_spawn(&server, binary.c_str(), nullptr, nullptr, server_argv,
                  env.data()) != 0) {
    std::cerr << "cannot start " << binary << "\n";
    return 2;
  }
  const std::string target = absl::StrCat("127.0.0.1:", port);
  {
    auto probe = cycle_claimer::client::CycleClient::Insecure(target);
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (absl::Now() < deadline && !probe.Serving().value_or(false)) {
      absl::SleepFor(absl::Milliseconds(100));
    }
  }

  const double rate = absl::GetFlag(FLAGS_rate);
  const absl::Duration length = absl::Seconds(absl::GetFlag(FLAGS_minutes) * 60);
  std::atomic<bool> stop{false};
  std::atomic<int64_t> done{0};
  std::atomic<int64_t> claimed_total{0};
  std::mutex errors_mu;
  std::map<std::string, int64_t> errors;
  const auto count_error = [&](const absl::Status& status, const char* what) {
    std::lock_guard lock(errors_mu);
    ++errors[absl::StrCat(what, " ", absl::StatusCodeToString(status.code()))];
  };

  // The feeder keeps about two seconds of work pending. It counts what it
  // inserted and what the workers claimed rather than asking the table: a
  // count(*) every 200 ms over a table that grows by a million rows would be
  // load of the soak's own on the database under test.
  std::thread feeder([&] {
    pqxx::connection connection(url);
    pqxx::nontransaction tx(connection);
    int64_t inserted = 0;
    while (!stop) {
      const int64_t pending = inserted - claimed_total.load();
      const int64_t wanted = static_cast<int64_t>(rate * 2) - pending;
      if (wanted > 0) {
        tx.exec_params(
            "INSERT INTO arbitrage_cycles (start_time, status, "
            "initial_trade_id) SELECT timezone('UTC', now()), "
            "'AWAITING_REBALANCE', gen_random_uuid() "
            "FROM generate_series(1, $1)",
            wanted);
        inserted += wanted;
      }
      absl::SleepFor(absl::Milliseconds(200));
    }
  });
  absl::SleepFor(absl::Seconds(1));

  // Workers pace themselves to rate / workers cycles per second each.
  const int workers = absl::GetFlag(FLAGS_workers);
  const absl::Duration period = absl::Seconds(workers / rate);
  const absl::Time start = absl::Now();
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back([&, w] {
      auto client = cycle_claimer::client::CycleClient::Insecure(
          target, absl::Seconds(10));
      absl::Time next = start + period * w / workers;
      while (!stop) {
        absl::SleepFor(next - absl::Now());
        // A worker that fell behind does not burst to catch up: the rate is
        // a ceiling, so a slow stretch shows as one.
        next = std::max(next + period, absl::Now());
        auto claimed = client.Claim(absl::StrCat("soak-", w));
        if (!claimed.ok()) {
          count_error(claimed.status(), "claim");
          continue;
        }
        if (!claimed->has_value()) continue;
        ++claimed_total;
        v1::CompleteCycleRequest request;
        request.set_cycle_id((*claimed)->id());
        request.set_lease_token((*claimed)->lease_token());
        const absl::Status completed = client.Complete(request).status();
        if (completed.ok()) {
          ++done;
        } else {
          count_error(completed, "complete");
        }
      }
    });
  }

  struct Sample {
    double seconds;
    int64_t rss_kb;
    int fds;
    double rate;
  };
  std::vector<Sample> samples;
  std::cout << absl::StrFormat("%8s %12s %6s %12s\n", "time", "RSS (KiB)",
                               "fds", "cycles/s");
  int64_t last_done = 0;
  absl::Time last = absl::Now();
  while (absl::Now() - start < length) {
    absl::SleepFor(std::min(absl::Seconds(10), length - (absl::Now() - start)));
    const int64_t now_done = done;
    const absl::Time now = absl::Now();
    const Sample sample{absl::ToDoubleSeconds(now - start), ReadRssKb(server),
                        CountFds(server),
                        (now_done - last_done) / absl::ToDoubleSeconds(now - last)};
    last_done = now_done;
    last = now;
    samples.push_back(sample);
    std::cout << absl::StrFormat("%7.0fs %12d %6d %12.0f\n", sample.seconds,
                                 sample.rss_kb, sample.fds, sample.rate)
              << std::flush;
  }
  stop = true;
  for (std::thread& thread : threads) thread.join();
  feeder.join();
  kill(server, SIGTERM);
  int status = 0;
  waitpid(server, &status, 0);

  // Judged after the first minute: memory and descriptors flat, no
  // unexpected error, throughput steady.
  std::vector<Sample> settled;
  for (const Sample& sample : samples) {
    if (sample.seconds > 60) settled.push_back(sample);
  }
  bool ok = true;
  if (settled.size() >= 2) {
    const auto growth = [&](auto field) {
      const double first = field(settled.front());
      double most = first;
      for (const Sample& sample : settled) most = std::max(most, field(sample));
      return (most - first) / first;
    };
    const double rss_growth =
        growth([](const Sample& s) { return double(s.rss_kb); });
    const double fd_growth =
        growth([](const Sample& s) { return double(s.fds); });
    double low = settled.front().rate, high = low, sum = 0;
    for (const Sample& sample : settled) {
      low = std::min(low, sample.rate);
      high = std::max(high, sample.rate);
      sum += sample.rate;
    }
    const double mean = sum / settled.size();
    std::cout << absl::StrFormat(
        "after the first minute: RSS grew %.1f %%, descriptors %.1f %%; "
        "throughput mean %.0f/s (target %.0f/s), min %.0f, max %.0f\n",
        rss_growth * 100, fd_growth * 100, mean, rate, low, high);
    if (rss_growth >= 0.05) ok = false, std::cout << "FAIL: memory grows\n";
    if (fd_growth >= 0.05) ok = false, std::cout << "FAIL: descriptors grow\n";
    if (low < 0.8 * mean) ok = false, std::cout << "FAIL: throughput sags\n";
  } else {
    std::cout << "run at least two minutes to judge the trend\n";
  }
  std::lock_guard lock(errors_mu);
  for (const auto& [error, count] : errors) {
    std::cout << "error: " << error << " x" << count << "\n";
    ok = false;
  }
  std::cout << "completed " << done.load() << " cycles; server exit "
            << (WIFEXITED(status) ? WEXITSTATUS(status) : -1) << "\n"
            << (ok ? "PASS" : "FAIL") << "\n";
  return ok && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
