// ssl.policy.<scope>.revalidate_established: when trust material, the
// allow-list, a user_map or a peer's certificate changes under `tlsgate
// serve`, the established connections that would now be refused are closed,
// one log line each, and the others go on echoing.
#include <signal.h>

#include <optional>

#include "gate_fixture.h"
#include "pki/certificate_info.h"
#include "support/openssl_server.h"

namespace tlsgate::e2e::gate {
namespace {

using namespace std::chrono_literals;

// server.reload_settle's default: a file change is applied after it.
constexpr Millis kSettle{200};
// What the issue allows after the settle window.
constexpr Millis kPromptly{2000};

class GateRevalidate : public GateFixture {
 protected:
  void SetUp() override {
    GateFixture::SetUp();
    if (HasFatalFailure()) return;
    conf_.set("ssl.policy.gate.client_auth", "REQUIRE");
  }

  // Connects c with `who`'s certificate and checks that it echoes.
  ::testing::AssertionResult hold(TlsClient& c, const ClientCert& who) {
    auto why = c.connect(gate_port_, client_options(who));
    if (!why.empty()) return ::testing::AssertionFailure() << "connect: " << why;
    return c.echoes("held open\n");
  }

  // Waits up to `limit` for the gate to end c's connection; how long that
  // took, or nullopt when it is still open.
  static std::optional<Millis> closed_within(TlsClient& c, Millis limit) {
    auto start = Clock::now();
    auto r = c.read_to_end(limit);
    if (r.end == End::kTimeout) return std::nullopt;
    return std::chrono::duration_cast<Millis>(Clock::now() - start);
  }

  // A CRL of `ca` revoking `revoked`, written into the folder `revoked_dir`.
  static void write_crl(const fs::path& revoked_dir, const test::TestCa& ca,
                        const std::vector<const X509*>& revoked) {
    const auto now = util::SystemClock::instance().now();
    test::write_crl(revoked_dir / "ca.crl.pem", ca, revoked, now - std::chrono::minutes(1),
                    now + std::chrono::hours(24 * 7));
  }

  // The gate's line for a connection closed by re-validation.
  static std::string closing_line(const TlsClient& c, const std::string& who,
                                  const std::string& trigger, const std::string& reason) {
    return "connector echo: client 127.0.0.1:" + std::to_string(c.local_port()) + " (" + who +
           "): closed by re-validation after " + trigger + ": " + reason;
  }

  static std::string identity(const std::string& id) { return "identity \"" + id + "\""; }

  // "client certificate SUBJECT from 127.0.0.1:PORT failed verification: WHY".
  static std::string chain_refusal(const TlsClient& c, const std::string& subject,
                                   const std::string& why) {
    return "client certificate " + subject + " from 127.0.0.1:" + std::to_string(c.local_port()) +
           " failed verification: " + why;
  }
};

TEST_F(GateRevalidate, NewCrlClosesTheRevokedClientAndNoOther) {
  auto alice = client_cert("alice", ca_);
  auto carol = client_cert("carol", ca_);
  start_gate();
  TlsClient a, c;
  ASSERT_TRUE(hold(a, alice));
  ASSERT_TRUE(hold(c, carol));

  write_crl(policy_dir_ / "revoked", ca_, {carol.issued.cert.get()});
  auto took = closed_within(c, kSettle + kPromptly);
  ASSERT_TRUE(took) << "carol's connection is still open\n" << log();
  std::cerr << "carol closed " << took->count() << " ms after the CRL was written\n";
  EXPECT_TRUE(a.echoes("alice is still served\n"));
  EXPECT_TRUE(gate_->wait_for_log(
      closing_line(c, identity("CN=carol,O=tlsgate"), "ssl.policy.gate (incoming) was reloaded",
                   chain_refusal(c, "CN=carol,O=tlsgate", "certificate revoked"))))
      << log();
  EXPECT_EQ(log().find("client 127.0.0.1:" + std::to_string(a.local_port()) + " (identity"),
            std::string::npos)
      << "alice's connection was named\n"
      << log();
  EXPECT_TRUE(refused(gate_port_, client_options(carol)));
}

TEST_F(GateRevalidate, IdentityRemovedFromAllowedIdentitiesBySighupIsClosed) {
  auto alice = client_cert("alice", ca_);
  auto bob = client_cert("bob", ca_);
  conf_.set("ssl.policy.gate.identity_from", "cn")
      .set("ssl.policy.gate.allowed_identities", "alice;bob");
  start_gate();
  TlsClient a, b;
  ASSERT_TRUE(hold(a, alice));
  ASSERT_TRUE(hold(b, bob));

  conf_.set("ssl.policy.gate.allowed_identities", "alice");
  test::write_text(gate_->config_file(), conf_.text());
  ASSERT_EQ(::kill(gate_->pid(), SIGHUP), 0);
  auto took = closed_within(b, kPromptly);
  ASSERT_TRUE(took) << "bob's connection is still open\n" << log();
  std::cerr << "bob closed " << took->count() << " ms after SIGHUP\n";
  EXPECT_TRUE(a.echoes("alice is still allowed\n"));
  EXPECT_TRUE(gate_->wait_for_log(closing_line(
      b, identity("bob"), "ssl.policy.gate (incoming) was reloaded",
      "client certificate CN=bob,O=tlsgate (cn bob) is not in ssl.policy.gate.allowed_identities")))
      << log();
}

// The backend was told the identity a session began with: a reload under
// which the certificate passes as another of its names ends the session
// rather than let it go on as the old one (review s23, security finding 7).
TEST_F(GateRevalidate, ASessionWhoseIdentityWouldNowBeAnotherIsClosed) {
  ClientCert both;
  both.issued = test::make_leaf(ca_, {"app1@x.test", "admin@x.test"}, false, true);
  both.cert = dir_ / "clients" / "both.crt";
  both.key = dir_ / "clients" / "both.key";
  test::write_cert(both.cert, both.issued.cert.get());
  test::write_key(both.key, both.issued.key.get());
  conf_.set("ssl.policy.gate.identity_from", "san_email")
      .set("ssl.policy.gate.allowed_identities", "app1@x.test;admin@x.test");
  start_gate();
  TlsClient c;
  ASSERT_TRUE(hold(c, both));

  conf_.set("ssl.policy.gate.allowed_identities", "admin@x.test");
  test::write_text(gate_->config_file(), conf_.text());
  ASSERT_EQ(::kill(gate_->pid(), SIGHUP), 0);
  ASSERT_TRUE(closed_within(c, kPromptly)) << "the connection is still open\n" << log();
  EXPECT_TRUE(
      gate_->wait_for_log("its identity would now be \"admin@x.test\", not \"app1@x.test\""))
      << log();
}

TEST_F(GateRevalidate, ClientCertificateThatExpiresWhileConnectedIsClosed) {
  auto alice = client_cert("alice", ca_);
  auto not_after = std::chrono::system_clock::now() + 5s;
  ClientCert dave;
  dave.issued =
      test::make_leaf(ca_, {"dave"}, false, true, test::Validity{not_after - 1h, not_after});
  dave.cert = dir_ / "clients" / "dave.crt";
  dave.key = dir_ / "clients" / "dave.key";
  test::write_cert(dave.cert, dave.issued.cert.get());
  test::write_key(dave.key, dave.issued.key.get());
  start_gate();
  TlsClient a, d;
  ASSERT_TRUE(hold(a, alice));
  ASSERT_TRUE(hold(d, dave));

  // OpenSSL counts whole seconds: expired is the second after notAfter.
  auto expired =
      pki::describe(dave.issued.cert.get(), util::SystemClock::instance()).not_after + 1s;
  auto left = std::chrono::duration_cast<Millis>(expired - std::chrono::system_clock::now());
  ASSERT_GT(left.count(), 0) << "the handshakes took longer than the certificate lived";
  auto took = closed_within(d, left + kPromptly);
  ASSERT_TRUE(took) << "dave's connection is still open\n" << log();
  auto late = std::chrono::duration_cast<Millis>(std::chrono::system_clock::now() - expired);
  std::cerr << "dave closed " << late.count() << " ms after his certificate expired\n";
  EXPECT_GE(late.count(), -100) << "closed before the certificate expired";
  EXPECT_TRUE(a.echoes("alice's certificate is still valid\n"));
  EXPECT_TRUE(gate_->wait_for_log(closing_line(
      d, identity("CN=dave,O=tlsgate"), "its certificate expired",
      chain_refusal(d, "CN=dave,O=tlsgate", "certificate has expired: it expired on "))))
      << log();
}

TEST_F(GateRevalidate, RevalidateEstablishedFalseLeavesConnectionsOpen) {
  auto alice = client_cert("alice", ca_);
  auto carol = client_cert("carol", ca_);
  conf_.set("ssl.policy.gate.revalidate_established", "false");
  start_gate();
  TlsClient a, c;
  ASSERT_TRUE(hold(a, alice));
  ASSERT_TRUE(hold(c, carol));

  write_crl(policy_dir_ / "revoked", ca_, {carol.issued.cert.get()});
  ASSERT_TRUE(gate_->wait_for_log("ssl.policy.gate (incoming): reloaded after a file change"))
      << log();
  // The CRL is in force for new connections...
  EXPECT_TRUE(refused(gate_port_, client_options(carol)));
  // ...and the re-check was posted to carol's worker before the reload was
  // logged: an echo on her connection runs after it.
  EXPECT_TRUE(c.echoes("carol keeps her connection\n"));
  EXPECT_TRUE(a.echoes("so does alice\n"));
  EXPECT_EQ(log().find("closed by re-validation"), std::string::npos) << log();
}

// protocol=postgres with user_map: a session keeps the database user it was
// admitted as, and a map that no longer allows it closes the session.
TEST_F(GateRevalidate, UserMapThatNoLongerAllowsTheUserClosesTheSession) {
  auto alice = client_cert("alice", ca_);
  auto bob = client_cert("bob", ca_);
  test::write_text(dir_ / "users.map", "alice alice\nbob bob\n");
  conf_.set("ssl.policy.gate.identity_from", "cn")
      .set("connector.echo.protocol", "postgres")
      .set("connector.echo.user_map", "users.map");
  start_gate();
  // Direct TLS, then a StartupMessage for the user: the echo backend sends it back.
  auto log_in = [&](TlsClient& c, const ClientCert& who, const std::string& user) {
    auto why = c.connect(gate_port_, client_options(who));
    if (!why.empty()) return ::testing::AssertionFailure() << "connect: " << why;
    std::string params =
        std::string("user\0", 5) + user + '\0' + "database" + '\0' + "db" + '\0' + '\0';
    uint32_t length = 8 + params.size();
    std::string startup;
    for (int shift : {24, 16, 8, 0}) startup += static_cast<char>((length >> shift) & 0xff);
    startup += std::string("\x00\x03\x00\x00", 4) + params;
    if (!c.write_all(startup)) return ::testing::AssertionFailure() << "write failed";
    auto back = c.read(startup.size());
    if (back.data != startup) {
      return ::testing::AssertionFailure()
             << "the StartupMessage did not come back (" << to_string(back.end) << ")";
    }
    return c.echoes("logged in as " + user + "\n");
  };
  TlsClient a, b;
  ASSERT_TRUE(log_in(a, alice, "alice")) << log();
  ASSERT_TRUE(log_in(b, bob, "bob")) << log();

  test::write_text(dir_ / "users.map.new", "alice alice\n");
  fs::rename(dir_ / "users.map.new", dir_ / "users.map");
  auto took = closed_within(b, kSettle + kPromptly);
  ASSERT_TRUE(took) << "bob's session is still open\n" << log();
  EXPECT_TRUE(a.echoes("alice may still log in as alice\n"));
  EXPECT_TRUE(gate_->wait_for_log(closing_line(
      b, identity("bob"), "connector.echo.user_map was reloaded",
      "tlsgate: certificate identity bob may not log in as bob (connector.echo.user_map)")))
      << log();
}

// upstream_ssl_policy: a backend whose certificate a new CRL revokes.
TEST_F(GateRevalidate, BackendCertificateRevokedUnderUpstreamPolicyClosesTheConnection) {
  conf_.set("ssl.policy.gate.client_auth", "NONE");
  auto backend_ca = test::make_test_ca("backend CA");
  auto backend_dir = dir_ / "certs" / "backend";
  fs::create_directories(backend_dir / "trusted");
  fs::create_directories(backend_dir / "revoked");
  test::write_cert(backend_dir / "trusted" / "backend-ca.crt", backend_ca.ca.cert.get());
  auto leaf = test::make_leaf(backend_ca, {"backend.test", "127.0.0.1"}, true, false);
  test::write_cert(dir_ / "backend.crt", leaf.cert.get());
  test::write_key(dir_ / "backend.key", leaf.key.get());
  test::OpensslServer backend(dir_ / "backend.crt", dir_ / "backend.key", {"-rev"});
  ASSERT_EQ(backend.start(Millis(10000)), "");
  conf_.set("ssl.policy.backend.enabled", "true")
      .set("ssl.policy.backend.base_directory", "certs/backend")
      .set("connector.echo.upstream_ssl_policy", "backend")
      .set("connector.echo.upstream_server_name", "backend.test")
      .set("connector.echo.upstream_address", "127.0.0.1:" + std::to_string(backend.port()));
  start_gate();
  TlsClient c;
  ASSERT_EQ(c.connect(gate_port_, client_options()), "");
  ASSERT_TRUE(c.write_all("hello backend\n"));
  ASSERT_EQ(c.read(14).data, "dnekcab olleh\n") << log();

  write_crl(backend_dir / "revoked", backend_ca, {leaf.cert.get()});
  auto took = closed_within(c, kSettle + kPromptly);
  ASSERT_TRUE(took) << "the connection to the revoked backend is still open\n" << log();
  EXPECT_TRUE(gate_->wait_for_log(
      closing_line(c, "no client certificate", "ssl.policy.backend (outgoing) was reloaded",
                   "backend certificate CN=backend.test,O=tlsgate from 127.0.0.1:" +
                       std::to_string(backend.port()) +
                       " failed verification: certificate revoked: its issuer ")))
      << log();
}

}  // namespace
}  // namespace tlsgate::e2e::gate
