// TLS and mutual TLS handshakes, accepted and refused, with certificates
// made by openssl when the test runs.

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

#include "absl/strings/str_cat.h"
#include "tests/support/server_fixture.h"

namespace cycle_claimer::testing {
namespace {

std::string Read(const std::string& path) {
  std::ifstream file(path);
  return std::string(std::istreambuf_iterator<char>(file), {});
}

// A CA, a server certificate for 127.0.0.1 it signs, a client certificate it
// signs, and a client certificate from an unrelated CA.
class Pki {
 public:
  Pki() : dir_(absl::StrCat(::testing::TempDir(), "/pki-", getpid())) {
    const std::string ssl = "openssl";
    Run(absl::StrCat("rm -rf ", dir_, " && mkdir -p ", dir_));
    for (const std::string ca : {"ca", "rogue_ca"}) {
      Run(absl::StrCat(
          ssl, " req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=", ca,
          " -keyout ", dir_, "/", ca, ".key -out ", dir_, "/", ca, ".pem"));
    }
    Leaf("server", "ca", "subjectAltName=IP:127.0.0.1,DNS:localhost");
    Leaf("client", "ca", "extendedKeyUsage=clientAuth");
    Leaf("rogue", "rogue_ca", "extendedKeyUsage=clientAuth");
  }
  std::string Pem(const std::string& name) const {
    return Read(absl::StrCat(dir_, "/", name));
  }

 private:
  void Run(const std::string& command) {
    ASSERT_EQ(std::system((command + " >/dev/null 2>&1").c_str()), 0)
        << command;
  }
  void Leaf(const std::string& name, const std::string& ca,
            const std::string& extension) {
    const std::string base = absl::StrCat(dir_, "/", name);
    Run(absl::StrCat("openssl req -newkey rsa:2048 -nodes -subj /CN=", name,
                     " -keyout ", base, ".key -out ", base, ".csr"));
    std::ofstream(base + ".ext") << extension << '\n';
    Run(absl::StrCat("openssl x509 -req -in ", base, ".csr -CA ", dir_, "/", ca,
                     ".pem -CAkey ", dir_, "/", ca,
                     ".key -CAcreateserial -days 1 ", "-extfile ", base,
                     ".ext -out ", base, ".pem"));
  }
  std::string dir_;
};

class TlsTest : public ServerTest {
 protected:
  void SetUp() override {}  // each test starts its own server
  void Start(bool mutual) {
    ServerOptions options = DefaultOptions();
    options.plaintext = false;
    options.tls = TlsOptions{pki_.Pem("server.pem"), pki_.Pem("server.key"),
                             mutual ? pki_.Pem("ca.pem") : ""};
    StartServer(options);
  }
  absl::StatusCode ClaimCode(client::CycleClient client) {
    return client.Claim("tls").status().code();
  }
  Pki pki_;
};

TEST_F(TlsTest, TlsClientsTrustingTheCaAreServedPlaintextOnesAreNot) {
  Start(/*mutual=*/false);
  EXPECT_EQ(ClaimCode(client::CycleClient::Tls(target(), pki_.Pem("ca.pem"))),
            absl::StatusCode::kOk);
  EXPECT_EQ(
      ClaimCode(client::CycleClient::Insecure(target(), absl::Seconds(5))),
      absl::StatusCode::kUnavailable);
  // A client that does not trust the server's CA refuses the handshake.
  EXPECT_EQ(ClaimCode(client::CycleClient::Tls(
                target(), pki_.Pem("rogue_ca.pem"), "", "", absl::Seconds(5))),
            absl::StatusCode::kUnavailable);
}

TEST_F(TlsTest, MutualTlsRefusesClientsWithoutACertificateSignedByTheCa) {
  Start(/*mutual=*/true);
  EXPECT_EQ(ClaimCode(client::CycleClient::Tls(target(), pki_.Pem("ca.pem"),
                                               pki_.Pem("client.pem"),
                                               pki_.Pem("client.key"))),
            absl::StatusCode::kOk);
  EXPECT_EQ(ClaimCode(client::CycleClient::Tls(target(), pki_.Pem("ca.pem"), "",
                                               "", absl::Seconds(5))),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(ClaimCode(client::CycleClient::Tls(
                target(), pki_.Pem("ca.pem"), pki_.Pem("rogue.pem"),
                pki_.Pem("rogue.key"), absl::Seconds(5))),
            absl::StatusCode::kUnavailable);
}

TEST_F(TlsTest, NeitherTlsNorPlaintextIsRefusedAtStart) {
  ServerOptions options = DefaultOptions();
  options.plaintext = false;
  auto server = ClaimerServer::Start(options);
  EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace cycle_claimer::testing
