#include "e2e/mysql/mysql_gate_fixture.h"

#include <cstdlib>
#include <exception>
#include <iostream>
#include <utility>

#include "support/process.h"

namespace tlsgate::e2e::mysql {

namespace fs = std::filesystem;
using test::Millis;

std::string q(const fs::path& p) { return test::shell_quote(p.string()); }

void SuiteServer::start(std::optional<MariadbServer::TlsFiles> tls) {
  if (!MariadbServer::installed()) return;  // every test skips
  try {
    // The template data directory lives next to the test binary, in the build tree.
    server = std::make_unique<MariadbServer>(
        fs::read_symlink("/proc/self/exe").parent_path() / "mariadb-template", std::move(tls));
  } catch (const std::exception& e) {
    start_error = e.what();
  }
}

void MysqlGateFixture::SetUp() {
  if (!MariadbServer::installed())
    GTEST_SKIP() << "MariaDB server or client not installed (scripts/install-deps.sh test)";
  ASSERT_FALSE(test::GateProcess::binary().empty()) << "TLSGATE_BIN is not set (run through ctest)";
  ASSERT_TRUE(suite_server().server) << "MariaDB did not start: " << suite_server().start_error;
  dir_ = fs::canonical(tmp_.path());
  ca_ = test::make_test_ca("MySQL gate test CA");
  ca_file_ = dir_ / "ca.crt";
  test::write_cert(ca_file_, ca_.ca.cert.get());
  policy_dir_ = dir_ / "certificates" / "my";
  fs::create_directories(policy_dir_ / "trusted");
  install_gate_certificate({"localhost", "127.0.0.1"});
  test::write_cert(policy_dir_ / "trusted" / "ca.crt", ca_.ca.cert.get());
  auto client = test::make_leaf(ca_, {"app1"}, false, true);
  test::write_cert(dir_ / "app1.crt", client.cert.get());
  test::write_key(dir_ / "app1.key", client.key.get());

  gate_port_ = test::free_loopback_port();
  conf_ = {
      {"server.log_level", "debug"},
      {"server.shutdown_timeout", "1"},
      {"ssl.policy.my.enabled", "true"},
      {"ssl.policy.my.client_auth", "NONE"},
      {"connector.my.listen_address", "127.0.0.1:" + std::to_string(gate_port_)},
      {"connector.my.upstream_address", "127.0.0.1:" + std::to_string(server().port())},
      {"connector.my.protocol", "mysql"},
      {"connector.my.tls_level", "REQUIRED"},
  };
}

void MysqlGateFixture::TearDown() {
  if (gate_ && (HasFailure() || std::getenv("GATE_TEST_SHOW_LOG") != nullptr)) {  // NOLINT
    std::cerr << "--- " << gate_->config_file() << " ---\n"
              << config_text() << "--- gate log ---\n"
              << gate_->log() << "--- end ---\n";
  }
  if (HasFailure() && suite_server().server) std::cerr << server().error_log() << "--- end ---\n";
}

void MysqlGateFixture::use_user_map() {
  test::write_text(dir_ / "users.map", "# identity (CN) -> MariaDB user\napp1 app1\n");
  conf_["ssl.policy.my.client_auth"] = "OPTIONAL";
  conf_["ssl.policy.my.identity_from"] = "cn";
  conf_["connector.my.user_map"] = "users.map";
}

void MysqlGateFixture::install_gate_certificate(const std::vector<std::string>& names) {
  gate_cert_ = test::make_leaf(ca_, names, true, false);
  test::write_cert(policy_dir_ / "public.crt", gate_cert_.cert.get());
  test::write_key(policy_dir_ / "private.key", gate_cert_.key.get());
}

std::string MysqlGateFixture::config_text() const {
  std::string out;
  for (const auto& [k, v] : conf_) out.append(k).append("=").append(v).append("\n");
  return out;
}

void MysqlGateFixture::start_gate() {
  gate_ = std::make_unique<test::GateProcess>(dir_, config_text());
  auto err = gate_->wait_listening(gate_port_);
  ASSERT_EQ(err, "") << err;
  ASSERT_TRUE(gate_->wait_for_log("tlsgate serving", Millis(10000))) << gate_->log();
}

std::string MysqlGateFixture::verified_tls(const fs::path& ca) const {
  return "--ssl --ssl-ca=" + q(ca) + " --ssl-verify-server-cert";
}

std::string MysqlGateFixture::client_cert() const {
  return "--ssl-cert=" + q(dir_ / "app1.crt") + " --ssl-key=" + q(dir_ / "app1.key");
}

ClientRun MysqlGateFixture::mariadb(const std::string& options, const std::string& sql) const {
  ClientRun r;
  r.out =
      test::run_command("timeout 30 mariadb --no-defaults --connect-timeout=10 -h 127.0.0.1 -P " +
                            std::to_string(gate_port_) + " " + options + " -N -B -e " +
                            test::shell_quote(sql) + " 2>&1",
                        &r.code);
  return r;
}

std::string MysqlGateFixture::app1() { return std::string("-u app1 -p") + kApp1Password; }

}  // namespace tlsgate::e2e::mysql
