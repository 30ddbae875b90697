#include "e2e/mysql/mysql_gate_fixture.h"

#include <exception>
#include <iostream>
#include <utility>

namespace tlsgate::e2e::mysql {

namespace fs = std::filesystem;

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
  ASSERT_TRUE(suite_server().server) << "MariaDB did not start: " << suite_server().start_error;
  GateTest::SetUp();
  if (HasFatalFailure()) return;
  auto client = test::make_leaf(ca_, {"app1"}, false, true);
  test::write_cert(dir_ / "app1.crt", client.cert.get());
  test::write_key(dir_ / "app1.key", client.key.get());
  conf_.set("server.log_level", "debug")
      .set("server.shutdown_timeout", "1")
      .set("ssl.policy.my.enabled", "true")
      .set("ssl.policy.my.client_auth", "NONE")
      .set("connector.my.listen_address", "127.0.0.1:" + std::to_string(gate_port_))
      .set("connector.my.upstream_address", "127.0.0.1:" + std::to_string(server().port()))
      .set("connector.my.protocol", "mysql")
      .set("connector.my.tls_level", "REQUIRED");
}

void MysqlGateFixture::TearDown() {
  GateTest::TearDown();
  if (HasFailure() && suite_server().server) std::cerr << server().error_log() << "--- end ---\n";
}

void MysqlGateFixture::use_user_map() {
  test::write_text(dir_ / "users.map", "# identity (CN) -> MariaDB user\napp1 app1\n");
  conf_["ssl.policy.my.client_auth"] = "OPTIONAL";
  conf_["ssl.policy.my.identity_from"] = "cn";
  conf_["connector.my.user_map"] = "users.map";
}

void MysqlGateFixture::use_upstream_tls(const test::TestCa& ca) {
  fs::create_directories(dir_ / "certificates" / "up" / "trusted");
  test::write_cert(dir_ / "certificates" / "up" / "trusted" / "ca.crt", ca.ca.cert.get());
  conf_["ssl.policy.up.enabled"] = "true";
  conf_["connector.my.upstream_ssl_policy"] = "up";
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
