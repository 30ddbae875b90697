// `tlsgate serve` with ssl.policy.gate.private_key=pkcs11:... on a SoftHSM
// token (support/softhsm.h): the token signs every full handshake from two
// workers; a wrong PIN is a clear `check` and `serve` error; the certificate
// file reloads while the key stays on the token.
#include <openssl/x509.h>

#include <atomic>
#include <csignal>
#include <thread>

#include "gate_fixture.h"
#include "pki/certificate_info.h"
#include "pki/pkcs11.h"
#include "support/softhsm.h"

namespace tlsgate::e2e::gate {
namespace {

class GatePkcs11 : public GateFixture {
 protected:
  // A token `label` with a key of `key_type`; the gate's certificate is
  // issued by ca_ over that key, and private.key is removed so that nothing
  // but the token can serve.
  void use_token(const std::string& label, const std::string& key_type = "EC:prime256v1") {
    uri_ = test::make_token(label, "4321", "gatekey", key_type);
    token_key_ = test::token_public_key(label, "gatekey");
    issue_over_token_key("localhost");
    fs::remove(policy_dir_ / "private.key");
    conf_.set("ssl.policy.gate.private_key", uri_)
        .set("ssl.policy.gate.pkcs11_module", test::softhsm().module)
        .set("ssl.policy.gate.private_key_password", "4321");
  }

  // A new certificate over the token's key, written over public.crt.
  void issue_over_token_key(const std::string& name) {
    pki::CertRequest req;
    req.names = {name, "127.0.0.1"};
    req.existing_key = pki::up_ref(token_key_.get());
    auto leaf = pki::issue_certificate(req, ca_.ca.cert.get(), ca_.ca.key.get(),
                                       util::SystemClock::instance());
    ASSERT_TRUE(leaf) << leaf.error().message();
    gate_cert_.cert = std::move(leaf->cert);
    test::write_cert(policy_dir_ / "public.crt.tmp", gate_cert_.cert.get());
    fs::rename(policy_dir_ / "public.crt.tmp", policy_dir_ / "public.crt");
  }

  // Full handshakes (a fresh client each, no resumption) from `threads`
  // threads, each verified against the CA: how many succeeded.
  int handshake_loop(int threads, int per_thread, const TlsClientOptions& o) {
    std::atomic<int> ok{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&] {
        for (int i = 0; i < per_thread; ++i) {
          TlsClient c;
          if (c.connect(gate_port_, o).empty() && !SSL_session_reused(c.ssl())) ++ok;
        }
      });
    }
    for (auto& th : pool) th.join();
    return ok.load();
  }

  std::string serial_served() {
    TlsClient c;
    if (!c.connect(gate_port_, client_options()).empty()) return "";
    pki::X509Ptr peer(SSL_get1_peer_certificate(c.ssl()));
    return pki::describe(peer.get(), util::SystemClock::instance()).serial_hex;
  }

  std::string uri_;
  pki::EvpPkeyPtr token_key_;  // its public half
};

TEST_F(GatePkcs11, TwoWorkersServe200FullHandshakesSignedOnTheToken) {
  use_token("gate-ec");
  conf_.set("server.worker_threads", "2");
  start_gate();
  EXPECT_EQ(handshake_loop(4, 50, client_options()), 200) << log();
  TlsClient c;
  ASSERT_EQ(c.connect(gate_port_, client_options()), "");
  pki::X509Ptr peer(SSL_get1_peer_certificate(c.ssl()));
  EXPECT_EQ(X509_cmp(peer.get(), gate_cert_.cert.get()), 0);
  EXPECT_TRUE(c.echoes("through the token\n"));
}

TEST_F(GatePkcs11, AnRsaKeyOnTheTokenSignsTls13AndTls12Handshakes) {
  use_token("gate-rsa", "rsa:2048");
  start_gate();
  for (int version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
    auto o = client_options();
    o.min_version = o.max_version = version;
    EXPECT_EQ(handshake_loop(2, 10, o), 20) << "version " << version << "\n" << log();
  }
}

TEST_F(GatePkcs11, AWrongPinIsAClearCheckAndServeError) {
  use_token("gate-pin");
  conf_.set("ssl.policy.gate.private_key_password", "999999");
  test::write_text(dir_ / "tlsgate.conf", conf_.text());
  int code = 0;
  auto out = test::run_command(
      test::GateProcess::binary() + " check -c " + q(dir_ / "tlsgate.conf"), &code);
  EXPECT_NE(code, 0) << out;
  const std::string refused =
      "pkcs11:token=gate-pin;object=gatekey;type=private: the token "
      "\"gate-pin\" refused the PIN given in private_key_password";
  EXPECT_NE(out.find(refused), std::string::npos) << out;
  EXPECT_EQ(out.find("999999"), std::string::npos) << out;

  out = test::run_command("timeout 20 " + test::GateProcess::binary() + " serve --allow-root -c " +
                              q(dir_ / "tlsgate.conf"),
                          &code);
  EXPECT_NE(code, 0) << out;
  EXPECT_NE(out.find(refused), std::string::npos) << out;
  EXPECT_EQ(out.find("999999"), std::string::npos) << out;
}

TEST_F(GatePkcs11, ACleanCheckOpensTheTokenAndMatchesTheCertificate) {
  use_token("gate-check");
  fs::create_directories(policy_dir_ / "revoked");
  test::write_text(dir_ / "tlsgate.conf", conf_.text());
  int code = 0;
  auto out = test::run_command(
      test::GateProcess::binary() + " check -c " + q(dir_ / "tlsgate.conf"), &code);
  EXPECT_EQ(code, 0) << out;
  // A certificate over another key: check says the token's key does not match it.
  auto other = test::make_leaf(ca_, {"localhost"});
  test::write_cert(policy_dir_ / "public.crt", other.cert.get());
  out = test::run_command(test::GateProcess::binary() + " check -c " + q(dir_ / "tlsgate.conf"),
                          &code);
  EXPECT_NE(code, 0) << out;
  EXPECT_NE(out.find("pkcs11:token=gate-check;object=gatekey;type=private"), std::string::npos)
      << out;
}

TEST_F(GatePkcs11, CheckNamesAUriThatResolvesToNothing) {
  use_token("gate-uri");
  conf_.set("ssl.policy.gate.private_key", "pkcs11:token=gate-uri;object=nope");
  test::write_text(dir_ / "tlsgate.conf", conf_.text());
  int code = 0;
  auto out = test::run_command(
      test::GateProcess::binary() + " check -c " + q(dir_ / "tlsgate.conf"), &code);
  EXPECT_NE(code, 0) << out;
  EXPECT_NE(out.find("ssl.policy.gate.private_key: pkcs11:token=gate-uri;object=nope: no private "
                     "key matches on token \"gate-uri\"; it holds \"gatekey\""),
            std::string::npos)
      << out;
}

TEST_F(GatePkcs11, TheCertificateFileReloadsWhileTheKeyStaysOnTheToken) {
  use_token("gate-reload");
  start_gate();
  auto before = serial_served();
  ASSERT_NE(before, "") << log();
  issue_over_token_key("localhost");
  auto after = pki::describe(gate_cert_.cert.get(), util::SystemClock::instance()).serial_hex;
  ASSERT_NE(before, after);
  ASSERT_TRUE(gate_->wait_for_log("reloaded after a file change", Millis(10000))) << log();
  EXPECT_EQ(serial_served(), after) << log();
  EXPECT_EQ(handshake_loop(2, 10, client_options()), 20) << log();
}

// A token that goes away (SoftHSM: its folder moved off): each handshake
// then fails on its own, with a log line that names the token, while a
// connection made before keeps working. When it is back, the reload the
// line asks for finds it again (the module restarts) and handshakes work.
TEST_F(GatePkcs11, ATokenThatGoesAwayFailsEachHandshakeAndAReloadFindsItBack) {
  use_token("gate-away");
  start_gate();
  TlsClient before;
  ASSERT_EQ(before.connect(gate_port_, client_options()), "") << log();
  ASSERT_TRUE(before.echoes("before\n"));
  const auto folder = test::token_folder("gate-away");
  fs::rename(folder, dir_ / "token-away");
  TlsClient during;
  EXPECT_NE(during.connect(gate_port_, client_options()), "");
  EXPECT_TRUE(gate_->wait_for_log(
      "the token of ssl.policy.gate.private_key (pkcs11:token=gate-away;object=gatekey;"
      "type=private) did not sign the handshake: "))
      << log();
  EXPECT_TRUE(before.echoes("still here\n"));
  fs::rename(dir_ / "token-away", folder);
  ASSERT_EQ(::kill(gate_->pid(), SIGHUP), 0);
  ASSERT_TRUE(gate_->wait_for_log("ssl.policy.gate (incoming): reloaded after", Millis(10000)))
      << log();
  EXPECT_EQ(handshake_loop(2, 10, client_options()), 20) << log();
  EXPECT_TRUE(before.echoes("and after\n"));
}

}  // namespace
}  // namespace tlsgate::e2e::gate
