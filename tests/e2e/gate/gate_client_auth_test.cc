// `tlsgate serve` with client_auth=REQUIRE: who gets in — by chain, CRL,
// allowed_identities and pinned_certs.
#include <sstream>

#include "gate_fixture.h"

namespace tlsgate::e2e::gate {
namespace {

class GateClientAuth : public GateFixture {
 protected:
  void SetUp() override {
    GateFixture::SetUp();
    if (HasFatalFailure()) return;
    conf_.set("ssl.policy.gate.client_auth", "REQUIRE");
  }

  // `openssl s_client` that sends a line and waits for what comes back;
  // returns the s_client output. extra: e.g. "-cert C -key K".
  std::string s_client_session(const std::string& extra_args, const std::string& line,
                               const std::string& until) {
    std::vector<std::string> extra;
    std::istringstream words(extra_args);
    for (std::string a; words >> a;) extra.push_back(a);
    auto sc = start_s_client(extra);
    sc->wait_for_output("Verify return code", Millis(10000));
    sc->write_stdin(line);
    sc->wait_for_output(until, Millis(10000));
    sc->close_stdin();
    sc->wait_exit(Millis(10000));
    return sc->output();
  }
};

TEST_F(GateClientAuth, ClientWithoutACertificateIsRefused) {
  start_gate();
  auto out = s_client_session("", "ping\n", "certificate required");
  EXPECT_NE(out.find("alert certificate required"), std::string::npos) << out;
  EXPECT_EQ(out.find("ping"), std::string::npos) << out;  // nothing came back
  EXPECT_TRUE(refused(gate_port_, client_options()));
  EXPECT_TRUE(
      gate_->wait_for_log("sent no certificate, but ssl.policy.gate.client_auth is REQUIRE"))
      << log();
  EXPECT_EQ(echo_.accepted(), 0);
}

TEST_F(GateClientAuth, CertificateFromAnotherCaIsRefused) {
  auto stranger_ca = test::make_test_ca("stranger CA");
  auto mallory = client_cert("mallory", stranger_ca);
  start_gate();
  EXPECT_TRUE(refused(gate_port_, client_options(mallory)));
  EXPECT_TRUE(gate_->wait_for_log("failed verification against ssl.policy.gate.trusted_dir"))
      << log();
  EXPECT_EQ(echo_.accepted(), 0);
}

TEST_F(GateClientAuth, RevokedCertificateIsRefusedAndOthersStillGetIn) {
  auto alice = client_cert("alice", ca_);
  auto carol = client_cert("carol", ca_);
  const auto now = util::SystemClock::instance().now();
  test::write_crl(policy_dir_ / "revoked" / "ca.crl.pem", ca_, {carol.issued.cert.get()},
                  now - std::chrono::minutes(1), now + std::chrono::hours(24 * 7));
  start_gate();

  EXPECT_TRUE(refused(gate_port_, client_options(carol)));
  EXPECT_TRUE(gate_->wait_for_log("certificate revoked")) << log();

  TlsClient c;
  ASSERT_EQ(c.connect(gate_port_, client_options(alice)), "");
  EXPECT_TRUE(c.echoes("alice is not revoked\n"));
  EXPECT_EQ(echo_.accepted(), 1);
}

// DESIGN.md: every failure is logged "with a reason a person can act on
// (which certificate, which check, what to do)". A client that presented a
// certificate the chain check refused must be named by that certificate.
TEST_F(GateClientAuth, RefusalLogNamesTheCertificateThatFailedVerification) {
  auto stranger_ca = test::make_test_ca("stranger CA");
  auto mallory = client_cert("mallory", stranger_ca);
  start_gate();
  EXPECT_TRUE(refused(gate_port_, client_options(mallory)));
  ASSERT_TRUE(gate_->wait_for_log("failed verification against ssl.policy.gate.trusted_dir"))
      << log();
  EXPECT_TRUE(gate_->wait_for_log("client certificate CN=mallory", Millis(500))) << log();
  EXPECT_FALSE(gate_->wait_for_log("(no certificate)", Millis(0))) << log();
}

TEST_F(GateClientAuth, CertificateFromTheTrustedCaIsAccepted) {
  auto alice = client_cert("alice", ca_);
  start_gate();
  auto out = s_client_session("-cert " + alice.cert.string() + " -key " + alice.key.string(),
                              "hello alice\n", "hello alice");
  EXPECT_NE(out.find("Verify return code: 0 (ok)"), std::string::npos) << out;
  EXPECT_NE(out.find("hello alice"), std::string::npos) << out;  // the echo

  TlsClient c;
  ASSERT_EQ(c.connect(gate_port_, client_options(alice)), "");
  EXPECT_TRUE(c.echoes("in process\n"));
  // Logged at debug: version, cipher, subject and identity (subject by default).
  EXPECT_TRUE(gate_->wait_for_log("identity \"CN=alice")) << log();
  EXPECT_EQ(echo_.accepted(), 2);
}

TEST_F(GateClientAuth, AllowedIdentitiesAdmitOnlyWhomTheyName) {
  auto alice = client_cert("alice", ca_);
  auto bob = client_cert("bob", ca_);
  conf_.set("ssl.policy.gate.identity_from", "cn")
      .set("ssl.policy.gate.allowed_identities", "alice");
  start_gate();

  TlsClient a;
  ASSERT_EQ(a.connect(gate_port_, client_options(alice)), "");
  EXPECT_TRUE(a.echoes("alice may\n"));
  EXPECT_TRUE(gate_->wait_for_log("identity \"alice\"")) << log();

  EXPECT_TRUE(refused(gate_port_, client_options(bob)));
  EXPECT_TRUE(gate_->wait_for_log("(cn bob) is not in ssl.policy.gate.allowed_identities"))
      << log();
  EXPECT_EQ(echo_.accepted(), 1);
}

TEST_F(GateClientAuth, PinnedCertsAdmitOnlyThePinnedClient) {
  auto alice = client_cert("alice", ca_);
  auto bob = client_cert("bob", ca_);
  int code = -1;
  auto pins = test::run_command(
      test::shell_quote(test::GateProcess::binary()) + " cert pin " + q(alice.cert), &code);
  ASSERT_EQ(code, 0) << pins;
  auto hex_pin = pins.substr(0, pins.find('\n'));
  ASSERT_EQ(hex_pin.rfind("sha256:", 0), 0U) << pins;
  conf_.set("ssl.policy.gate.pinned_certs", hex_pin);
  start_gate();

  TlsClient a;
  ASSERT_EQ(a.connect(gate_port_, client_options(alice)), "");
  EXPECT_TRUE(a.echoes("pinned\n"));

  EXPECT_TRUE(refused(gate_port_, client_options(bob)));
  EXPECT_TRUE(gate_->wait_for_log("is not in ssl.policy.gate.pinned_certs")) << log();
  EXPECT_TRUE(refused(gate_port_, client_options()));  // no certificate at all
  EXPECT_EQ(echo_.accepted(), 1);
}

TEST_F(GateClientAuth, PinInBase64FormWorksToo) {
  auto alice = client_cert("alice", ca_);
  auto bob = client_cert("bob", ca_);
  int code = -1;
  auto pins = test::run_command(
      test::shell_quote(test::GateProcess::binary()) + " cert pin " + q(alice.cert), &code);
  ASSERT_EQ(code, 0) << pins;
  auto second = pins.substr(pins.find('\n') + 1);
  second = second.substr(0, second.find('\n'));
  ASSERT_EQ(second.rfind("sha256//", 0), 0U) << pins;
  conf_.set("ssl.policy.gate.pinned_certs", second);
  start_gate();

  TlsClient a;
  ASSERT_EQ(a.connect(gate_port_, client_options(alice)), "");
  EXPECT_TRUE(a.echoes("pinned\n"));
  EXPECT_TRUE(refused(gate_port_, client_options(bob)));
  EXPECT_TRUE(gate_->wait_for_log("is not in ssl.policy.gate.pinned_certs")) << log();
}

// OpenSSL does not verify a resumed session's certificate again; the gate
// does, against the CRLs of the context it resumes under.
TEST_F(GateClientAuth, AResumedSessionOfACertificateRevokedSinceIsRefused) {
  auto carol = client_cert("carol", ca_);
  start_gate();
  const std::string base = s_client_args() + " -tls1_2 -cert " + test::q(carol.cert) + " -key " +
                           test::q(carol.key) + " -sess_";
  auto first = s_client(gate_port_, base + "out " + test::q(dir_ / "carol.session"));
  ASSERT_NE(first.out.find("Verify return code: 0"), std::string::npos) << first.out;
  const auto now = util::SystemClock::instance().now();
  test::write_crl(policy_dir_ / "revoked" / "ca.crl.pem", ca_, {carol.issued.cert.get()},
                  now - std::chrono::minutes(1), now + std::chrono::hours(24 * 7));
  ASSERT_TRUE(gate_->wait_for_log("reloaded after a file change")) << log();
  auto again = s_client(gate_port_, base + "in " + test::q(dir_ / "carol.session"));
  EXPECT_NE(again.out.find("Reused, TLSv1.2"), std::string::npos) << again.out;
  EXPECT_TRUE(
      gate_->wait_for_log("resumed TLS session refused: client certificate "
                          "CN=carol,O=tlsgate"))
      << log();
  EXPECT_NE(log().find("certificate revoked"), std::string::npos) << log();
}

// Without any CRL: a ticket issued while the client's CA was trusted does
// not let it back in once that CA left trusted/.
TEST_F(GateClientAuth, AResumedSessionWhoseCaLeftTrustedIsRefused) {
  auto carol = client_cert("carol", ca_);
  start_gate();
  const std::string base = s_client_args() + " -tls1_2 -cert " + test::q(carol.cert) + " -key " +
                           test::q(carol.key) + " -sess_";
  auto first = s_client(gate_port_, base + "out " + test::q(dir_ / "carol.session"));
  ASSERT_NE(first.out.find("Verify return code: 0"), std::string::npos) << first.out;
  auto other = test::make_test_ca("Another CA");
  test::write_cert(policy_dir_ / "trusted" / "other.crt", other.ca.cert.get());
  fs::remove(policy_dir_ / "trusted" / "ca.crt");
  ASSERT_TRUE(gate_->wait_for_log("reloaded after a file change")) << log();
  auto again = s_client(gate_port_, base + "in " + test::q(dir_ / "carol.session"));
  EXPECT_NE(again.out.find("Reused, TLSv1.2"), std::string::npos) << again.out;
  EXPECT_TRUE(gate_->wait_for_log("resumed TLS session refused: client certificate CN=carol"))
      << log();
}

}  // namespace
}  // namespace tlsgate::e2e::gate
