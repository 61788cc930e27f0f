// TLS and mutual TLS handshakes, accepted and refused, with certificates
// made by openssl when the test runs.

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

#include "absl/strings/str_cat.h"
#include "tests/support/pki.h"
#include "tests/support/server_fixture.h"

namespace cycle_claimer::testing {
namespace {


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
  Pki pki_{"tls"};
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
