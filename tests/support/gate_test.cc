#include "support/gate_test.h"

#include <cstdlib>
#include <iostream>
#include <utility>

#include "support/loopback.h"

namespace tlsgate::test {

namespace fs = std::filesystem;

GateTest::GateTest(std::string ca_name, fs::path policy_folder)
    : ca_name_(std::move(ca_name)), policy_folder_(std::move(policy_folder)) {}

void GateTest::SetUp() {
  ASSERT_FALSE(GateProcess::binary().empty()) << "TLSGATE_BIN is not set (run through ctest)";
  ASSERT_TRUE(fs::exists(GateProcess::binary())) << GateProcess::binary();
  dir_ = fs::canonical(tmp_.path());
  ca_ = make_test_ca(ca_name_);
  ca_file_ = dir_ / "ca.crt";
  write_cert(ca_file_, ca_.ca.cert.get());
  policy_dir_ = dir_ / policy_folder_;
  fs::create_directories(policy_dir_ / "trusted");
  write_cert(policy_dir_ / "trusted" / "ca.crt", ca_.ca.cert.get());
  install_gate_certificate({"localhost", "127.0.0.1"});
  gate_port_ = free_loopback_port();
}

void GateTest::TearDown() {
  if (gate_ && (HasFailure() || std::getenv("GATE_TEST_SHOW_LOG") != nullptr)) {  // NOLINT
    std::cerr << gate_->report();
  }
}

void GateTest::enable_admin(const fs::path& client_dir, const std::vector<std::string>& clients) {
  const auto admin_dir = dir_ / "certs" / "admin";
  fs::create_directories(admin_dir / "trusted");
  write_cert(admin_dir / "trusted" / "ca.crt", ca_.ca.cert.get());
  auto admin_cert = make_leaf(ca_, {"127.0.0.1", "localhost"});
  write_cert(admin_dir / "public.crt", admin_cert.cert.get());
  write_key(admin_dir / "private.key", admin_cert.key.get());
  fs::create_directories(client_dir);
  for (const auto& who : clients) {
    auto c = make_leaf(ca_, {who}, false, true);
    write_cert(client_dir / (who + ".crt"), c.cert.get());
    write_key(client_dir / (who + ".key"), c.key.get());
  }
  admin_port_ = free_loopback_port();
  metrics_port_ = free_loopback_port();
  conf_.set("ssl.policy.admin.enabled", "true")
      .set("ssl.policy.admin.base_directory", "certs/admin")
      .set("ssl.policy.admin.client_auth", "REQUIRE")
      .set("ssl.policy.admin.identity_from", "cn")
      .set("admin.enabled", "true")
      .set("admin.listen_address", "127.0.0.1:" + std::to_string(admin_port_))
      .set("admin.metrics_address", "127.0.0.1:" + std::to_string(metrics_port_))
      .set("admin.allowed_identities", "ops")
      .set("admin.read_only_identities", "viewer");
}

void GateTest::install_gate_certificate(const std::vector<std::string>& names) {
  gate_cert_ = make_leaf(ca_, names, true, false);
  write_cert(policy_dir_ / "public.crt", gate_cert_.cert.get());
  write_key(policy_dir_ / "private.key", gate_cert_.key.get());
}

void GateTest::start_gate() {
  gate_ = std::make_unique<GateProcess>(dir_, conf_.text());
  auto err = gate_->wait_serving(gate_port_);
  ASSERT_EQ(err, "") << err;
}

std::string GateTest::log() const { return gate_ ? gate_->log() : std::string(); }

}  // namespace tlsgate::test
