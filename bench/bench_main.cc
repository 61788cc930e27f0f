// cycle-claimer-bench: measures the service against the alternatives in one
// run, on one PostgreSQL, in a database of its own (README: "Performance").
//
//   cycle-claimer-bench --database_url=postgresql://... [--modes=...]
//
// Prints a table per mode and writes the figures as JSON under
// --results_dir.

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <future>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <pqxx/pqxx>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "kimp/cycles/v1/cycles.grpc.pb.h"
#include "server/service/claimer_server.h"
#include "server/storage/schema_manager.h"

ABSL_FLAG(std::string, database_url, "",
          "Server URL without a database name, e.g. "
          "postgresql://postgres@127.0.0.1:5432 (the bench makes its own).");
ABSL_FLAG(std::string, modes, "throughput,latency,wakeup,scale,idle",
          "Comma-separated modes to run.");
ABSL_FLAG(int, pending, 20000, "Cycles in the queue at the start of a run.");
ABSL_FLAG(absl::Duration, time_bound, absl::Seconds(10),
          "Longest one method runs in throughput mode.");
ABSL_FLAG(std::string, workers, "1,8,32,64", "Worker counts for throughput.");
ABSL_FLAG(std::string, methods, "a,b,e,f,c,d",
          "Throughput methods to run (letters as in the README).");
ABSL_FLAG(std::string, results_dir, "bench/results", "Where JSON goes.");
ABSL_FLAG(int, idle_waiters, 200, "Long-polling workers in idle mode.");
ABSL_FLAG(absl::Duration, idle_time, absl::Seconds(30), "Idle mode length.");

namespace {

namespace v1 = kimp::cycles::v1;
using cycle_claimer::ClaimerServer;
using cycle_claimer::ServerOptions;

// The SQL the alternatives run, as a careful team and as TypeORM would.
constexpr char kDirectClaim[] =
    "UPDATE arbitrage_cycles SET status = 'REBALANCING_IN_PROGRESS', "
    "locked_at = timezone('UTC', now()) WHERE id = ("
    "SELECT id FROM arbitrage_cycles WHERE status = 'AWAITING_REBALANCE' "
    "ORDER BY start_time, id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING id";
constexpr char kDirectComplete[] =
    "UPDATE arbitrage_cycles SET status = 'COMPLETED', locked_at = NULL, "
    "end_time = timezone('UTC', now()) WHERE id = $1";
// TypeORM 0.3 for createQueryBuilder().where(status).orderBy(startTime)
// .setLock('pessimistic_write').getOne(): no LIMIT, so every pending row is
// locked and sent back; then save() re-reads the row and updates it.
constexpr char kTypeormSelectAll[] =
    "SELECT \"cycle\".\"id\" AS \"cycle_id\", \"cycle\".\"start_time\" AS "
    "\"cycle_start_time\", \"cycle\".\"status\" AS \"cycle_status\", "
    "\"cycle\".\"retry_count\" AS \"cycle_retry_count\" FROM "
    "\"arbitrage_cycles\" \"cycle\" WHERE \"cycle\".\"status\" = $1 ORDER BY "
    "\"cycle\".\"start_time\" ASC FOR UPDATE";
constexpr char kTypeormSelectById[] =
    "SELECT \"ArbitrageCycle\".* FROM \"arbitrage_cycles\" \"ArbitrageCycle\" "
    "WHERE \"ArbitrageCycle\".\"id\" IN ($1)";
constexpr char kTypeormUpdate[] =
    "UPDATE \"arbitrage_cycles\" SET \"status\" = $1, \"locked_at\" = $2 "
    "WHERE \"id\" IN ($3)";
constexpr char kTypeormComplete[] =
    "UPDATE \"arbitrage_cycles\" SET \"status\" = $1, \"end_time\" = $2 "
    "WHERE \"id\" IN ($3)";
constexpr char kFillQueue[] =
    "INSERT INTO arbitrage_cycles (start_time, end_time, status, "
    "initial_investment_krw) SELECT timezone('UTC', now()) - ($1 - g) * "
    "interval '1 millisecond', NULL, 'AWAITING_REBALANCE', 1000000 FROM "
    "generate_series(1, $1) AS g";
constexpr char kFillHistory[] =
    "INSERT INTO arbitrage_cycles (start_time, end_time, status) SELECT "
    "timezone('UTC', now()) - interval '30 days' + g * interval '1 second', "
    "timezone('UTC', now()), 'COMPLETED' FROM generate_series(1, $1) AS g";
constexpr char kClearQueue[] =
    "DELETE FROM arbitrage_cycles WHERE status <> 'COMPLETED' OR "
    "start_time > timezone('UTC', now()) - interval '1 day'";

struct Percentiles {
  double p50_ms = 0, p99_ms = 0, p999_ms = 0;
};

Percentiles Summarize(std::vector<double> ms) {
  Percentiles p;
  if (ms.empty()) return p;
  std::sort(ms.begin(), ms.end());
  auto at = [&](double q) {
    return ms[std::min(ms.size() - 1, static_cast<size_t>(q * ms.size()))];
  };
  p.p50_ms = at(0.50);
  p.p99_ms = at(0.99);
  p.p999_ms = at(0.999);
  return p;
}

double Ms(absl::Duration d) { return absl::ToDoubleMilliseconds(d); }

// What one method did in one throughput run.
struct RunResult {
  std::string method;
  int workers = 0;
  int cycles = 0;
  double seconds = 0;
  Percentiles claim;
  int empty_while_pending = 0;  // (d) only
  double per_second() const { return seconds > 0 ? cycles / seconds : 0; }
};

// Per-worker state and a shared stop condition for one run.
struct Run {
  std::atomic<int> done{0};
  std::atomic<int> empty_while_pending{0};
  std::mutex mu;
  std::vector<double> claim_ms;
  absl::Time deadline;
  int target = 0;
  bool more() const { return done.load() < target && absl::Now() < deadline; }
  void Record(const std::vector<double>& ms) {
    std::lock_guard lock(mu);
    claim_ms.insert(claim_ms.end(), ms.begin(), ms.end());
  }
};

class Bench {
 public:
  explicit Bench(std::string base_url) : base_url_(std::move(base_url)) {}

  void Setup() {
    db_name_ = absl::StrCat("cycle_claimer_bench_", getpid());
    {
      pqxx::connection admin(base_url_ + "/postgres");
      pqxx::nontransaction tx(admin);
      tx.exec("DROP DATABASE IF EXISTS " + tx.quote_name(db_name_));
      tx.exec("CREATE DATABASE " + tx.quote_name(db_name_));
    }
    url_ = base_url_ + "/" + db_name_;
    // Migrate and build the indexes and the trigger once; each run starts
    // a server of its own.
    cycle_claimer::SchemaManager schema(url_);
    absl::Status migrated = schema.Migrate();
    if (!migrated.ok()) throw std::runtime_error(migrated.ToString());
    absl::StatusOr<int> kept = schema.EnsureKeptObjects();
    if (!kept.ok()) throw std::runtime_error(kept.status().ToString());
  }

  void Teardown() {
    pqxx::connection admin(base_url_ + "/postgres");
    pqxx::nontransaction tx(admin);
    tx.exec("DROP DATABASE IF EXISTS " + tx.quote_name(db_name_) +
            " WITH (FORCE)");
  }

  ServerOptions Options(bool coalesce) const {
    ServerOptions options;
    options.listen_address = "127.0.0.1:0";
    options.plaintext = true;
    options.drain_period = absl::ZeroDuration();  // no callers left to drain
    options.database_url = url_;
    options.pool_size = 8;
    options.coalesce = coalesce;
    return options;
  }

  void Exec(const std::string& sql) {
    pqxx::connection c(url_);
    pqxx::nontransaction tx(c);
    tx.exec(sql);
  }

  // Empties the queue (history rows stay) and fills it with `count` cycles.
  void FillQueue(int count) {
    pqxx::connection c(url_);
    pqxx::nontransaction tx(c);
    tx.exec(kClearQueue);
    tx.exec("TRUNCATE cycle_claimer.cycle_leases");
    c.prepare("fill", kFillQueue);
    tx.exec_prepared("fill", count);
    tx.exec("VACUUM ANALYZE arbitrage_cycles");
    tx.exec("VACUUM ANALYZE cycle_claimer.cycle_leases");
  }

  // Runs `worker(index, run)` on `workers` threads until the run is over.
  RunResult Drive(const std::string& method, int workers, int target,
                  absl::Duration bound,
                  const std::function<void(int, Run&)>& worker) {
    Run run;
    run.target = target;
    run.deadline = absl::Now() + bound;
    const absl::Time start = absl::Now();
    std::vector<std::thread> threads;
    for (int w = 0; w < workers; ++w) {
      threads.emplace_back([&, w] { worker(w, run); });
    }
    for (std::thread& t : threads) t.join();
    RunResult result;
    result.method = method;
    result.workers = workers;
    result.cycles = run.done.load();
    result.seconds = absl::ToDoubleSeconds(absl::Now() - start);
    result.claim = Summarize(run.claim_ms);
    result.empty_while_pending = run.empty_while_pending.load();
    return result;
  }

  // (a), (b): ClaimNextCycle then CompleteCycle per cycle; (e): batches.
  RunResult Service(const std::string& method, int workers, bool coalesce,
                    int batch) {
    auto server = StartServer(coalesce);
    const std::string target = absl::StrCat("127.0.0.1:", server->port());
    return Drive(method, workers, pending_, time_bound_, [&](int w, Run& run) {
      auto stub = v1::CycleService::NewStub(NewChannel(target, w));
      std::vector<double> ms;
      const std::string worker = absl::StrCat("bench-", w);
      while (run.more()) {
        const absl::Time t0 = absl::Now();
        std::vector<v1::Cycle> cycles;
        grpc::ClientContext claim_context;
        if (batch == 1) {
          v1::ClaimNextCycleRequest request;
          request.set_worker_id(worker);
          v1::ClaimNextCycleResponse response;
          if (!stub->ClaimNextCycle(&claim_context, request, &response).ok())
            break;
          if (response.has_cycle()) cycles.push_back(response.cycle());
        } else {
          v1::ClaimCyclesRequest request;
          request.set_worker_id(worker);
          request.set_max_cycles(batch);
          v1::ClaimCyclesResponse response;
          if (!stub->ClaimCycles(&claim_context, request, &response).ok())
            break;
          cycles.assign(response.cycles().begin(), response.cycles().end());
        }
        ms.push_back(Ms(absl::Now() - t0));
        if (cycles.empty()) break;
        if (batch == 1) {
          v1::CompleteCycleRequest request;
          request.set_cycle_id(cycles[0].id());
          request.set_lease_token(cycles[0].lease_token());
          v1::CompleteCycleResponse response;
          grpc::ClientContext context;
          if (stub->CompleteCycle(&context, request, &response).ok())
            ++run.done;
        } else {
          v1::CompleteCyclesRequest request;
          for (const v1::Cycle& cycle : cycles) {
            auto* item = request.add_completions();
            item->set_cycle_id(cycle.id());
            item->set_lease_token(cycle.lease_token());
          }
          v1::CompleteCyclesResponse response;
          grpc::ClientContext context;
          if (stub->CompleteCycles(&context, request, &response).ok()) {
            for (const auto& r : response.results()) run.done += r.has_cycle();
          }
        }
      }
      run.Record(ms);
    });
  }

  // (f): two do-nothing RPCs (grpc.health.v1 Check) through the same server
  // and client stack per "cycle".
  RunResult Floor(int workers) {
    auto server = StartServer(true);
    const std::string target = absl::StrCat("127.0.0.1:", server->port());
    return Drive("f: RPC floor (2 no-op calls)", workers, pending_, time_bound_,
                 [&](int w, Run& run) {
                   grpc::GenericStub stub(NewChannel(target, w));
                   std::vector<double> ms;
                   while (run.more()) {
                     const absl::Time t0 = absl::Now();
                     if (!HealthCheck(stub) || !HealthCheck(stub)) break;
                     ms.push_back(Ms(absl::Now() - t0) / 2);
                     ++run.done;
                   }
                   run.Record(ms);
                 });
  }

  // (c): what a careful team writes without a service.
  RunResult DirectSql(int workers) {
    return Drive("c: direct SQL, SKIP LOCKED", workers, pending_, time_bound_,
                 [&](int, Run& run) {
                   pqxx::connection c(url_);
                   c.prepare("claim", kDirectClaim);
                   c.prepare("complete", kDirectComplete);
                   std::vector<double> ms;
                   while (run.more()) {
                     const absl::Time t0 = absl::Now();
                     pqxx::nontransaction tx(c);
                     const pqxx::result claimed = tx.exec_prepared("claim");
                     ms.push_back(Ms(absl::Now() - t0));
                     if (claimed.empty()) break;
                     tx.exec_prepared("complete",
                                      claimed[0][0].as<std::string>());
                     ++run.done;
                   }
                   run.Record(ms);
                 });
  }

  // (d): the seed's method as TypeORM runs it, statement for statement.
  RunResult Typeorm(int workers) {
    return Drive("d: TypeORM FOR UPDATE (seed)", workers, pending_, time_bound_,
                 [&](int, Run& run) {
                   pqxx::connection c(url_);
                   c.prepare("select_all", kTypeormSelectAll);
                   c.prepare("select_by_id", kTypeormSelectById);
                   c.prepare("update", kTypeormUpdate);
                   c.prepare("complete", kTypeormComplete);
                   std::vector<double> ms;
                   while (run.more()) {
                     const absl::Time t0 = absl::Now();
                     std::string id;
                     {
                       pqxx::work tx(c);
                       const pqxx::result rows =
                           tx.exec_prepared("select_all", "AWAITING_REBALANCE");
                       if (!rows.empty()) {
                         id = rows[0][0].as<std::string>();
                         tx.exec_prepared("select_by_id", id);
                         tx.exec_prepared(
                             "update", "REBALANCING_IN_PROGRESS",
                             absl::FormatTime("%Y-%m-%d %H:%M:%E6S",
                                              absl::Now(), absl::UTCTimeZone()),
                             id);
                       }
                       tx.commit();
                     }
                     ms.push_back(Ms(absl::Now() - t0));
                     if (id.empty()) {
                       if (run.done.load() < run.target)
                         ++run.empty_while_pending;
                       if (run.done.load() >= run.target) break;
                       continue;
                     }
                     pqxx::work tx(c);
                     tx.exec_prepared(
                         "complete", "COMPLETED",
                         absl::FormatTime("%Y-%m-%d %H:%M:%E6S", absl::Now(),
                                          absl::UTCTimeZone()),
                         id);
                     tx.commit();
                     ++run.done;
                   }
                   run.Record(ms);
                 });
  }

  // Commit of a cycle by plain SQL to the long-polling worker holding it.
  Percentiles Wakeup(int waiters, int cycles) {
    FillQueue(0);
    auto server = StartServer(true);
    const std::string target = absl::StrCat("127.0.0.1:", server->port());
    std::mutex mu;
    std::map<std::string, absl::Time> received;
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    for (int w = 0; w < waiters; ++w) {
      threads.emplace_back([&, w] {
        auto stub = v1::CycleService::NewStub(NewChannel(target, w));
        while (!stop.load()) {
          v1::ClaimNextCycleRequest request;
          request.set_worker_id(absl::StrCat("waiter-", w));
          request.mutable_wait_timeout()->set_seconds(1);
          v1::ClaimNextCycleResponse response;
          grpc::ClientContext context;
          if (!stub->ClaimNextCycle(&context, request, &response).ok())
            continue;
          if (!response.has_cycle()) continue;
          const absl::Time now = absl::Now();
          std::lock_guard lock(mu);
          received[response.cycle().id()] = now;
        }
      });
    }
    absl::SleepFor(absl::Milliseconds(500));
    std::map<std::string, absl::Time> committed;
    {
      pqxx::connection c(url_);
      for (int i = 0; i < cycles; ++i) {
        pqxx::work tx(c);
        std::string id;
        if (i % 2 == 0) {  // inserted ready
          id = tx.exec(
                     "INSERT INTO arbitrage_cycles (status, end_time) VALUES "
                     "('AWAITING_REBALANCE', NULL) RETURNING id::text")[0][0]
                   .as<std::string>();
          tx.commit();
        } else {  // an existing cycle moved on by kimP's trader
          id =
              tx
                  .exec(
                      "INSERT INTO arbitrage_cycles (status, end_time) VALUES "
                      "('INITIAL_TRADE_COMPLETED', NULL) RETURNING id::text")[0]
                                                                             [0]
                  .as<std::string>();
          tx.commit();
          absl::SleepFor(absl::Milliseconds(5));
          pqxx::work update(c);
          update.exec(
              "UPDATE arbitrage_cycles SET status = "
              "'AWAITING_REBALANCE' WHERE id = " +
              update.quote(id));
          update.commit();
        }
        committed[id] = absl::Now();
        absl::SleepFor(absl::Milliseconds(20));
      }
    }
    absl::SleepFor(absl::Seconds(1));
    stop = true;
    for (std::thread& t : threads) t.join();
    std::vector<double> ms;
    for (const auto& [id, at] : committed) {
      auto found = received.find(id);
      if (found != received.end()) ms.push_back(Ms(found->second - at));
    }
    wakeup_missed_ = cycles - static_cast<int>(ms.size());
    return Summarize(ms);
  }

  // p50 claim latency at W=1 with `history` COMPLETED rows in the table.
  Percentiles Scale(int history, int cycles) {
    Exec("DELETE FROM arbitrage_cycles");
    if (history > 0) {
      pqxx::connection c(url_);
      c.prepare("history", kFillHistory);
      pqxx::nontransaction tx(c);
      tx.exec_prepared("history", history);
    }
    FillQueue(cycles);
    int saved = pending_;
    pending_ = cycles;
    RunResult r = Service("a", 1, true, 1);
    pending_ = saved;
    return r.claim;
  }

  struct IdleResult {
    double statements_per_second;
    double server_cpu_seconds;
  };

  // Long-polling workers on an empty queue: statements the server sends
  // and CPU it spends.
  IdleResult Idle(int waiters, absl::Duration length) {
    Exec("DELETE FROM arbitrage_cycles");
    auto server = StartServer(true);
    const std::string target = absl::StrCat("127.0.0.1:", server->port());
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    for (int w = 0; w < waiters; ++w) {
      threads.emplace_back([&, w] {
        auto stub = v1::CycleService::NewStub(NewChannel(target, w % 16));
        while (!stop.load()) {
          v1::ClaimNextCycleRequest request;
          request.set_worker_id(absl::StrCat("idle-", w));
          request.mutable_wait_timeout()->set_seconds(60);
          v1::ClaimNextCycleResponse response;
          grpc::ClientContext context;
          context.set_deadline(std::chrono::system_clock::now() +
                               std::chrono::seconds(90));
          stub->ClaimNextCycle(&context, request, &response);
        }
      });
    }
    // Let every waiter settle, then measure.
    absl::SleepFor(absl::Seconds(3));
    const int64_t before = Transactions();
    const double cpu_before = ProcessCpuSeconds();
    absl::SleepFor(length);
    const double cpu = ProcessCpuSeconds() - cpu_before;
    const int64_t after_window = Transactions();
    stop = true;
    server->Shutdown(absl::Seconds(5));  // answers the waiters
    for (std::thread& t : threads) t.join();
    // Less our own look-up (two statements) inside the window.
    const double statements = static_cast<double>(after_window - before - 2);
    return {statements / absl::ToDoubleSeconds(length), cpu};
  }

  std::string ServerInfo() {
    pqxx::connection c(url_);
    pqxx::nontransaction tx(c);
    return tx
        .exec(
            "SELECT version() || '; shared_buffers=' || "
            "current_setting('shared_buffers') || ', fsync=' || "
            "current_setting('fsync') || ', synchronous_commit=' || "
            "current_setting('synchronous_commit') || "
            "', max_connections=' || current_setting('max_connections')")[0][0]
        .as<std::string>();
  }

  int pending_ = 20000;
  absl::Duration time_bound_ = absl::Seconds(10);
  int wakeup_missed_ = 0;

 private:
  std::unique_ptr<ClaimerServer> StartServer(bool coalesce) {
    ServerOptions options = Options(coalesce);
    options.migrate = false;
    options.index_check_interval = absl::Seconds(60);
    auto server = ClaimerServer::Start(options);
    if (!server.ok()) throw std::runtime_error(server.status().ToString());
    return *std::move(server);
  }

  static std::shared_ptr<grpc::Channel> NewChannel(const std::string& target,
                                                   int index) {
    // Distinct arguments: a TCP connection per worker, as separate machines
    // would have.
    grpc::ChannelArguments args;
    args.SetInt("cycle_claimer.bench_channel", index);
    return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(),
                                     args);
  }

  static bool HealthCheck(grpc::GenericStub& stub) {
    grpc::ClientContext context;
    grpc::Slice no_bytes;
    grpc::ByteBuffer request(&no_bytes, 1);
    grpc::ByteBuffer response;
    std::promise<bool> done;
    stub.UnaryCall(
        &context, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request,
        &response,
        [&done](grpc::Status status) { done.set_value(status.ok()); });
    return done.get_future().get();
  }

  int64_t Transactions() {
    pqxx::connection c(url_);
    pqxx::nontransaction tx(c);
    tx.exec("SELECT pg_stat_force_next_flush()");
    return tx
        .exec(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database "
            "WHERE datname = current_database()")[0][0]
        .as<int64_t>();
  }

  static double ProcessCpuSeconds() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec +
           (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  }

  std::string base_url_;
  std::string db_name_;
  std::string url_;
};

std::string Machine() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line, model = "unknown CPU";
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) == 0) {
      model = line.substr(line.find(':') + 2);
      break;
    }
  }
  return absl::StrCat(std::thread::hardware_concurrency(), " cores, ", model);
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  spdlog::set_level(spdlog::level::warn);
  const std::string base = absl::GetFlag(FLAGS_database_url);
  if (base.empty()) {
    std::cerr << "--database_url is required (scripts/bench.sh sets it)\n";
    return 2;
  }
  const std::vector<std::string> modes =
      absl::StrSplit(absl::GetFlag(FLAGS_modes), ',');
  auto wants = [&](const std::string& mode) {
    return std::find(modes.begin(), modes.end(), mode) != modes.end();
  };

  Bench bench(base);
  bench.pending_ = absl::GetFlag(FLAGS_pending);
  bench.time_bound_ = absl::GetFlag(FLAGS_time_bound);
  bench.Setup();
  std::ostringstream json;
  const std::string machine = Machine();
  const std::string postgres = bench.ServerInfo();
  std::printf("machine: %s\npostgres: %s\n", machine.c_str(), postgres.c_str());
  json << "{\n  \"machine\": \"" << machine << "\",\n  \"postgres\": \""
       << postgres << "\",\n  \"pending\": " << bench.pending_ << ",\n";

  std::vector<RunResult> results;
  if (wants("throughput") || wants("latency")) {
    std::vector<int> worker_counts;
    for (absl::string_view w :
         absl::StrSplit(absl::GetFlag(FLAGS_workers), ',')) {
      worker_counts.push_back(std::stoi(std::string(w)));
    }
    std::printf(
        "\nthroughput: claim + complete per cycle, %d pending, "
        "each run until drained or %s\n",
        bench.pending_, absl::FormatDuration(bench.time_bound_).c_str());
    std::printf("%-38s %4s %8s %10s %9s %9s %9s %s\n", "method", "W", "cycles",
                "cycles/s", "p50 ms", "p99 ms", "p99.9 ms", "empty");
    for (int w : worker_counts) {
      using Method = std::function<RunResult()>;
      const std::vector<Method> methods = {
          [&] {
            return bench.Service("a: service, coalescing on", w, true, 1);
          },
          [&] {
            return bench.Service("b: service, coalescing off", w, false, 1);
          },
          [&] { return bench.Service("e: service batch of 10", w, true, 10); },
          [&] { return bench.Floor(w); },
          [&] { return bench.DirectSql(w); },
          [&] { return bench.Typeorm(w); },
      };
      const std::string letters = absl::GetFlag(FLAGS_methods);
      const std::string order = "abefcd";
      for (std::size_t m = 0; m < methods.size(); ++m) {
        if (letters.find(order[m]) == std::string::npos) continue;
        const Method& method = methods[m];
        bench.FillQueue(bench.pending_);
        RunResult r = method();
        std::printf("%-38s %4d %8d %10.0f %9.2f %9.2f %9.2f %s\n",
                    r.method.c_str(), r.workers, r.cycles, r.per_second(),
                    r.claim.p50_ms, r.claim.p99_ms, r.claim.p999_ms,
                    r.method[0] == 'd'
                        ? std::to_string(r.empty_while_pending).c_str()
                        : "");
        std::fflush(stdout);
        results.push_back(r);
      }
    }
    json << "  \"throughput\": [\n";
    for (size_t i = 0; i < results.size(); ++i) {
      const RunResult& r = results[i];
      json << absl::StrFormat(
          "    {\"method\": \"%s\", \"workers\": %d, \"cycles\": %d, "
          "\"seconds\": %.3f, \"cycles_per_second\": %.1f, \"claim_p50_ms\": "
          "%.3f, \"claim_p99_ms\": %.3f, \"claim_p999_ms\": %.3f, "
          "\"empty_while_pending\": %d}%s\n",
          r.method, r.workers, r.cycles, r.seconds, r.per_second(),
          r.claim.p50_ms, r.claim.p99_ms, r.claim.p999_ms,
          r.empty_while_pending, i + 1 < results.size() ? "," : "");
    }
    json << "  ],\n";
    // Ratios the targets are stated in, at W=32.
    auto rate = [&](char method, int w) {
      for (const RunResult& r : results) {
        if (r.method[0] == method && r.workers == w) return r.per_second();
      }
      return 0.0;
    };
    if (rate('c', 32) > 0) {
      std::printf(
          "\nat W=32: a/c = %.2f, a/f = %.2f, b/c = %.2f, e/c = %.2f, "
          "a/d = %.0f\n",
          rate('a', 32) / rate('c', 32), rate('a', 32) / rate('f', 32),
          rate('b', 32) / rate('c', 32), rate('e', 32) / rate('c', 32),
          rate('d', 32) > 0 ? rate('a', 32) / rate('d', 32) : 0.0);
    }
    std::printf("\nlatency (claim, from the runs above):\n");
    for (const RunResult& r : results) {
      if ((r.method[0] == 'a' || r.method[0] == 'c') &&
          (r.workers == 1 || r.workers == 8)) {
        std::printf("  %-32s W=%-2d p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms\n",
                    r.method.c_str(), r.workers, r.claim.p50_ms, r.claim.p99_ms,
                    r.claim.p999_ms);
      }
    }
  }
  if (wants("wakeup")) {
    const Percentiles p = bench.Wakeup(8, 200);
    std::printf(
        "\nwakeup: 8 long-polling workers, 200 cycles made claimable "
        "by plain SQL (half INSERT, half UPDATE): commit -> worker "
        "holds it: p50 %.2f ms, p99 %.2f ms (%d missed)\n",
        p.p50_ms, p.p99_ms, bench.wakeup_missed_);
    json << absl::StrFormat(
        "  \"wakeup\": {\"p50_ms\": %.3f, \"p99_ms\": %.3f, \"missed\": %d},\n",
        p.p50_ms, p.p99_ms, bench.wakeup_missed_);
  }
  if (wants("scale")) {
    std::printf("\nscale: W=1 claim latency with COMPLETED history rows\n");
    json << "  \"scale\": [";
    int done = 0;
    for (int history : {0, 100000, 1000000}) {
      const Percentiles p = bench.Scale(history, 2000);
      std::printf("  %8d history rows: p50 %.3f ms, p99 %.3f ms\n", history,
                  p.p50_ms, p.p99_ms);
      json << absl::StrFormat(
          "%s{\"history\": %d, \"p50_ms\": %.3f, "
          "\"p99_ms\": %.3f}",
          done++ ? ", " : "", history, p.p50_ms, p.p99_ms);
    }
    json << "],\n";
  }
  if (wants("idle")) {
    const int waiters = absl::GetFlag(FLAGS_idle_waiters);
    const absl::Duration length = absl::GetFlag(FLAGS_idle_time);
    const auto idle = bench.Idle(waiters, length);
    std::printf(
        "\nidle: %d workers long-polling an empty queue for %s: %.2f "
        "statements/s to PostgreSQL, %.2f s CPU in the bench process "
        "(server and idle clients)\n",
        waiters, absl::FormatDuration(length).c_str(),
        idle.statements_per_second, idle.server_cpu_seconds);
    json << absl::StrFormat(
        "  \"idle\": {\"waiters\": %d, \"seconds\": %.0f, "
        "\"statements_per_second\": %.3f, \"cpu_seconds\": %.3f},\n",
        waiters, absl::ToDoubleSeconds(length), idle.statements_per_second,
        idle.server_cpu_seconds);
  }
  json << "  \"finished\": \""
       << absl::FormatTime(absl::RFC3339_sec, absl::Now(), absl::UTCTimeZone())
       << "\"\n}\n";
  bench.Teardown();

  const std::string dir = absl::GetFlag(FLAGS_results_dir);
  const std::string path = absl::StrCat(
      dir, "/",
      absl::FormatTime("%Y%m%dT%H%M%SZ", absl::Now(), absl::UTCTimeZone()),
      ".json");
  std::ofstream(path) << json.str();
  std::printf("\nwrote %s\n", path.c_str());
  return 0;
}
