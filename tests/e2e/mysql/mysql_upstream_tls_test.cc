// A MariaDB backend with TLS on, and a gate with
// connector.my.upstream_ssl_policy: the gate sends the backend its own SSL
// Request, verifies the backend's certificate (IP SAN 127.0.0.1, issued by a
// CA minted for the suite) and logs in inside that TLS. The backend's own
// Ssl_cipher shows which link it is on. One TLS-on server serves the test
// process; the TLS-off server of mysql_gate_test.cc is not started here.
#include <exception>
#include <memory>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "e2e/mysql/mysql_gate_fixture.h"
#include "support/process.h"
#include "support/temp_dir.h"
#include "support/test_pki.h"

namespace tlsgate::e2e::mysql {
namespace {

namespace fs = std::filesystem;
using ::testing::MatchesRegex;

constexpr char kSslOnlyPassword[] = "sslonly-secret";

// The backend's certificate material (it must outlive the server) and its server.
struct TlsBackend {
  std::unique_ptr<test::TempDir> dir;
  test::TestCa ca;  // issued the backend's certificate
  SuiteServer server;
};

TlsBackend& tls_backend() {
  static TlsBackend b;
  return b;
}

// What the backend says about the session, then the user it logged in.
constexpr char kBackendView[] =
    "SHOW SESSION STATUS LIKE 'Ssl_version'; SHOW SESSION STATUS LIKE 'Ssl_cipher'; "
    "SELECT CURRENT_USER()";

// kBackendView's output for `user` on a TLS 1.3 link to the backend.
std::string on_backend_tls(const std::string& user) {
  return "Ssl_version\tTLSv1\\.3\nSsl_cipher\tTLS_[A-Z0-9_]+\n" + user + "@%\n";
}

class MysqlTlsBackend : public MysqlGateFixture {
 protected:
  static void SetUpTestSuite() {
    auto& b = tls_backend();
    if (!MariadbServer::installed()) return;  // every test skips
    try {
      b.dir = std::make_unique<test::TempDir>();
      b.ca = test::make_test_ca("MariaDB backend CA");
      auto leaf = test::make_leaf(b.ca, {"127.0.0.1"}, true, false);
      MariadbServer::TlsFiles files{.cert = b.dir->path() / "server.crt",
                                    .key = b.dir->path() / "server.key",
                                    .ca = b.dir->path() / "ca.crt"};
      test::write_cert(files.cert, leaf.cert.get());
      test::write_key(files.key, leaf.key.get());
      test::write_cert(files.ca, b.ca.ca.cert.get());
      b.server.start(files);
    } catch (const std::exception& e) {
      b.server.start_error = e.what();
    }
  }
  static void TearDownTestSuite() {
    tls_backend().server.stop();
    tls_backend().dir.reset();
  }
  SuiteServer& suite_server() const override { return tls_backend().server; }

  static const test::TestCa& backend_ca() { return tls_backend().ca; }
  std::string backend_address() const { return "127.0.0.1:" + std::to_string(server().port()); }

  // A user the backend admits only over TLS (REQUIRE SSL), made for this test.
  void create_ssl_only_user() {
    int rc = -1;
    auto out = server().root_sql(std::string("CREATE OR REPLACE USER sslonly@'%' IDENTIFIED BY '") +
                                     kSslOnlyPassword + "' REQUIRE SSL; GRANT ALL ON " + kDatabase +
                                     ".* TO sslonly@'%'",
                                 &rc);
    ASSERT_EQ(rc, 0) << out;
  }
  static std::string ssl_only() { return std::string("-u sslonly -p") + kSslOnlyPassword; }
};

TEST_F(MysqlTlsBackend, NativePasswordLoginOverTheGatesOwnTlsToTheBackend) {
  use_upstream_tls(backend_ca());
  start_gate();
  auto r = mariadb(verified_tls() + " " + app1(), kBackendView);
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_THAT(r.out, MatchesRegex(on_backend_tls("app1")));
  r = mariadb(verified_tls() + " " + app1() + " -D " + kDatabase,
              "SELECT name FROM items ORDER BY id");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out, "apple\npear\n");
}

TEST_F(MysqlTlsBackend, Ed25519LoginOverTheGatesOwnTlsToTheBackend) {
  use_upstream_tls(backend_ca());
  start_gate();
  // ed25519 is an auth switch after the HandshakeResponse: more packets inside the backend's TLS.
  auto r = mariadb(verified_tls() + " -u ed -p" + kEdPassword + " -D " + kDatabase,
                   std::string(kBackendView) + "; SELECT COUNT(*) FROM items");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_THAT(r.out, MatchesRegex(on_backend_tls("ed") + "2\n"));
  r = mariadb(verified_tls() + " -u ed -pnot-the-password", kAnswer);
  EXPECT_NE(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("ERROR 1045 (28000): Access denied for user 'ed'@'127.0.0.1'"),
            std::string::npos)
      << r.out;
}

TEST_F(MysqlTlsBackend, BackendCertificateIsVerified) {
  auto other = test::make_test_ca("not the backend's CA");
  use_upstream_tls(other);
  start_gate();
  auto r = mariadb(verified_tls() + " " + app1(), kAnswer);
  EXPECT_NE(r.code, 0) << r.out;
  // The gate closes the client's TLS without a MySQL error packet; the
  // client reports a TLS error (ERROR 2026), the gate log says why.
  EXPECT_EQ(r.out.rfind("ERROR ", 0), 0U) << r.out;
  EXPECT_EQ(r.out.find("answer 42"), std::string::npos) << r.out;
  EXPECT_TRUE(gate_->wait_for_log("from " + backend_address() +
                                  " failed verification against ssl.policy.up.trusted_dir"))
      << gate_->log();

  // The right CA, but a name the backend's certificate (IP:127.0.0.1) does not carry.
  gate_.reset();
  use_upstream_tls(backend_ca());
  conf_["connector.my.upstream_server_name"] = "db.example.test";
  start_gate();
  r = mariadb(verified_tls() + " " + app1(), kAnswer);
  EXPECT_NE(r.code, 0) << r.out;
  EXPECT_EQ(r.out.rfind("ERROR ", 0), 0U) << r.out;
  EXPECT_EQ(r.out.find("answer 42"), std::string::npos) << r.out;
  EXPECT_TRUE(gate_->wait_for_log("from " + backend_address() + " does not name db.example.test"))
      << gate_->log();
}

// A plaintext client's HandshakeResponse is packet 1 on its side but packet
// 2 on the backend's (after the gate's SSL Request): every later packet of
// the login is renumbered by one.
TEST_F(MysqlTlsBackend, PlaintextClientStillGetsTlsToTheBackend) {
  conf_["connector.my.tls_level"] = "OPTIONAL";
  use_upstream_tls(backend_ca());
  start_gate();
  auto r = mariadb("--skip-ssl " + app1(), kBackendView);
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_THAT(r.out, MatchesRegex(on_backend_tls("app1")));
  // An auth switch and the ed25519 rounds, renumbered.
  r = mariadb("--skip-ssl -u ed -p" + std::string(kEdPassword), kBackendView);
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_THAT(r.out, MatchesRegex(on_backend_tls("ed")));
  // The backend's refusal, renumbered.
  r = mariadb("--skip-ssl -u app1 -pnot-the-password", kAnswer);
  EXPECT_NE(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("ERROR 1045 (28000): Access denied for user 'app1'@'127.0.0.1'"),
            std::string::npos)
      << r.out;
  // A TLS client on the same port.
  r = mariadb(verified_tls() + " " + app1(), kBackendView);
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_THAT(r.out, MatchesRegex(on_backend_tls("app1")));

  // tls_level=DISABLED: the greeting loses CLIENT_SSL, the backend link keeps TLS.
  gate_.reset();
  conf_["connector.my.tls_level"] = "DISABLED";
  start_gate();
  r = mariadb("--skip-ssl -u ed -p" + std::string(kEdPassword), kBackendView);
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_THAT(r.out, MatchesRegex(on_backend_tls("ed")));
}

TEST_F(MysqlTlsBackend, UserThatRequiresSslGetsInOverUpstreamTls) {
  create_ssl_only_user();
  conf_["connector.my.tls_level"] = "OPTIONAL";
  use_upstream_tls(backend_ca());
  start_gate();
  auto r = mariadb(verified_tls() + " " + ssl_only(), kBackendView);
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_THAT(r.out, MatchesRegex(on_backend_tls("sslonly")));
  // The backend link is TLS even when the client's is not.
  r = mariadb("--skip-ssl " + ssl_only(), kBackendView);
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_THAT(r.out, MatchesRegex(on_backend_tls("sslonly")));
}

TEST_F(MysqlTlsBackend, WithoutUpstreamTlsTheBackendSeesPlaintext) {
  create_ssl_only_user();
  start_gate();
  // The backend offers TLS; the gate logs in without it (CLIENT_SSL cleared).
  auto r = mariadb(verified_tls() + " " + app1(), "SHOW SESSION STATUS LIKE 'Ssl_cipher'");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out, "Ssl_cipher\t\n");
  // So a user that requires TLS is refused by the backend, in its own words.
  long long denied_before = server().global_status("Access_denied_errors");
  ASSERT_GE(denied_before, 0);
  r = mariadb(verified_tls() + " " + ssl_only(), kAnswer);
  EXPECT_NE(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("ERROR 1045 (28000): Access denied for user 'sslonly'@'127.0.0.1'"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(server().global_status("Access_denied_errors"), denied_before + 1);
  EXPECT_TRUE(gate_->wait_for_log("backend refused login for user sslonly")) << gate_->log();
}

}  // namespace
}  // namespace tlsgate::e2e::mysql
