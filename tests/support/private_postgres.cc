#include "tests/support/private_postgres.h"

#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "absl/strings/str_cat.h"

namespace cycle_claimer::testing {
namespace {

constexpr char kPgBin[] = "/usr/lib/postgresql/15/bin";

}  // namespace

int FreeLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    port = ntohs(address.sin_port);
  }
  close(fd);
  return port;
}

namespace {

// Prefix that runs a command as the owner of the data folder.
std::string AsOwner() {
  return geteuid() == 0 ? "runuser -u postgres -- " : "";
}

}  // namespace

absl::StatusOr<std::unique_ptr<PrivatePostgres>> PrivatePostgres::Start() {
  std::string pattern =
      (std::filesystem::temp_directory_path() / "cycle-claimer-pg-XXXXXX")
          .string();
  if (mkdtemp(pattern.data()) == nullptr) {
    return absl::InternalError("mkdtemp failed");
  }
  if (geteuid() == 0) {
    const passwd* owner = getpwnam("postgres");
    if (owner == nullptr) {
      return absl::FailedPreconditionError("no postgres user to run as");
    }
    if (chown(pattern.c_str(), owner->pw_uid, owner->pw_gid) != 0) {
      return absl::InternalError("cannot chown the PostgreSQL folder");
    }
  }
  const int port = FreeLoopbackPort();
  if (port == 0) return absl::InternalError("no free port");
  std::unique_ptr<PrivatePostgres> postgres(
      new PrivatePostgres(pattern, port));
  const absl::Status initialised = postgres->Run(absl::StrCat(
      AsOwner(), kPgBin, "/initdb -D ", pattern,
      "/data -U postgres -A trust --encoding=UTF8 --locale=C.UTF-8 >",
      pattern, "/initdb.log 2>&1"));
  if (!initialised.ok()) return initialised;
  if (absl::Status started = postgres->Restart(); !started.ok()) {
    return started;
  }
  return postgres;
}

PrivatePostgres::PrivatePostgres(std::string dir, int port)
    : dir_(std::move(dir)), port_(port) {}

PrivatePostgres::~PrivatePostgres() {
  (void)Run(absl::StrCat(AsOwner(), kPgBin, "/pg_ctl -D ", dir_,
                         "/data -m immediate stop >/dev/null 2>&1"));
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

absl::Status PrivatePostgres::Stop() {
  return Run(absl::StrCat(AsOwner(), kPgBin, "/pg_ctl -D ", dir_,
                          "/data -m fast -w stop >/dev/null"));
}

absl::Status PrivatePostgres::Restart() {
  return Run(absl::StrCat(
      AsOwner(), kPgBin, "/pg_ctl -D ", dir_, "/data -l ", dir_,
      "/postgres.log -w -t 60 -o '-c listen_addresses=127.0.0.1 -p ", port_,
      " -k ", dir_, " -c fsync=off' start >/dev/null"));
}

std::string PrivatePostgres::url() const {
  return absl::StrCat("postgresql://postgres@127.0.0.1:", port_, "/postgres");
}

absl::Status PrivatePostgres::Run(const std::string& command) const {
  const int code = std::system(command.c_str());
  if (code != 0) {
    return absl::InternalError(
        absl::StrCat("`", command, "` failed (", code, "); see ", dir_));
  }
  return absl::OkStatus();
}

}  // namespace cycle_claimer::testing
