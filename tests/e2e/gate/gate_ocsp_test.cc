// OCSP through `tlsgate serve` (issue 13): stapling the gate's own
// certificate, and revocation_checks on clients and backends, against a real
// `openssl ocsp` responder (support/ocsp_responder.h) and real clients
// (`openssl s_client -status`, the in-process TlsClient).
#include <csignal>

#include "gate_fixture.h"
#include "pki/certificate_info.h"
#include "support/ocsp_responder.h"
#include "support/openssl_server.h"

namespace tlsgate::e2e::gate {
namespace {

class GateOcsp : public GateFixture {
 protected:
  void SetUp() override {
    GateFixture::SetUp();
    if (HasFatalFailure()) return;
    responder_ = std::make_unique<test::OcspResponder>(dir_ / "ocsp", ca_);
    conf_.set("server.state_dir", (dir_ / "state").string());
  }

  void TearDown() override {
    if (HasFailure() && responder_)
      std::cerr << "--- openssl ocsp ---\n" << responder_->output() << "--- end ---\n";
    GateFixture::TearDown();
  }

  // The gate's certificate, naming the responder in its AIA.
  pki::Issued install_stapled_certificate() {
    test::LeafOptions o;
    o.ocsp_urls = {responder_->url()};
    auto leaf = test::make_leaf(ca_, {"localhost", "127.0.0.1"}, o);
    test::write_cert(policy_dir_ / "public.crt", leaf.cert.get());
    test::write_key(policy_dir_ / "private.key", leaf.key.get());
    return leaf;
  }

  ClientCert client_with_aia(const std::string& name) {
    test::LeafOptions o;
    o.server = false;
    o.client = true;
    o.ocsp_urls = {responder_->url()};
    ClientCert c;
    c.issued = test::make_leaf(ca_, {name}, o);
    c.cert = dir_ / "clients" / (name + ".crt");
    c.key = dir_ / "clients" / (name + ".key");
    test::write_cert(c.cert, c.issued.cert.get());
    test::write_key(c.key, c.issued.key.get());
    return c;
  }

  void start_responder() {
    auto why = responder_->start();
    ASSERT_EQ(why, "") << why;
  }

  // `openssl s_client -status`: what the gate stapled.
  std::string stapled() { return s_client(gate_port_, s_client_args() + " -status").out; }

  // Runs s_client -status again and again (each run takes tens of
  // milliseconds; bounded in count and time) until its output has `needle`.
  bool staples_within(const std::string& needle, Millis deadline) {
    auto end = std::chrono::steady_clock::now() + deadline;
    for (int i = 0; i < 1000 && std::chrono::steady_clock::now() < end; ++i) {
      if (stapled().find(needle) != std::string::npos) return true;
    }
    return false;
  }

  std::unique_ptr<test::OcspResponder> responder_;
};

std::string serial_upper(const X509* cert) {
  auto s = pki::serial_to_hex(cert);
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

TEST_F(GateOcsp, TheFirstConnectionAfterStartIsStapledGood) {
  auto leaf = install_stapled_certificate();
  start_responder();
  responder_->set_good(leaf.cert.get());
  conf_.set("ssl.policy.gate.ocsp_stapling", "true");
  start_gate();
  auto out = stapled();
  EXPECT_NE(out.find("OCSP Response Status: successful"), std::string::npos) << out;
  EXPECT_NE(out.find("Cert Status: good"), std::string::npos) << out;
  EXPECT_NE(out.find("Serial Number: " + serial_upper(leaf.cert.get())), std::string::npos) << out;
  // Cached for the next start, owner-only.
  auto cache = dir_ / "state" / "ocsp";
  ASSERT_TRUE(fs::is_directory(cache));
  EXPECT_EQ(fs::status(cache).permissions() & fs::perms::all, fs::perms::owner_all);
  EXPECT_EQ(std::distance(fs::directory_iterator(cache), fs::directory_iterator()), 1);
}

TEST_F(GateOcsp, ARevokedCertificateIsStapledAsRevokedAfterSighupAndLoggedAsAnError) {
  auto leaf = install_stapled_certificate();
  start_responder();
  responder_->set_good(leaf.cert.get());
  conf_.set("ssl.policy.gate.ocsp_stapling", "true");
  start_gate();
  ASSERT_NE(stapled().find("Cert Status: good"), std::string::npos);
  responder_->set_revoked(leaf.cert.get(), util::SystemClock::instance().now(), "keyCompromise");
  ::kill(gate_->pid(), SIGHUP);
  EXPECT_TRUE(staples_within("Cert Status: revoked", Millis(10000))) << log();
  EXPECT_TRUE(gate_->wait_for_log("was REVOKED at")) << log();
  EXPECT_NE(log().find("error ssl.policy.gate: OCSP responder " + responder_->url()),
            std::string::npos)
      << log();
}

TEST_F(GateOcsp, ACachedResponseIsStapledAtOnceWhileTheResponderIsDown) {
  auto leaf = install_stapled_certificate();
  start_responder();
  responder_->set_good(leaf.cert.get());
  conf_.set("ssl.policy.gate.ocsp_stapling", "true");
  start_gate();
  ASSERT_NE(stapled().find("Cert Status: good"), std::string::npos);
  ASSERT_EQ(gate_->terminate(), 0);
  responder_->stop();
  start_gate();
  auto out = stapled();
  EXPECT_NE(out.find("Cert Status: good"), std::string::npos) << out;
  EXPECT_NE(log().find("(cached)"), std::string::npos) << log();
}

TEST_F(GateOcsp, WithoutResponderOrCacheItServesUnstapledThenStaplesOnceTheResponderIsUp) {
  auto leaf = install_stapled_certificate();
  responder_->set_good(leaf.cert.get());
  conf_.set("ssl.policy.gate.ocsp_stapling", "true");
  start_gate();  // waits at most 2 s for the responder that is not there
  auto out = stapled();
  EXPECT_NE(out.find("OCSP response: no response sent"), std::string::npos) << out;
  EXPECT_NE(out.find("Verify return code: 0"), std::string::npos) << out;  // served anyway
  EXPECT_TRUE(gate_->wait_for_log("serving unstapled")) << log();
  start_responder();
  // The first retry comes 5 s after the failure.
  EXPECT_TRUE(staples_within("Cert Status: good", Millis(20000))) << log();
}

TEST_F(GateOcsp, ARotatedCertificateIsStapledWithItsOwnResponse) {
  auto first = install_stapled_certificate();
  start_responder();
  responder_->set_good(first.cert.get());
  conf_.set("ssl.policy.gate.ocsp_stapling", "true");
  start_gate();
  ASSERT_NE(stapled().find("Serial Number: " + serial_upper(first.cert.get())), std::string::npos);
  auto second = install_stapled_certificate();  // the watcher reloads it
  responder_->set_good(second.cert.get());
  EXPECT_TRUE(staples_within("Serial Number: " + serial_upper(second.cert.get()), Millis(15000)))
      << log();
  // Never the old leaf's response with the new leaf.
  auto out = stapled();
  EXPECT_EQ(out.find("Serial Number: " + serial_upper(first.cert.get())), std::string::npos) << out;
}

TEST_F(GateOcsp, StaplingACertificateThatNamesNoResponderIsAConfigError) {
  conf_.set("ssl.policy.gate.ocsp_stapling", "true");  // the fixture's certificate has no AIA
  fs::create_directories(policy_dir_ / "revoked");
  test::write_text(dir_ / "tlsgate.conf", conf_.text());
  int code = -1;
  auto out = test::run_command(test::q(test::GateProcess::binary()) + " check -c " +
                                   test::q(dir_ / "tlsgate.conf") + " 2>&1",
                               &code);
  EXPECT_NE(code, 0) << out;
  EXPECT_NE(out.find("ssl.policy.gate.ocsp_stapling: certificate CN=localhost"), std::string::npos)
      << out;
  EXPECT_NE(out.find("names no OCSP responder"), std::string::npos) << out;
  EXPECT_NE(out.find("set ssl.policy.gate.ocsp_responder"), std::string::npos) << out;
  // serve refuses to start with the same words.
  test::GateProcess gate(dir_, conf_.text(), "serve");
  EXPECT_NE(gate.wait_exit(Millis(10000)).value_or(0), 0);
  EXPECT_NE(gate.log().find("names no OCSP responder (no AIA OCSP URL); set "
                            "ssl.policy.gate.ocsp_responder"),
            std::string::npos)
      << gate.log();
}

TEST_F(GateOcsp, CheckReportsACachedResponseThatCannotBeStapledAsGood) {
  auto leaf = install_stapled_certificate();
  start_responder();
  responder_->set_revoked(leaf.cert.get(), util::SystemClock::instance().now());
  conf_.set("ssl.policy.gate.ocsp_stapling", "true");
  start_gate();
  ASSERT_NE(stapled().find("Cert Status: revoked"), std::string::npos);
  ASSERT_TRUE(gate_->terminate().has_value());
  fs::create_directories(policy_dir_ / "revoked");
  test::write_text(dir_ / "tlsgate.conf", conf_.text());
  auto out = test::run_command(test::q(test::GateProcess::binary()) + " check -c " +
                               test::q(dir_ / "tlsgate.conf") + " 2>&1");
  EXPECT_NE(out.find("ssl.policy.gate.ocsp_stapling: the cached OCSP response " +
                     (dir_ / "state" / "ocsp").string()),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("is revoked; replace the certificate"), std::string::npos) << out;
}

// ---- peers ----

class GateOcspPeers : public GateOcsp {
 protected:
  void SetUp() override {
    GateOcsp::SetUp();
    if (HasFatalFailure()) return;
    conf_.set("ssl.policy.gate.client_auth", "REQUIRE");
  }
};

TEST_F(GateOcspPeers, ARevokedClientIsRefusedUnderIfPresentAndStrictAndAGoodOneGetsIn) {
  auto alice = client_with_aia("alice");
  auto carol = client_with_aia("carol");
  start_responder();
  responder_->set_good(alice.issued.cert.get());
  responder_->set_revoked(carol.issued.cert.get(), util::SystemClock::instance().now());
  for (const char* mode : {"IF_PRESENT", "STRICT"}) {
    SCOPED_TRACE(mode);
    conf_.set("ssl.policy.gate.revocation_checks", mode);
    start_gate();
    EXPECT_TRUE(refused(gate_port_, client_options(carol)));
    EXPECT_TRUE(gate_->wait_for_log("was revoked at")) << log();
    EXPECT_NE(log().find("(ssl.policy.gate.revocation_checks)"), std::string::npos) << log();
    {
      TlsClient c;
      ASSERT_EQ(c.connect(gate_port_, client_options(alice)), "");
      EXPECT_TRUE(c.echoes("alice is good\n"));
    }
    ASSERT_TRUE(gate_->terminate().has_value());
  }
}

TEST_F(GateOcspPeers, ARevocationLearnedLaterClosesTheEstablishedConnectionsOfThatCertificate) {
  auto alice = client_with_aia("alice");
  auto bob = client_with_aia("bob");
  start_responder();
  responder_->set_good(alice.issued.cert.get());
  responder_->set_good(bob.issued.cert.get());
  conf_.set("ssl.policy.gate.revocation_checks", "IF_PRESENT");
  start_gate();
  TlsClient first, other;
  ASSERT_EQ(first.connect(gate_port_, client_options(alice)), "");
  ASSERT_TRUE(first.echoes("alice, good\n"));
  ASSERT_EQ(other.connect(gate_port_, client_options(bob)), "");
  ASSERT_TRUE(other.echoes("bob, good\n"));
  responder_->set_revoked(alice.issued.cert.get(), util::SystemClock::instance().now());
  ::kill(gate_->pid(), SIGHUP);  // forgets cached answers
  ASSERT_TRUE(gate_->wait_for_log("reloaded after a configuration reload")) << log();
  EXPECT_TRUE(refused(gate_port_, client_options(alice)));  // asks again: revoked
  EXPECT_TRUE(gate_->wait_for_log("closed by re-validation after a revocation check")) << log();
  EXPECT_NE(first.read(1, Millis(5000)).end, End::kData);  // the established one is closed
  EXPECT_TRUE(other.echoes("bob, still here\n"));
}

// Revocation checks turned on by a reload apply to the connections let in
// before it: the answer the reload's re-validation asks for closes the
// revoked one (the policy as reloaded decides, not as the gate started).
TEST_F(GateOcspPeers, RevocationChecksTurnedOnByAReloadCloseAnEstablishedRevokedClient) {
  auto alice = client_with_aia("alice");
  auto bob = client_with_aia("bob");
  start_responder();
  responder_->set_good(bob.issued.cert.get());
  responder_->set_revoked(alice.issued.cert.get(), util::SystemClock::instance().now());
  conf_.set("ssl.policy.gate.revocation_checks", "NONE");
  start_gate();
  TlsClient first, other;
  ASSERT_EQ(first.connect(gate_port_, client_options(alice)), "");
  ASSERT_TRUE(first.echoes("alice, unchecked\n"));
  ASSERT_EQ(other.connect(gate_port_, client_options(bob)), "");
  ASSERT_TRUE(other.echoes("bob, unchecked\n"));
  conf_.set("ssl.policy.gate.revocation_checks", "IF_PRESENT");
  test::write_text(gate_->config_file(), conf_.text());
  ::kill(gate_->pid(), SIGHUP);
  EXPECT_TRUE(
      gate_->wait_for_log("closed by re-validation after a revocation check", Millis(20000)))
      << log();
  EXPECT_NE(first.read(1, Millis(5000)).end, End::kData);
  EXPECT_TRUE(other.echoes("bob, still here\n"));
}

// Established connections hold their peer's certificate: the engine asks
// again while they are open (here: after its 5 s retry, the first ask
// having failed), and a revocation learned then closes that connection only.
TEST_F(GateOcspPeers, AClientLetInWhileTheResponderWasDownIsClosedOnceItSaysRevoked) {
  auto alice = client_with_aia("alice");
  auto bob = client_with_aia("bob");
  conf_.set("ssl.policy.gate.revocation_checks", "IF_PRESENT");
  start_gate();
  TlsClient first, other;
  ASSERT_EQ(first.connect(gate_port_, client_options(alice)), "");
  ASSERT_TRUE(first.echoes("alice, let in\n"));
  ASSERT_EQ(other.connect(gate_port_, client_options(bob)), "");
  ASSERT_TRUE(other.echoes("bob, let in\n"));
  responder_->set_revoked(alice.issued.cert.get(), util::SystemClock::instance().now());
  responder_->set_good(bob.issued.cert.get());
  start_responder();
  EXPECT_TRUE(
      gate_->wait_for_log("closed by re-validation after a revocation check", Millis(20000)))
      << log();
  EXPECT_NE(first.read(1, Millis(5000)).end, End::kData);
  EXPECT_TRUE(other.echoes("bob, still here\n"));
}

TEST_F(GateOcspPeers, AResponderThatIsDownLetsClientsInUnderIfPresentButNotUnderStrict) {
  auto alice = client_with_aia("alice");  // the responder never runs
  conf_.set("ssl.policy.gate.revocation_checks", "IF_PRESENT");
  start_gate();
  {
    TlsClient c;
    ASSERT_EQ(c.connect(gate_port_, client_options(alice)), "");
    EXPECT_TRUE(c.echoes("let in\n"));
  }
  EXPECT_TRUE(gate_->wait_for_log("let in without a revocation status")) << log();
  ASSERT_TRUE(gate_->terminate().has_value());

  conf_.set("ssl.policy.gate.revocation_checks", "STRICT");
  start_gate();
  EXPECT_TRUE(refused(gate_port_, client_options(alice)));
  EXPECT_TRUE(gate_->wait_for_log("its revocation status cannot be established")) << log();
}

TEST_F(GateOcspPeers, StrictRefusesAClientWhoseCertificateNamesNoResponder) {
  auto bob = client_cert("bob", ca_);  // no AIA, no CRL
  conf_.set("ssl.policy.gate.revocation_checks", "STRICT");
  start_gate();
  EXPECT_TRUE(refused(gate_port_, client_options(bob)));
  EXPECT_TRUE(gate_->wait_for_log("names no OCSP responder")) << log();
}

TEST_F(GateOcspPeers, StrictAdmitsAClientWhoseIssuerHasAFreshCrl) {
  auto bob = client_cert("bob", ca_);  // no AIA; the CA's CRL covers him
  const auto now = util::SystemClock::instance().now();
  test::write_crl(policy_dir_ / "revoked" / "ca.crl.pem", ca_, {}, now - std::chrono::minutes(1),
                  now + std::chrono::hours(24 * 7));
  conf_.set("ssl.policy.gate.revocation_checks", "STRICT");
  start_gate();
  TlsClient c;
  ASSERT_EQ(c.connect(gate_port_, client_options(bob)), "");
  EXPECT_TRUE(c.echoes("covered by the CRL\n"));
  EXPECT_TRUE(gate_->wait_for_log("status established by the CRL")) << log();
}

TEST_F(GateOcspPeers, ARevokedBackendIsRefusedUnderTheUpstreamPolicy) {
  // The backend's certificate comes from the gate's CA, so one responder serves both.
  test::LeafOptions o;
  o.ocsp_urls = {responder_->url()};
  auto backend = test::make_leaf(ca_, {"backend.test", "127.0.0.1"}, o);
  test::write_cert(dir_ / "backend.crt", backend.cert.get());
  test::write_key(dir_ / "backend.key", backend.key.get());
  fs::create_directories(dir_ / "certs" / "backend" / "trusted");
  test::write_cert(dir_ / "certs" / "backend" / "trusted" / "ca.crt", ca_.ca.cert.get());
  test::OpensslServer server(dir_ / "backend.crt", dir_ / "backend.key", {"-rev"});
  ASSERT_EQ(server.start(Millis(10000)), "");
  start_responder();
  responder_->set_revoked(backend.cert.get(), util::SystemClock::instance().now());
  conf_.set("ssl.policy.gate.client_auth", "NONE")
      .set("ssl.policy.backend.enabled", "true")
      .set("ssl.policy.backend.base_directory", "certs/backend")
      .set("ssl.policy.backend.revocation_checks", "IF_PRESENT")
      .set("connector.echo.upstream_ssl_policy", "backend")
      .set("connector.echo.upstream_server_name", "backend.test")
      .set("connector.echo.upstream_address", "127.0.0.1:" + std::to_string(server.port()));
  start_gate();
  EXPECT_TRUE(refused(gate_port_, client_options()));
  EXPECT_TRUE(
      gate_->wait_for_log("backend 127.0.0.1:" + std::to_string(server.port()) + " refused: OCSP"))
      << log();
  EXPECT_NE(log().find("was revoked at"), std::string::npos) << log();
}

}  // namespace
}  // namespace tlsgate::e2e::gate
