#pragma once

#include <string>

namespace cycle_claimer::testing {

// Certificates made by openssl when a test runs, in a folder of the test's
// own: a CA ("ca"), a server certificate it signs for 127.0.0.1 and
// localhost ("server"), a client certificate it signs ("client"), and a
// client certificate from an unrelated CA ("rogue", signed by "rogue_ca").
// Each name has <name>.pem and <name>.key. Failures are test failures.
class Pki {
 public:
  // `label` names the folder (several Pkis may live in one test binary).
  explicit Pki(const std::string& label);

  // Path of file `name` ("ca.pem", "client.key", ...).
  std::string Path(const std::string& name) const;
  // Its contents.
  std::string Pem(const std::string& name) const;

 private:
  void Run(const std::string& command);
  void Leaf(const std::string& name, const std::string& ca,
            const std::string& extension);

  std::string dir_;
};

}  // namespace cycle_claimer::testing
