// GateTest: what every fixture that runs `tlsgate serve` in front of a
// backend shares (e2e/gate, e2e/mysql).
//
// SetUp checks the binary under test, makes a canonical temp folder dir_,
// mints a CA (ca_, also in ca_file_), lays out the policy folder policy_dir_
// (trusted/ca.crt, and a server certificate for localhost and 127.0.0.1) and
// picks gate_port_. A test fills conf_ and calls start_gate(). TearDown
// prints the config and the gate's log when the test failed (or always with
// GATE_TEST_SHOW_LOG=1). One test thread; nothing here is thread-safe.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "pki/issuer.h"
#include "support/gate_process.h"
#include "support/temp_dir.h"
#include "support/test_pki.h"

namespace tlsgate::test {

class GateTest : public ::testing::Test {
 protected:
  // ca_name: the test CA's CN; policy_folder: the gate's policy folder,
  // relative to dir_.
  GateTest(std::string ca_name, std::filesystem::path policy_folder);

  void SetUp() override;
  void TearDown() override;

  // The gate's own certificate and key, issued by ca_ for `names`.
  void install_gate_certificate(const std::vector<std::string>& names);
  // An admin listener in conf_: policy `admin` (certs/admin, its certificate
  // for 127.0.0.1 and localhost, client certificates required, identity
  // from the CN) on admin_port_, plaintext /metrics on metrics_port_;
  // allowed_identities ops, read_only_identities viewer. A client
  // certificate for each of `clients` in `client_dir` (NAME.crt, NAME.key).
  void enable_admin(const std::filesystem::path& client_dir,
                    const std::vector<std::string>& clients);
  // Starts the gate with conf_ and waits until it serves (fatal on failure).
  void start_gate();
  // The gate's log so far ("" before start_gate()).
  std::string log() const;

  TempDir tmp_;
  std::filesystem::path dir_;
  TestCa ca_;
  std::filesystem::path ca_file_;
  std::filesystem::path policy_dir_;
  pki::Issued gate_cert_;
  int gate_port_ = 0;
  int admin_port_ = 0, metrics_port_ = 0;  // after enable_admin()
  GateConfig conf_;
  std::unique_ptr<GateProcess> gate_;

 private:
  std::string ca_name_;
  std::filesystem::path policy_folder_;
};

}  // namespace tlsgate::test
