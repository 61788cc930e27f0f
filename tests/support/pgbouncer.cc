#include "tests/support/pgbouncer.h"

#include <fcntl.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <pqxx/pqxx>
#include <stdexcept>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/substitute.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tests/support/private_postgres.h"

namespace cycle_claimer::testing {
namespace {

absl::Status WriteFile(const std::string& path, const std::string& text) {
  std::ofstream file(path);
  file << text;
  file.close();
  if (!file) return absl::InternalError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<PgBouncer>> PgBouncer::Start(
    PgBouncerOptions options) {
  std::unique_ptr<PgBouncer> bouncer(new PgBouncer());
  std::string upstream_host, upstream_port, database;
  try {
    pqxx::connection upstream(options.upstream_url);
    const char* host = upstream.hostname();
    if (host == nullptr || *host == '/') {
      return absl::InvalidArgumentError(
          "the upstream database must be reached over TCP");
    }
    upstream_host = host;
    upstream_port = upstream.port();
    database = upstream.dbname();
    bouncer->user_ = upstream.username();
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("cannot reach the upstream database: ", e.what()));
  }
  const bool as_root = geteuid() == 0;
  if (as_root && getpwnam("postgres") == nullptr) {
    return absl::FailedPreconditionError(
        "PgBouncer refuses to run as root, and there is no postgres user to "
        "run it as");
  }
  bouncer->port_ = FreeLoopbackPort();
  if (bouncer->port_ == 0) return absl::InternalError("cannot find a free port");

  std::string dir = (std::filesystem::temp_directory_path() /
                     "cycle-claimer-pgbouncer.XXXXXX")
                        .string();
  if (mkdtemp(dir.data()) == nullptr) {
    return absl::InternalError("cannot make a temp folder");
  }
  bouncer->dir_ = dir;
  // PgBouncer's user (postgres, as root) reads its configuration here.
  chmod(dir.c_str(), 0755);
  const std::string config = dir + "/pgbouncer.ini";
  const std::string users = dir + "/userlist.txt";
  absl::Status written =
      WriteFile(users, absl::StrCat("\"", bouncer->user_, "\" \"\"\n"));
  if (written.ok()) {
    written = WriteFile(
        config,
        absl::Substitute(R"ini([databases]
* = host=$0 port=$1

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $2
unix_socket_dir =
auth_type = trust
auth_file = $3
admin_users = $4
pool_mode = $5
default_pool_size = $6
max_client_conn = $7
)ini",
                         upstream_host, upstream_port, bouncer->port_, users,
                         bouncer->user_, options.pool_mode,
                         options.default_pool_size, options.max_client_conn));
  }
  if (!written.ok()) return written;

  std::vector<std::string> args;
  if (as_root) {
    // setpriv execs PgBouncer in its own place (the pid stays PgBouncer's)
    // and sets the parent-death signal again after changing user, which
    // clears it.
    args = {SETPRIV_EXECUTABLE, "--reuid=postgres", "--regid=postgres",
            "--init-groups", "--pdeathsig=TERM"};
  }
  args.push_back(PGBOUNCER_EXECUTABLE);
  args.push_back(config);
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);

  const int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  const int log_fd = open((dir + "/pgbouncer.log").c_str(),
                          O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (null_fd < 0 || log_fd < 0) {
    if (null_fd >= 0) close(null_fd);
    if (log_fd >= 0) close(log_fd);
    return absl::InternalError("cannot open PgBouncer's log");
  }
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) {
    // Only async-signal-safe calls from here to exec. Its output goes to the
    // log, never to the test's own stdout and stderr, which ctest waits on.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(1);
    dup2(null_fd, STDIN_FILENO);
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    close_range(STDERR_FILENO + 1, ~0U, 0);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(null_fd);
  close(log_fd);
  if (pid < 0) return absl::InternalError("cannot fork PgBouncer");
  bouncer->pid_ = pid;

  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  for (;;) {
    int wait_status = 0;
    if (waitpid(pid, &wait_status, WNOHANG) == pid) {
      bouncer->pid_ = -1;
      return absl::InternalError(
          absl::StrCat("PgBouncer exited at start:\n", bouncer->LogTail()));
    }
    std::string error;
    try {
      pqxx::connection probe(bouncer->Url(database));
      pqxx::nontransaction tx(probe);
      tx.exec("SELECT 1");
      return bouncer;
    } catch (const std::exception& e) {
      error = e.what();
    }
    if (absl::Now() > deadline) {
      return absl::UnavailableError(absl::StrCat("PgBouncer does not serve ",
                                                 database, ": ", error, "\n",
                                                 bouncer->LogTail()));
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
}

PgBouncer::~PgBouncer() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);  // PgBouncer's immediate shutdown
    const absl::Time deadline = absl::Now() + absl::Seconds(5);
    int wait_status = 0;
    while (waitpid(pid_, &wait_status, WNOHANG) == 0) {
      if (absl::Now() > deadline) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &wait_status, 0);
        break;
      }
      absl::SleepFor(absl::Milliseconds(10));
    }
  }
  if (!dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
}

std::string PgBouncer::Url(const std::string& database) const {
  return absl::StrCat("postgresql://", user_, "@127.0.0.1:", port_, "/",
                      database);
}

std::vector<std::map<std::string, std::string>> PgBouncer::Admin(
    const std::string& command) const {
  const std::unique_ptr<PGconn, decltype(&PQfinish)> console(
      PQconnectdb(Url("pgbouncer").c_str()), &PQfinish);
  if (PQstatus(console.get()) != CONNECTION_OK) {
    throw std::runtime_error(absl::StrCat("PgBouncer's admin console: ",
                                          PQerrorMessage(console.get())));
  }
  const std::unique_ptr<PGresult, decltype(&PQclear)> result(
      PQexec(console.get(), command.c_str()), &PQclear);
  if (PQresultStatus(result.get()) != PGRES_TUPLES_OK) {
    throw std::runtime_error(absl::StrCat(
        command, " on PgBouncer: ", PQresultErrorMessage(result.get())));
  }
  std::vector<std::map<std::string, std::string>> rows(PQntuples(result.get()));
  for (int row = 0; row < PQntuples(result.get()); ++row) {
    for (int column = 0; column < PQnfields(result.get()); ++column) {
      rows[row][PQfname(result.get(), column)] =
          PQgetvalue(result.get(), row, column);
    }
  }
  return rows;
}

std::string PgBouncer::LogTail() const {
  std::ifstream file(dir_ + "/pgbouncer.log");
  std::string log(std::istreambuf_iterator<char>(file), {});
  constexpr std::size_t kTail = 4000;
  return log.size() > kTail ? log.substr(log.size() - kTail) : log;
}

}  // namespace cycle_claimer::testing
