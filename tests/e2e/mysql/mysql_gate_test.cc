// Stock MariaDB clients (mariadb, mariadb-slap, openssl s_client -starttls
// mysql) through `tlsgate serve` (protocol=mysql) to a real MariaDB server
// with TLS switched off, all on 127.0.0.1. One server serves the test
// process (its data directory comes from a template kept in the build tree,
// see mariadb_server.h); each test mints its certificates and starts its own
// gate (mysql_gate_fixture.h). A backend with TLS on: mysql_upstream_tls_test.cc.
#include <string>

#include <gtest/gtest.h>

#include "e2e/mysql/mysql_gate_fixture.h"
#include "pki/encode.h"
#include "support/loopback.h"
#include "support/process.h"
#include "support/test_pki.h"

namespace tlsgate::e2e::mysql {
namespace {

namespace fs = std::filesystem;
using test::Millis;

SuiteServer& plain_server() {
  static SuiteServer s;
  return s;
}

class MysqlGate : public MysqlGateFixture {
 protected:
  static void SetUpTestSuite() { plain_server().start(); }
  static void TearDownTestSuite() { plain_server().stop(); }
  SuiteServer& suite_server() const override { return plain_server(); }
};

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

// PROXY v2 to a backend that reads it (MariaDB's proxy_protocol_networks):
// the header goes out once, before the greeting, and never again when the
// session starts relaying (a second one reached the server as a command:
// "Got packets out of order"). Unread, the header would break the login.
TEST_F(MysqlGate, ProxyProtocolHeaderReachesTheBackendOnce) {
  int rc = 0;
  auto out = server().root_sql("SET GLOBAL proxy_protocol_networks='127.0.0.0/8'", &rc);
  ASSERT_EQ(rc, 0) << out;
  conf_["connector.my.proxy_protocol"] = "v2";
  start_gate();
  auto r = mariadb(verified_tls() + " " + app1(), std::string(kAnswer) + "; SELECT 'again'");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out, "answer 42\nagain\n");
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

TEST_F(MysqlGate, BackendDownGivesTheClientAnError) {
  conf_["connector.my.upstream_address"] =
      "127.0.0.1:" + std::to_string(test::free_loopback_port());
  start_gate();
  auto r = mariadb(verified_tls() + " " + app1(), kAnswer);
  EXPECT_NE(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("tlsgate: the database server is unavailable; the gate's log says why"),
            std::string::npos)
      << r.out;
  EXPECT_TRUE(gate_->wait_for_log("cannot connect to backend 127.0.0.1:")) << gate_->log();
}

TEST_F(MysqlGate, UpstreamTlsToABackendWithoutTlsIsRefused) {
  use_upstream_tls(ca_);
  start_gate();
  auto r = mariadb(verified_tls() + " " + app1(), kAnswer);
  EXPECT_NE(r.code, 0) << r.out;
  // The refusal takes the greeting's place, before the client's TLS handshake:
  // the client shows it, but flags it as unauthenticated.
  EXPECT_NE(r.out.find("ERROR 2002 (HY000): Received error packet before completion of TLS "
                       "handshake. The authenticity of the following error cannot be verified: "
                       "1043 - tlsgate: the backend does not offer TLS"),
            std::string::npos)
      << r.out;
  EXPECT_TRUE(gate_->wait_for_log("backend does not offer TLS (no CLIENT_SSL in its greeting)"))
      << gate_->log();
}

}  // namespace
}  // namespace tlsgate::e2e::mysql
