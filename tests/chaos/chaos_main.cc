// The chaos suite: real server replicas and real worker processes against a
// PostgreSQL of its own, faults injected by a seeded scheduler, invariants
// read back from the table and the workers' logs. See README "Reliability".
//
//   chaos_runner [--short] [--seed=N]
//
// Exit status 0 when every invariant holds; a failing run prints its seed.

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <pqxx/pqxx>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/cpp/cycle_client.h"
#include "tests/support/private_postgres.h"

ABSL_FLAG(bool, short, false,
          "The CI version: 2,000 cycles, 12 workers, 2 replicas.");
ABSL_FLAG(uint64_t, seed, 0, "Seed of the fault schedule; 0: a random one.");
ABSL_FLAG(int, cycles, 20000, "Cycles to finalize (full version).");
ABSL_FLAG(int, workers, 48, "Worker processes (full version).");
ABSL_FLAG(int, replicas, 3, "Server replicas (full version).");
ABSL_FLAG(absl::Duration, lease, absl::Seconds(2), "Workers' lease length.");
ABSL_FLAG(int, max_attempts, 10, "The servers' --max_attempts.");
ABSL_FLAG(std::string, work_dir, "",
          "Where logs go (default: a new temporary folder, kept on failure).");

namespace {

using cycle_claimer::testing::FreeLoopbackPort;
using cycle_claimer::testing::PrivatePostgres;

extern "C" char** environ;

// Starts `argv` with `environment` added to ours, output to `log_path`.
pid_t Spawn(const std::vector<std::string>& argv,
            const std::vector<std::string>& environment,
            const std::string& log_path) {
  std::vector<std::string> env_strings = environment;
  for (char** e = environ; *e != nullptr; ++e) env_strings.push_back(*e);
  std::vector<char*> env;
  for (std::string& variable : env_strings) env.push_back(variable.data());
  env.push_back(nullptr);
  std::vector<std::string> args = argv;
  std::vector<char*> arg_pointers;
  for (std::string& arg : args) arg_pointers.push_back(arg.data());
  arg_pointers.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_path.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  pid_t pid = -1;
  if (posix_spawn(&pid, args[0].c_str(), &actions, nullptr,
                  arg_pointers.data(), env.data()) != 0) {
    pid = -1;
  }
  posix_spawn_file_actions_destroy(&actions);
  return pid;
}

// Stops `pid` with `signal` and reaps it (SIGKILL after `patience`).
void StopProcess(pid_t pid, int signal, absl::Duration patience) {
  if (pid <= 0) return;
  kill(pid, SIGCONT);
  kill(pid, signal);
  const absl::Time deadline = absl::Now() + patience;
  while (absl::Now() < deadline) {
    if (waitpid(pid, nullptr, WNOHANG) == pid) return;
    absl::SleepFor(absl::Milliseconds(10));
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
}

struct Config {
  int cycles;
  int workers;
  int replicas;
  absl::Duration lease;
  int max_attempts;
  uint64_t seed;
  std::string dir;
};

struct Replica {
  int port = 0;
  pid_t pid = -1;
  absl::Time restart_at = absl::InfiniteFuture();
};

struct WorkerProcess {
  int incarnation = 0;
  pid_t pid = -1;
  bool stopped = false;  // SIGSTOPped
  absl::Time resume_at = absl::InfiniteFuture();
  absl::Time restart_at = absl::InfiniteFuture();
};

// One line of a worker's log.
struct Event {
  std::string worker;  // worker id (incarnation)
  std::string kind;
  std::string cycle;
  int64_t token = 0;
  int64_t locked_at_us = 0;
  int64_t expires_at_us = 0;
};

class Chaos {
 public:
  explicit Chaos(Config config)
      : config_(std::move(config)), random_(config_.seed) {}

  int Run() {
    auto postgres = PrivatePostgres::Start();
    if (!postgres.ok()) {
      std::cerr << "cannot start PostgreSQL: " << postgres.status() << "\n";
      return 2;
    }
    postgres_ = *std::move(postgres);
    replicas_.resize(config_.replicas);
    for (Replica& replica : replicas_) replica.port = FreeLoopbackPort();
    // Replica 0 migrates and inserts the cycles; the others start after.
    StartReplica(0, /*first=*/true);
    if (!AwaitServing(0)) return Fail("replica 0 never became SERVING");
    for (int i = 1; i < config_.replicas; ++i) StartReplica(i, false);
    for (int i = 1; i < config_.replicas; ++i) {
      if (!AwaitServing(i)) return Fail("a replica never became SERVING");
    }
    workers_.resize(config_.workers);
    for (int i = 0; i < config_.workers; ++i) StartWorker(i);

    // Livelock bound: the work itself at full parallelism, four times over,
    // plus 20 leases' worth of take-overs and restarts, plus a minute.
    // Mean task: 9 in 10 cycles 5-50 ms, 1 in 10 600-1500 ms.
    const absl::Duration work = absl::Milliseconds(130) * config_.cycles /
                                config_.workers;
    const absl::Duration bound = absl::Trunc(
        3 * work + 20 * config_.lease + absl::Seconds(60), absl::Seconds(1));
    started_ = absl::Now();
    int64_t remaining = config_.cycles;
    while (remaining > 0 && absl::Now() - started_ < bound) {
      absl::SleepFor(absl::Milliseconds(
          std::uniform_int_distribution<int>(150, 600)(random_)));
      RunDue();
      if (std::optional<int64_t> left = Remaining()) remaining = *left;
      // Faults while at least a tenth of the work is left; then let the
      // run settle.
      if (remaining > config_.cycles / 10) InjectFault();
    }
    elapsed_ = absl::Now() - started_;
    // Everything back up, stopped workers resumed: a stopped worker must
    // find its lease lost.
    for (WorkerProcess& worker : workers_) {
      if (worker.stopped) Resume(worker);
    }
    absl::SleepFor(config_.lease + absl::Milliseconds(500));
    for (WorkerProcess& worker : workers_) {
      StopProcess(worker.pid, SIGTERM, absl::Seconds(10));
    }
    for (Replica& replica : replicas_) {
      StopProcess(replica.pid, SIGTERM, absl::Seconds(10));
    }
    const bool ok = Check(remaining == 0, bound);
    postgres_.reset();
    return ok ? 0 : 1;
  }

 private:
  int Fail(const std::string& why) {
    std::cerr << "chaos: " << why << "; seed " << config_.seed << "\n";
    return 1;
  }

  std::string DatabaseUrl(int replica) const {
    return absl::StrCat(postgres_->url(), "?application_name=replica-",
                        replica);
  }

  void StartReplica(int index, bool first) {
    Replica& replica = replicas_[index];
    std::vector<std::string> environment = {
        absl::StrCat("DATABASE_URL=", DatabaseUrl(index)),
        absl::StrCat("LISTEN_ADDRESS=127.0.0.1:", replica.port),
        "PLAINTEXT=true",
        "METRICS_ADDR=",
        "LOG_LEVEL=warn",
        "SHUTDOWN_GRACE=3s",
        "SHUTDOWN_DRAIN=200ms",
        "HEALTH_CHECK_INTERVAL=200ms",
        absl::StrCat("MAX_ATTEMPTS=", config_.max_attempts),
        absl::StrCat("DEFAULT_LEASE=", absl::FormatDuration(config_.lease)),
        absl::StrCat("MAX_LEASE=", absl::FormatDuration(config_.lease * 10)),
        "POOL_SIZE=4",
    };
    if (first) {
      environment.push_back(absl::StrCat("DEMO_CYCLES=", config_.cycles));
    }
    replica.pid = Spawn({SERVER_EXECUTABLE}, environment,
                        absl::StrCat(config_.dir, "/replica-", index, ".log"));
    replica.restart_at = absl::InfiniteFuture();
  }

  bool AwaitServing(int index) {
    auto client = cycle_claimer::client::CycleClient::Insecure(
        absl::StrCat("127.0.0.1:", replicas_[index].port), absl::Seconds(2));
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (absl::Now() < deadline) {
      if (waitpid(replicas_[index].pid, nullptr, WNOHANG) != 0) {
        std::cerr << "replica " << index << " exited; see " << config_.dir
                  << "/replica-" << index << ".log\n";
        return false;
      }
      const absl::StatusOr<bool> serving = client.Serving();
      if (serving.ok() && *serving) return true;
      absl::SleepFor(absl::Milliseconds(50));
    }
    return false;
  }

  std::string WorkerId(int index) const {
    return absl::StrCat("w", index, ".", workers_[index].incarnation);
  }

  void StartWorker(int index) {
    WorkerProcess& worker = workers_[index];
    ++worker.incarnation;
    std::vector<std::string> servers;
    for (const Replica& replica : replicas_) {
      servers.push_back(absl::StrCat("127.0.0.1:", replica.port));
    }
    const std::string id = WorkerId(index);
    worker.pid = Spawn(
        {CHAOS_WORKER_EXECUTABLE, absl::StrCat("--servers=",
                                               absl::StrJoin(servers, ",")),
         absl::StrCat("--worker=", id),
         absl::StrCat("--lease=", absl::FormatDuration(config_.lease)),
         absl::StrCat("--log=", config_.dir, "/", id, ".events"),
         absl::StrCat("--seed=", config_.seed * 1000 + index * 10 +
                                     worker.incarnation)},
        {}, absl::StrCat(config_.dir, "/", id, ".log"));
    worker.stopped = false;
    worker.restart_at = absl::InfiniteFuture();
    worker_ids_.push_back(id);
  }

  void Resume(WorkerProcess& worker) {
    kill(worker.pid, SIGCONT);
    worker.stopped = false;
    worker.resume_at = absl::InfiniteFuture();
  }

  // Restarts and resumptions whose time has come.
  void RunDue() {
    const absl::Time now = absl::Now();
    for (int i = 0; i < static_cast<int>(replicas_.size()); ++i) {
      if (replicas_[i].restart_at <= now) StartReplica(i, false);
    }
    for (int i = 0; i < static_cast<int>(workers_.size()); ++i) {
      if (workers_[i].restart_at <= now) StartWorker(i);
      if (workers_[i].resume_at <= now) Resume(workers_[i]);
    }
  }

  // Cycles not yet COMPLETED or DEAD_LETTER; nullopt while the database
  // cannot be asked (it may be restarting).
  std::optional<int64_t> Remaining() {
    try {
      if (!watcher_) watcher_ = std::make_unique<pqxx::connection>(postgres_->url());
      pqxx::nontransaction tx(*watcher_);
      return tx.exec1(
                   "SELECT count(*) FROM arbitrage_cycles WHERE status NOT IN "
                   "('COMPLETED', 'DEAD_LETTER')")[0]
          .as<int64_t>();
    } catch (const std::exception&) {
      watcher_.reset();
      return std::nullopt;
    }
  }

  void InjectFault() {
    std::vector<int> running;
    for (int i = 0; i < static_cast<int>(workers_.size()); ++i) {
      if (!workers_[i].stopped && workers_[i].restart_at ==
                                      absl::InfiniteFuture()) {
        running.push_back(i);
      }
    }
    int replicas_up = 0;
    for (const Replica& replica : replicas_) {
      if (replica.restart_at == absl::InfiniteFuture()) ++replicas_up;
    }
    const int roll = std::uniform_int_distribution<int>(0, 99)(random_);
    const auto pick = [&](int n) {
      return std::uniform_int_distribution<int>(0, n - 1)(random_);
    };
    if (roll < 35 && !running.empty()) {
      WorkerProcess& worker = workers_[running[pick(running.size())]];
      kill(worker.pid, SIGKILL);
      waitpid(worker.pid, nullptr, 0);
      worker.restart_at = absl::Now() + absl::Milliseconds(200);
      ++faults_["SIGKILL worker (restarted)"];
    } else if (roll < 50 && running.size() > 1) {
      // Preferably a worker in the middle of a slow cycle (its last event a
      // renewal): resumed after 1.2 to 2 leases, while the cycle's next
      // holder still works on it, it tries to complete with a stale token.
      std::vector<int> renewing;
      for (int index : running) {
        if (LastEvent(index) == "renewed") renewing.push_back(index);
      }
      const std::vector<int>& from = renewing.empty() ? running : renewing;
      WorkerProcess& worker = workers_[from[pick(from.size())]];
      kill(worker.pid, SIGSTOP);
      worker.stopped = true;
      worker.resume_at =
          absl::Now() +
          config_.lease *
              std::uniform_real_distribution<double>(1.2, 2.0)(random_);
      ++faults_["SIGSTOP worker past its lease, then SIGCONT"];
    } else if (roll < 65 && replicas_up > 1) {
      const int index = pick(replicas_.size());
      Replica& replica = replicas_[index];
      if (replica.restart_at != absl::InfiniteFuture()) return;
      kill(replica.pid, SIGKILL);
      waitpid(replica.pid, nullptr, 0);
      replica.restart_at = absl::Now() + absl::Milliseconds(500);
      ++faults_["SIGKILL replica (restarted)"];
    } else if (roll < 90) {
      const int index = pick(replicas_.size());
      try {
        pqxx::connection connection(postgres_->url());
        pqxx::nontransaction tx(connection);
        tx.exec_params(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
            "application_name = $1",
            absl::StrCat("replica-", index));
        ++faults_["pg_terminate_backend of a replica's connections"];
      } catch (const std::exception&) {
        // The database is restarting; no fault this round.
      }
    } else if (faults_["fast PostgreSQL restart"] < 2) {
      watcher_.reset();
      if (postgres_->Stop().ok() && postgres_->Restart().ok()) {
        ++faults_["fast PostgreSQL restart"];
      }
    }
  }

  // The kind of the last event in worker `index`'s log ("" for none).
  std::string LastEvent(int index) const {
    std::ifstream file(
        absl::StrCat(config_.dir, "/", WorkerId(index), ".events"));
    std::string line, last;
    while (std::getline(file, line)) last = line;
    return last.substr(0, last.find(' '));
  }

  std::vector<Event> ReadEvents() {
    std::vector<Event> events;
    for (const std::string& id : worker_ids_) {
      std::ifstream file(absl::StrCat(config_.dir, "/", id, ".events"));
      for (std::string line; std::getline(file, line);) {
        std::istringstream fields(line);
        Event event;
        event.worker = id;
        int64_t local_us = 0;
        if (fields >> event.kind >> event.cycle >> event.token >>
            event.locked_at_us >> event.expires_at_us >> local_us) {
          events.push_back(std::move(event));
        }
      }
    }
    return events;
  }

  bool Check(bool finished, absl::Duration bound) {
    struct Row {
      std::string status;
      int retry_count = 0;
      int64_t token = 0;
      bool held = false;
    };
    std::map<std::string, Row> table;
    pqxx::connection connection(postgres_->url());
    pqxx::nontransaction tx(connection);
    for (const pqxx::row& row : tx.exec(
             "SELECT c.id::text, c.status::text, c.retry_count, "
             "coalesce(l.lease_token, 0), l.locked_by IS NOT NULL "
             "FROM arbitrage_cycles c LEFT JOIN cycle_claimer.cycle_leases l "
             "ON l.cycle_id = c.id")) {
      table[row[0].as<std::string>()] =
          Row{row[1].as<std::string>(), row[2].as<int>(), row[3].as<int64_t>(),
              row[4].as<bool>()};
    }
    const std::vector<Event> events = ReadEvents();
    std::map<std::string, std::vector<const Event*>> by_cycle;
    for (const Event& event : events) by_cycle[event.cycle].push_back(&event);

    std::vector<std::string> violations;
    const auto violate = [&](int invariant, const std::string& what) {
      if (violations.size() < 20) {
        violations.push_back(absl::StrCat("invariant ", invariant, ": ", what));
      }
      ++broken_[invariant];
    };
    int64_t completed = 0, dead = 0, reclaims = 0, lost = 0, retries = 0,
            lost_answers = 0;
    for (const Event& event : events) lost += event.kind == "lost";
    for (const auto& [id, row] : table) {
      const std::vector<const Event*>& mine = by_cycle[id];
      reclaims += std::max<int64_t>(row.token - 1, 0);
      retries += row.retry_count;
      int accepted = 0;
      bool completing_with_latest = false;
      for (const Event* event : mine) {
        if (event->kind == "completed") {
          ++accepted;
          // 3. An accepted completion carried the cycle's latest token.
          if (event->token != row.token) {
            violate(3, absl::StrCat(id, " completed by ", event->worker,
                                    " with token ", event->token,
                                    ", latest is ", row.token));
          }
        }
        if (event->kind == "completing" && event->token == row.token) {
          completing_with_latest = true;
        }
      }
      // 1. Completed exactly once, or dead-lettered after max_attempts.
      if (row.status == "COMPLETED") {
        ++completed;
        if (accepted == 0 && completing_with_latest) {
          ++lost_answers;  // its worker was killed before it heard back
        } else if (accepted != 1) {
          violate(1, absl::StrCat(id, " has ", accepted,
                                  " accepted completions"));
        }
      } else if (row.status == "DEAD_LETTER") {
        ++dead;
        if (row.retry_count < config_.max_attempts || accepted > 0) {
          violate(1, absl::StrCat(id, " dead-lettered after ",
                                  row.retry_count, " attempts"));
        }
      } else {
        // 4. Nothing left held or claimable.
        violate(4, absl::StrCat(id, " is ", row.status));
      }
      if (row.held) violate(4, absl::StrCat(id, " still has a held lease"));
      // 2. Leases never overlap: each token's span (claim to its last
      // accepted expiry, by the database's clock) ends before the next
      // token's claim.
      std::map<int64_t, std::pair<int64_t, int64_t>> spans;  // token: [start, end]
      std::map<int64_t, std::string> holder;
      for (const Event* event : mine) {
        if (event->kind != "claimed" && event->kind != "renewed") continue;
        auto [span, fresh] = spans.try_emplace(
            event->token, std::make_pair(event->locked_at_us,
                                         event->expires_at_us));
        if (!fresh) {
          span->second.second =
              std::max(span->second.second, event->expires_at_us);
        }
        if (holder.contains(event->token) &&
            holder[event->token] != event->worker) {
          violate(2, absl::StrCat(id, " token ", event->token, " held by ",
                                  holder[event->token], " and ",
                                  event->worker));
        }
        holder[event->token] = event->worker;
      }
      const std::pair<int64_t, int64_t>* previous = nullptr;
      int64_t previous_token = 0;
      for (const auto& [token, span] : spans) {
        if (previous != nullptr && previous->second > span.first) {
          violate(2, absl::StrCat(id, ": lease ", previous_token,
                                  " ran until ", previous->second,
                                  " but lease ", token, " began at ",
                                  span.first));
        }
        previous = &span;
        previous_token = token;
      }
    }
    // 5. No livelock.
    if (!finished) {
      violate(5, absl::StrCat("not done within ", absl::FormatDuration(bound)));
    }

    std::cout << "chaos: seed " << config_.seed << ", " << config_.replicas
              << " replicas, " << config_.workers << " workers, "
              << table.size() << " cycles, lease "
              << absl::FormatDuration(config_.lease) << "\n";
    std::cout << "faults injected:\n";
    for (const auto& [kind, count] : faults_) {
      std::cout << "  " << count << "  " << kind << "\n";
    }
    std::cout << "outcome: " << completed << " completed, " << dead
              << " dead-lettered, in " << absl::FormatDuration(elapsed_)
              << " (bound " << absl::FormatDuration(bound) << ")\n";
    std::cout << "  " << reclaims << " re-claims (take-overs of expired "
              << "leases, releases), " << lost
              << " fencing rejections seen by workers (lease lost), "
              << retries << " retries recorded, " << lost_answers
              << " completions whose answer died with their worker\n";
    const char* names[] = {"",
                           "each cycle completed exactly once",
                           "no overlapping valid leases",
                           "accepted completions carry the latest token",
                           "nothing held or claimable at the end",
                           "finished within the bound (no livelock)"};
    for (int invariant = 1; invariant <= 5; ++invariant) {
      std::cout << "invariant " << invariant << " (" << names[invariant]
                << "): " << (broken_[invariant] == 0 ? "held" : "BROKEN")
                << (broken_[invariant] > 0
                        ? absl::StrCat(" ", broken_[invariant], " times")
                        : "")
                << "\n";
    }
    for (const std::string& violation : violations) {
      std::cout << "  " << violation << "\n";
    }
    const bool ok = violations.empty();
    if (!ok) {
      std::cout << "FAILED: rerun with --seed=" << config_.seed << "; logs in "
                << config_.dir << "\n";
    }
    return ok;
  }

  Config config_;
  std::mt19937_64 random_;
  std::unique_ptr<PrivatePostgres> postgres_;
  std::unique_ptr<pqxx::connection> watcher_;
  std::vector<Replica> replicas_;
  std::vector<WorkerProcess> workers_;
  std::vector<std::string> worker_ids_;
  std::map<std::string, int> faults_;
  std::map<int, int> broken_;
  absl::Time started_;
  absl::Duration elapsed_;
};

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  signal(SIGPIPE, SIG_IGN);
  Config config;
  const bool short_run = absl::GetFlag(FLAGS_short);
  config.cycles = short_run ? 2000 : absl::GetFlag(FLAGS_cycles);
  config.workers = short_run ? 12 : absl::GetFlag(FLAGS_workers);
  config.replicas = short_run ? 2 : absl::GetFlag(FLAGS_replicas);
  config.lease = absl::GetFlag(FLAGS_lease);
  config.max_attempts = absl::GetFlag(FLAGS_max_attempts);
  config.seed = absl::GetFlag(FLAGS_seed);
  if (config.seed == 0) config.seed = std::random_device()() | 1;
  config.dir = absl::GetFlag(FLAGS_work_dir);
  if (config.dir.empty()) {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "cycle-claimer-chaos-XXXXXX")
            .string();
    if (mkdtemp(pattern.data()) == nullptr) return 2;
    config.dir = pattern;
  }
  std::filesystem::create_directories(config.dir);
  const std::string dir = config.dir;
  const bool keep = !absl::GetFlag(FLAGS_work_dir).empty();
  const int status = Chaos(std::move(config)).Run();
  if (status == 0 && !keep) std::filesystem::remove_all(dir);
  return status;
}
