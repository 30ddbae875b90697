// `tlsgate serve`: the policy's tls_versions, ciphers and groups are what a
// client gets — checked with `openssl s_client` and in-process clients.
#include "gate_fixture.h"

namespace tlsgate::e2e::gate {
namespace {

class GateTlsPolicy : public GateFixture {};

TEST_F(GateTlsPolicy, Tls12OnlyClientIsRefusedByATls13OnlyPolicy) {
  conf_.set("ssl.policy.gate.tls_versions", "TLSv1.3");
  start_gate();

  auto old = s_client(gate_port_, s_client_args() + " -tls1_2");
  EXPECT_NE(old.code, 0) << old.out;
  EXPECT_EQ(old.out.find("Cipher is ECDHE"), std::string::npos) << old.out;
  EXPECT_NE(old.out.find("alert protocol version"), std::string::npos) << old.out;
  EXPECT_TRUE(gate_->wait_for_log(
      "offered no TLS version that ssl.policy.gate.tls_versions allows (TLSv1.3)"))
      << log();
  EXPECT_EQ(echo_.accepted(), 0);

  // The same port takes a TLS 1.3 client.
  auto modern = s_client(gate_port_, s_client_args() + " -tls1_3");
  EXPECT_EQ(modern.code, 0) << modern.out;
  EXPECT_NE(modern.out.find("New, TLSv1.3, Cipher is TLS_"), std::string::npos) << modern.out;

  // And so does the in-process client, which cannot get TLS 1.2 either.
  TlsClient c;
  auto o = client_options();
  o.max_version = TLS1_2_VERSION;
  EXPECT_NE(c.connect(gate_port_, o), "");
}

TEST_F(GateTlsPolicy, Tls12CipherAndGroupAreTheConfiguredOnes) {
  // IANA name for the suite; the curve by its NIST name.
  conf_.set("ssl.policy.gate.tls_versions", "TLSv1.2")
      .set("ssl.policy.gate.ciphers", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384")
      .set("ssl.policy.gate.groups", "P-384");
  start_gate();

  auto r = s_client(gate_port_, s_client_args() + " -tls1_2");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("New, TLSv1.2, Cipher is ECDHE-ECDSA-AES256-GCM-SHA384"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("Server Temp Key: ECDH, secp384r1, 384 bits"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Verify return code: 0 (ok)"), std::string::npos) << r.out;

  // In process, offering the client's default lists (AES-128 and X25519 first).
  TlsClient c;
  ASSERT_EQ(c.connect(gate_port_, client_options()), "");
  EXPECT_STREQ(SSL_get_version(c.ssl()), "TLSv1.2");
  EXPECT_STREQ(SSL_CIPHER_get_name(SSL_get_current_cipher(c.ssl())),
               "ECDHE-ECDSA-AES256-GCM-SHA384");
  EXPECT_EQ(SSL_get_negotiated_group(c.ssl()), NID_secp384r1);
  EXPECT_TRUE(c.echoes("tls 1.2 data\n"));

  // A client with no suite in common is refused, with a reason.
  auto o = client_options();
  o.cipher_list = "ECDHE-ECDSA-AES128-GCM-SHA256";
  o.max_version = TLS1_2_VERSION;
  EXPECT_TRUE(refused(gate_port_, o));
  EXPECT_TRUE(gate_->wait_for_log(
      "has no cipher suite or group in common with ssl.policy.gate.ciphers/groups"))
      << log();
}

TEST_F(GateTlsPolicy, Tls13SuiteAndGroupAreTheConfiguredOnesAndTheServerOrderWins) {
  conf_.set("ssl.policy.gate.tls_versions", "TLSv1.3")
      .set("ssl.policy.gate.ciphers", "TLS_CHACHA20_POLY1305_SHA256,TLS_AES_128_GCM_SHA256")
      .set("ssl.policy.gate.groups", "P-256");
  start_gate();

  // s_client prefers AES-256, AES-128 and offers X25519 first; the gate picks.
  auto r = s_client(gate_port_, s_client_args() + " -tls1_3");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("New, TLSv1.3, Cipher is TLS_CHACHA20_POLY1305_SHA256"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("Server Temp Key: ECDH, prime256v1, 256 bits"), std::string::npos) << r.out;

  TlsClient c;
  auto o = client_options();
  o.ciphersuites = "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256";  // client prefers AES
  ASSERT_EQ(c.connect(gate_port_, o), "");
  EXPECT_STREQ(SSL_CIPHER_get_name(SSL_get_current_cipher(c.ssl())),
               "TLS_CHACHA20_POLY1305_SHA256");
  EXPECT_EQ(SSL_get_negotiated_group(c.ssl()), NID_X9_62_prime256v1);
  EXPECT_TRUE(c.echoes("tls 1.3 data\n"));

  // A suite the policy does not list is refused.
  auto other_suite = client_options();
  other_suite.ciphersuites = "TLS_AES_256_GCM_SHA384";
  EXPECT_TRUE(refused(gate_port_, other_suite));
  EXPECT_TRUE(gate_->wait_for_log("has no cipher suite or group in common")) << log();

  // A client that offers only X25519 shares no group with the policy.
  auto other_group = client_options();
  other_group.groups = "X25519";
  EXPECT_TRUE(refused(gate_port_, other_group));
  EXPECT_TRUE(
      gate_->wait_for_log("offered no key-exchange group in ssl.policy.gate.groups (P-256)"))
      << log();
}

}  // namespace
}  // namespace tlsgate::e2e::gate
