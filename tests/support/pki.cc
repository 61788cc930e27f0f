#include "tests/support/pki.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "absl/strings/str_cat.h"

namespace cycle_claimer::testing {

Pki::Pki(const std::string& label)
    : dir_(absl::StrCat(::testing::TempDir(), "/", label, "-pki-", getpid())) {
  Run(absl::StrCat("rm -rf ", dir_, " && mkdir -p ", dir_));
  for (const std::string ca : {"ca", "rogue_ca"}) {
    Run(absl::StrCat(
        "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=", ca,
        " -keyout ", Path(ca), ".key -out ", Path(ca), ".pem"));
  }
  Leaf("server", "ca", "subjectAltName=IP:127.0.0.1,DNS:localhost");
  Leaf("client", "ca", "extendedKeyUsage=clientAuth");
  Leaf("rogue", "rogue_ca", "extendedKeyUsage=clientAuth");
}

std::string Pki::Path(const std::string& name) const {
  return absl::StrCat(dir_, "/", name);
}

std::string Pki::Pem(const std::string& name) const {
  std::ifstream file(Path(name));
  return std::string(std::istreambuf_iterator<char>(file), {});
}

void Pki::Run(const std::string& command) {
  ASSERT_EQ(std::system((command + " >/dev/null 2>&1").c_str()), 0) << command;
}

void Pki::Leaf(const std::string& name, const std::string& ca,
               const std::string& extension) {
  const std::string base = Path(name);
  Run(absl::StrCat("openssl req -newkey rsa:2048 -nodes -subj /CN=", name,
                   " -keyout ", base, ".key -out ", base, ".csr"));
  std::ofstream(base + ".ext") << extension << '\n';
  Run(absl::StrCat("openssl x509 -req -in ", base, ".csr -CA ", Path(ca),
                   ".pem -CAkey ", Path(ca), ".key -CAcreateserial -days 1 ",
                   "-extfile ", base, ".ext -out ", base, ".pem"));
}

}  // namespace cycle_claimer::testing
