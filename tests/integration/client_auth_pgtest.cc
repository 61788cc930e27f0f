// The Node.js and Python clients against a server that wants mutual TLS and
// bearer tokens: with a token and a client certificate they claim and
// complete; without a token they get UNAUTHENTICATED, without a certificate
// the CA signed they are refused, and nothing changes. Certificates are made
// by openssl when the test runs; each client runs as a process of its own.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/support/pki.h"
#include "tests/support/server_fixture.h"

extern char** environ;

namespace cycle_claimer::testing {
namespace {

constexpr char kWorkerToken[] = "worker-token-client-auth-0123";
constexpr char kAdminToken[] = "admin-token-client-auth-0123";

std::string Read(const std::string& path) {
  std::ifstream file(path);
  return std::string(std::istreambuf_iterator<char>(file), {});
}


enum class Language { kNode, kPython };

std::string Name(Language language) {
  return language == Language::kNode ? "Node" : "Python";
}

void PrintTo(Language language, std::ostream* os) { *os << Name(language); }

// Claims one cycle and completes it, then reads it back through
// CycleAdminService. Prints "completed ID" and "get STATUS" (or "get error
// CODE"), or "error CODE" when the claim or completion fails. The client
// takes its options from the environment as the example finalizers do.
constexpr char kNodeScript[] = R"js(
const fs = require('node:fs');
const { CycleClient } = require(process.env.NODE_CLIENT_DIR);
const env = process.env;
const read = (name) => (env[name] ? fs.readFileSync(env[name]) : undefined);
const client = new CycleClient(env.SERVER, {
  token: env.CYCLE_CLAIMER_TOKEN,
  deadlineMs: 5000,
  tls: env.CYCLE_CLAIMER_TLS_CA ? {
    ca: read('CYCLE_CLAIMER_TLS_CA'),
    cert: read('CYCLE_CLAIMER_TLS_CERT'),
    key: read('CYCLE_CLAIMER_TLS_KEY'),
  } : undefined,
});
(async () => {
  let id;
  try {
    const cycle = await client.claim({ workerId: 'node-auth', leaseMs: 60000 });
    id = (await client.complete(cycle.id, cycle.leaseToken, { totalNetProfitKrw: '7.5' })).id;
    console.log(`completed ${id}`);
  } catch (error) {
    console.log(`error ${error.code}`);
    return;
  }
  await client.get(id).then((cycle) => console.log(`get ${cycle.status}`),
    (error) => console.log(`get error ${error.code}`));
})().finally(() => client.close());
)js";

constexpr char kPythonScript[] = R"py(
import os
import grpc
from cycle_claimer import CycleClient, RebalanceResult, cycles_pb2

def read(name):
    if not os.environ.get(name):
        return None
    with open(os.environ[name], "rb") as pem:
        return pem.read()

client = CycleClient(os.environ["SERVER"], deadline=5.0,
                     token=os.environ.get("CYCLE_CLAIMER_TOKEN"),
                     server_ca_pem=read("CYCLE_CLAIMER_TLS_CA"),
                     client_cert_pem=read("CYCLE_CLAIMER_TLS_CERT"),
                     client_key_pem=read("CYCLE_CLAIMER_TLS_KEY"))
try:
    cycle = client.claim("py-auth", lease=60)
    done = client.complete(cycle.id, cycle.lease_token,
                           RebalanceResult(total_net_profit_krw="7.5"))
    print("completed", done.id)
    try:
        status = client.get(done.id).status
        print("get", cycles_pb2.CycleStatus.Name(status)[len("CYCLE_STATUS_"):])
    except grpc.RpcError as error:
        print("get error", error.code().value[0])
except grpc.RpcError as error:
    print("error", error.code().value[0])
client.close()
)py";

// What a client process is given: a token (empty: none), and which
// certificates it finds in CYCLE_CLAIMER_TLS_* (empty: the variable unset).
// By default a worker token and the certificate the CA signed.
struct Credentials {
  std::string token = kWorkerToken;
  std::string ca = "ca.pem";
  std::string cert = "client.pem";
  std::string key = "client.key";
};

class ClientAuthTest : public ServerTest,
                       public ::testing::WithParamInterface<Language> {
 protected:
  // The server, with mutual TLS (or plaintext) and tokens.
  void Start(bool tls) {
    ServerOptions options = DefaultOptions();
    if (tls) {
      options.plaintext = false;
      options.tls = TlsOptions{pki_.Pem("server.pem"), pki_.Pem("server.key"),
                               pki_.Pem("ca.pem")};
    }
    auto tokens = TokenRegistry::Parse(
        absl::StrCat("worker ", kWorkerToken, "\nadmin ", kAdminToken, "\n"));
    ASSERT_TRUE(tokens.ok()) << tokens.status();
    options.tokens = std::make_shared<const TokenRegistry>(*std::move(tokens));
    StartServer(options);
  }
  void SetUp() override { Start(/*tls=*/true); }

  // Starts `args` with the client's environment, its standard output going
  // to file `output` and its standard error to `errors` (gRPC and Node.js
  // write warnings there).
  pid_t Spawn(std::vector<std::string> args, const Credentials& credentials,
              const std::string& output, const std::string& errors) {
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e) {
      if (!absl::StartsWith(*e, "CYCLE_CLAIMER_")) env.emplace_back(*e);
    }
    env.push_back(absl::StrCat("SERVER=", target()));
    env.push_back(absl::StrCat("NODE_CLIENT_DIR=", NODE_CLIENT_DIR));
    env.push_back(absl::StrCat("PYTHONPATH=", PYTHON_PATH));
    if (!credentials.token.empty()) {
      env.push_back(absl::StrCat("CYCLE_CLAIMER_TOKEN=", credentials.token));
    }
    for (const auto& [variable, file] :
         {std::pair{"CYCLE_CLAIMER_TLS_CA", credentials.ca},
          std::pair{"CYCLE_CLAIMER_TLS_CERT", credentials.cert},
          std::pair{"CYCLE_CLAIMER_TLS_KEY", credentials.key}}) {
      if (!file.empty())
        env.push_back(absl::StrCat(variable, "=", pki_.Path(file)));
    }
    std::vector<char*> argv, envp;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    for (std::string& var : env) envp.push_back(var.data());
    envp.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, output.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, 2, errors.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid = 0;
    EXPECT_EQ(
        posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data()),
        0);
    posix_spawn_file_actions_destroy(&actions);
    return pid;
  }

  // Runs the language's script (above) to its end; its standard output.
  std::string RunScript(const Credentials& credentials) {
    const std::string output =
        absl::StrCat(::testing::TempDir(), "/client-auth-", getpid(), ".out");
    const std::string errors =
        absl::StrCat(::testing::TempDir(), "/client-auth-", getpid(), ".err");
    const std::vector<std::string> args =
        GetParam() == Language::kNode
            ? std::vector<std::string>{NODE_EXECUTABLE, "-e", kNodeScript}
            : std::vector<std::string>{"/usr/bin/python3", "-c", kPythonScript};
    const pid_t pid = Spawn(args, credentials, output, errors);
    int status = 0;
    waitpid(pid, &status, 0);
    const std::string printed = Read(output);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << printed << Read(errors);
    return printed;
  }

  std::string OnlyCycle() {
    return db_.Scalar<std::string>(
        "SELECT status::text || ' ' || coalesce(total_net_profit_krw::text, "
        "'-') FROM arbitrage_cycles");
  }
  std::string OnlyCycleId() {
    return db_.Scalar<std::string>("SELECT id::text FROM arbitrage_cycles");
  }

  Pki pki_{"client-auth"};
};

INSTANTIATE_TEST_SUITE_P(Languages, ClientAuthTest,
                         ::testing::Values(Language::kNode, Language::kPython),
                         [](const ::testing::TestParamInfo<Language>& info) {
                           return Name(info.param);
                         });

TEST_P(ClientAuthTest, ATokenAndAClientCertificateClaimAndComplete) {
  InsertCycles(1);
  // A worker token may not read the cycle back through CycleAdminService.
  EXPECT_EQ(RunScript({}),
            absl::StrCat("completed ", OnlyCycleId(), "\nget error 7\n"));
  EXPECT_EQ(OnlyCycle(), "COMPLETED 7.5000");
}

TEST_P(ClientAuthTest, AnAdminTokenAlsoReachesTheAdminService) {
  InsertCycles(1);
  EXPECT_EQ(RunScript({.token = kAdminToken}),
            absl::StrCat("completed ", OnlyCycleId(), "\nget COMPLETED\n"));
}

TEST_P(ClientAuthTest, CallsWithoutAValidTokenAreUnauthenticated) {
  InsertCycles(1);
  EXPECT_EQ(RunScript({.token = ""}), "error 16\n");
  EXPECT_EQ(RunScript({.token = "not-a-token-of-this-server"}), "error 16\n");
  EXPECT_EQ(OnlyCycle(), "AWAITING_REBALANCE -");
}

TEST_P(ClientAuthTest, ClientsWithoutACertificateTheCaSignedAreRefused) {
  InsertCycles(1);
  EXPECT_EQ(RunScript({.cert = "", .key = ""}), "error 14\n");
  EXPECT_EQ(
      RunScript(
          {.token = kWorkerToken, .cert = "rogue.pem", .key = "rogue.key"}),
      "error 14\n");
  // Nor does a client that does not trust the server's CA talk to it.
  EXPECT_EQ(RunScript({.ca = "rogue_ca.pem"}), "error 14\n");
  EXPECT_EQ(OnlyCycle(), "AWAITING_REBALANCE -");
}

TEST_P(ClientAuthTest, TokensGoOverPlaintextToo) {
  Start(/*tls=*/false);
  InsertCycles(1);
  EXPECT_EQ(RunScript({.token = "", .ca = "", .cert = "", .key = ""}),
            "error 16\n");
  EXPECT_EQ(RunScript({.token = kAdminToken, .ca = "", .cert = "", .key = ""}),
            absl::StrCat("completed ", OnlyCycleId(), "\nget COMPLETED\n"));
}

TEST_P(ClientAuthTest, TheExampleFinalizerTakesItsTokenAndCertificateFromEnv) {
  constexpr int kCycles = 5;
  InsertCycles(kCycles);
  const std::string output =
      absl::StrCat(::testing::TempDir(), "/client-auth-finalizer-", getpid());
  const std::vector<std::string> args =
      GetParam() == Language::kNode
          ? std::vector<std::string>{NODE_EXECUTABLE, NODE_EXAMPLE_FINALIZER}
          : std::vector<std::string>{"/usr/bin/python3",
                                     PYTHON_EXAMPLE_FINALIZER};
  const std::string errors = output + ".err";
  const pid_t pid = Spawn(args, {}, output, errors);
  const auto completed = [&] {
    return db_.Scalar<int>(
        "SELECT count(*) FROM arbitrage_cycles WHERE status = 'COMPLETED'");
  };
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (completed() < kCycles && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_EQ(completed(), kCycles) << Read(output) << Read(errors);
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << Read(output) << Read(errors);
  EXPECT_TRUE(absl::StrContains(Read(output), "completed 5 cycles"))
      << Read(output);
}

}  // namespace
}  // namespace cycle_claimer::testing
