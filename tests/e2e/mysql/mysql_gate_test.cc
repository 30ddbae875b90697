// Stock MariaDB clients (mariadb, mariadb-slap, openssl s_client -starttls
// mysql) through `tlsgate serve` (protocol=mysql) to a real MariaDB server
// with TLS switched off, all on 127.0.0.1. One server serves the test
// process (its data directory comes from a template kept in the build tree,
// see mariadb_server.h); each test mints its certificates and starts its own
// gate.
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "e2e/mysql/mariadb_server.h"
#include "pki/encode.h"
#include "support/gate_process.h"
#include "support/process.h"
#include "support/temp_dir.h"
#include "support/test_pki.h"

namespace tlsgate::e2e::mysql {
namespace {

namespace fs = std::filesystem;
using test::Millis;

std::string q(const fs::path& p) { return test::shell_quote(p.string()); }

struct ClientRun {
  int code = -1;
  std::string out;  // stdout and stderr
};

// The server every test in this process uses: SetUpTestSuite starts it,
// TearDownTestSuite stops it (gtest runs both, and the tests, on one thread).
struct SharedServer {
  std::unique_ptr<MariadbServer> server;
  std::string start_error;  // why it did not start
};

SharedServer& shared() {
  static SharedServer s;
  return s;
}

class MysqlGate : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!MariadbServer::installed()) return;  // every test skips
    try {
      // The template data directory lives next to this binary, in the build tree.
      shared().server = std::make_unique<MariadbServer>(
          fs::read_symlink("/proc/self/exe").parent_path() / "mariadb-template");
    } catch (const std::exception& e) {
      shared().start_error = e.what();
    }
  }
  static void TearDownTestSuite() { shared().server.reset(); }

  void SetUp() override {
    if (!MariadbServer::installed())
      GTEST_SKIP() << "MariaDB server or client not installed (scripts/install-deps.sh test)";
    ASSERT_FALSE(test::GateProcess::binary().empty())
        << "TLSGATE_BIN is not set (run through ctest)";
    ASSERT_TRUE(shared().server) << "MariaDB did not start: " << shared().start_error;
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

  void TearDown() override {
    if (gate_ && (HasFailure() || std::getenv("GATE_TEST_SHOW_LOG") != nullptr)) {  // NOLINT
      std::cerr << "--- " << gate_->config_file() << " ---\n"
                << config_text() << "--- gate log ---\n"
                << gate_->log() << "--- end ---\n";
    }
    if (HasFailure() && shared().server) std::cerr << server().error_log() << "--- end ---\n";
  }

  // Clients log in only as the MariaDB user their certificate's CN maps to.
  void use_user_map() {
    test::write_text(dir_ / "users.map", "# identity (CN) -> MariaDB user\napp1 app1\n");
    conf_["ssl.policy.my.client_auth"] = "OPTIONAL";
    conf_["ssl.policy.my.identity_from"] = "cn";
    conf_["connector.my.user_map"] = "users.map";
  }

  // The gate's own certificate and key, issued by ca_ for `names`.
  void install_gate_certificate(const std::vector<std::string>& names) {
    gate_cert_ = test::make_leaf(ca_, names, true, false);
    test::write_cert(policy_dir_ / "public.crt", gate_cert_.cert.get());
    test::write_key(policy_dir_ / "private.key", gate_cert_.key.get());
  }

  std::string config_text() const {
    std::string out;
    for (const auto& [k, v] : conf_) out.append(k).append("=").append(v).append("\n");
    return out;
  }

  // Starts the gate with conf_ and waits until it serves (fatal on failure).
  void start_gate() {
    gate_ = std::make_unique<test::GateProcess>(dir_, config_text());
    auto err = gate_->wait_listening(gate_port_);
    ASSERT_EQ(err, "") << err;
    ASSERT_TRUE(gate_->wait_for_log("tlsgate serving", Millis(10000))) << gate_->log();
  }

  // The mariadb client options that insist on TLS and verify the gate's
  // certificate, host name (IP SAN 127.0.0.1) included.
  std::string verified_tls(const fs::path& ca) const {
    return "--ssl --ssl-ca=" + q(ca) + " --ssl-verify-server-cert";
  }
  std::string verified_tls() const { return verified_tls(ca_file_); }
  std::string client_cert() const {
    return "--ssl-cert=" + q(dir_ / "app1.crt") + " --ssl-key=" + q(dir_ / "app1.key");
  }

  // `mariadb OPTIONS -e SQL` against the gate, output without column names.
  ClientRun mariadb(const std::string& options, const std::string& sql) const {
    ClientRun r;
    r.out =
        test::run_command("timeout 30 mariadb --no-defaults --connect-timeout=10 -h 127.0.0.1 -P " +
                              std::to_string(gate_port_) + " " + options + " -N -B -e " +
                              test::shell_quote(sql) + " 2>&1",
                          &r.code);
    return r;
  }
  // The suite's server (SetUp made sure it runs).
  static MariadbServer& server() { return *shared().server; }
  static std::string app1() { return std::string("-u app1 -p") + kApp1Password; }

  test::TempDir tmp_;
  fs::path dir_;
  test::TestCa ca_;
  fs::path ca_file_;
  fs::path policy_dir_;
  pki::Issued gate_cert_;
  int gate_port_ = 0;
  std::map<std::string, std::string> conf_;
  std::unique_ptr<test::GateProcess> gate_;
};

constexpr char kAnswer[] = "SELECT CONCAT('answer ', 6*7)";

TEST_F(MysqlGate, VerifiedTlsLoginThroughTheGate) {
  start_gate();
  auto r = mariadb(verified_tls() + " " + app1(), kAnswer);
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out, "answer 42\n");
  // A default database in the HandshakeResponse (CLIENT_CONNECT_WITH_DB).
  r = mariadb(verified_tls() + " " + app1() + " -D " + kDatabase,
              "SELECT name FROM items ORDER BY id");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out, "apple\npear\n");
  // TLS ends at the gate: the backend itself serves this session in plaintext.
  r = mariadb(verified_tls() + " " + app1(), "SHOW SESSION STATUS LIKE 'Ssl_cipher'");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out, "Ssl_cipher\t\n");
}

TEST_F(MysqlGate, WrongCaFailsVerification) {
  start_gate();
  auto other = test::make_test_ca("some other CA");
  test::write_cert(dir_ / "other-ca.crt", other.ca.cert.get());
  auto r = mariadb(verified_tls(dir_ / "other-ca.crt") + " " + app1(), kAnswer);
  EXPECT_NE(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("ERROR 2026"), std::string::npos) << r.out;  // CR_SSL_CONNECTION_ERROR
  EXPECT_NE(r.out.find("unable to get local issuer certificate"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("answer 42"), std::string::npos) << r.out;
  EXPECT_TRUE(gate_->wait_for_log("the client does not trust our certificate")) << gate_->log();
}

TEST_F(MysqlGate, ServerNameIsCheckedAgainstTheCertificate) {
  install_gate_certificate({"db.example.test"});  // no IP SAN 127.0.0.1
  start_gate();
  auto r = mariadb(verified_tls() + " " + app1(), kAnswer);
  EXPECT_NE(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("ERROR 2026"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Validation of SSL server certificate failed"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("answer 42"), std::string::npos) << r.out;
  // The same certificate passes when the client does not check the name.
  r = mariadb("--ssl --ssl-ca=" + q(ca_file_) + " " + app1(), kAnswer);
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out, "answer 42\n");
}

TEST_F(MysqlGate, GatePresentsItsCertificateOverStarttls) {
  start_gate();
  // A real client's session is TLS, as the gate logs it.
  auto r = mariadb(verified_tls() + " " + app1(), kAnswer);
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(gate_->wait_for_log("TLS handshake done: TLSv1.3")) << gate_->log();

  // OpenSSL's own MySQL STARTTLS sees our certificate, verified for 127.0.0.1.
  int rc = -1;
  auto out = test::run_command("timeout 15 openssl s_client -starttls mysql -connect 127.0.0.1:" +
                                   std::to_string(gate_port_) + " -CAfile " + q(ca_file_) +
                                   " -verify_return_error -verify_ip 127.0.0.1 </dev/null 2>&1",
                               &rc);
  EXPECT_EQ(rc, 0) << out;
  auto pem = pki::certificate_pem(gate_cert_.cert.get());
  ASSERT_TRUE(pem.has_value());
  EXPECT_NE(out.find(*pem), std::string::npos) << "the gate did not present our certificate:\n"
                                               << out;
  EXPECT_NE(out.find("Verify return code: 0 (ok)"), std::string::npos) << out;
}

TEST_F(MysqlGate, Ed25519LoginThroughTheGate) {
  start_gate();
  auto r = mariadb(verified_tls() + " -u ed -p" + kEdPassword, "SELECT CURRENT_USER()");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out, "ed@%\n");
  r = mariadb(verified_tls() + " -u ed -pnot-the-password", "SELECT CURRENT_USER()");
  EXPECT_NE(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("Access denied for user 'ed'"), std::string::npos) << r.out;
}

TEST_F(MysqlGate, PlaintextClientIsRefusedUnderRequired) {
  start_gate();
  auto r = mariadb("--skip-ssl " + app1(), kAnswer);
  EXPECT_NE(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("ERROR 3159"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("tlsgate: connections using insecure transport are prohibited"),
            std::string::npos)
      << r.out;
}

TEST_F(MysqlGate, OptionalLetsPlaintextThrough) {
  conf_["connector.my.tls_level"] = "OPTIONAL";
  start_gate();
  auto r = mariadb("--skip-ssl " + app1(), kAnswer);
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out, "answer 42\n");
  r = mariadb(verified_tls() + " " + app1(), kAnswer);
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out, "answer 42\n");
}

TEST_F(MysqlGate, ClientCertificateRequired) {
  conf_["ssl.policy.my.client_auth"] = "REQUIRE";
  start_gate();
  auto r = mariadb(verified_tls() + " " + client_cert() + " " + app1(), kAnswer);
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out, "answer 42\n");
  r = mariadb(verified_tls() + " " + app1(), kAnswer);
  EXPECT_NE(r.code, 0) << r.out;
  EXPECT_EQ(r.out.find("answer 42"), std::string::npos) << r.out;
  EXPECT_TRUE(gate_->wait_for_log("sent no certificate")) << gate_->log();
}

TEST_F(MysqlGate, UserMapLetsAMappedUserIn) {
  use_user_map();
  start_gate();
  auto r = mariadb(verified_tls() + " " + client_cert() + " " + app1(), kAnswer);
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out, "answer 42\n");
}

TEST_F(MysqlGate, UserMapRefusesAnUnmappedUserBeforeTheBackend) {
  use_user_map();
  start_gate();
  // admin1's own valid password does not help: the map says no.
  auto r =
      mariadb(verified_tls() + " " + client_cert() + " -u admin1 -p" + kAdmin1Password, kAnswer);
  EXPECT_NE(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("ERROR 1045"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("may not log in as admin1"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("answer 42"), std::string::npos) << r.out;

  // The backend never sees the attempt: a wrong password would count there.
  long long denied_before = server().global_status("Access_denied_errors");
  ASSERT_GE(denied_before, 0);
  r = mariadb(verified_tls() + " " + client_cert() + " -u admin1 -pnot-the-password", kAnswer);
  EXPECT_NE(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("may not log in as admin1"), std::string::npos) << r.out;
  EXPECT_EQ(server().global_status("Access_denied_errors"), denied_before);

  // No certificate, no identity: no user at all.
  r = mariadb(verified_tls() + " " + app1(), kAnswer);
  EXPECT_NE(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("ERROR 1045"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("may not log in as app1"), std::string::npos) << r.out;
}

TEST_F(MysqlGate, ManyConcurrentClientsThroughTheGate) {
  start_gate();
  int rc = -1;
  auto out = test::run_command(
      "timeout 60 mariadb-slap --no-defaults -h 127.0.0.1 -P " + std::to_string(gate_port_) + " " +
          verified_tls() + " " + app1() + " --create-schema=" + kDatabase +
          " --concurrency=8 --iterations=2 --number-of-queries=1000 --query='SELECT 1' 2>&1",
      &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("Number of clients running queries: 8"), std::string::npos) << out;
  EXPECT_NE(out.find("Average number of queries per client: 125"), std::string::npos) << out;
  EXPECT_EQ(out.find("rror"), std::string::npos) << out;
}

TEST_F(MysqlGate, BackendRefusalReachesTheClient) {
  start_gate();
  long long denied_before = server().global_status("Access_denied_errors");
  ASSERT_GE(denied_before, 0);
  auto r = mariadb(verified_tls() + " -u app1 -pnot-the-password", kAnswer);
  EXPECT_NE(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("ERROR 1045 (28000): Access denied for user 'app1'@'127.0.0.1' (using "
                       "password: YES)"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(server().global_status("Access_denied_errors"), denied_before + 1);
}

}  // namespace
}  // namespace tlsgate::e2e::mysql
