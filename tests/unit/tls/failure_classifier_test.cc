// Real handshakes that fail, and the tls::FailureReason each side's failure
// falls under (the word of the log line and of the failure metrics).
#include "tls/failure_classifier.h"

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <openssl/err.h>

#include "tls/peer_identity.h"
#include "tls_fixture.h"

namespace tlsgate::tls {
namespace {

using namespace std::chrono_literals;
using testing::MemoryConnection;

class FailureClassifierTest : public testing::TlsTest {
 protected:
  FailureClassifierTest() : TlsTest("Reason CA") {}

  MemoryConnection::Outcome handshake(const std::string& host = "localhost") {
    server_ctx_ = build(server_, Side::kServer);
    client_ctx_ = build(client_, Side::kClient);
    conn_ = std::make_unique<MemoryConnection>(*server_ctx_, *client_ctx_, host);
    return conn_->handshake();
  }

  std::shared_ptr<const Context> server_ctx_;
  std::shared_ptr<const Context> client_ctx_;
  std::unique_ptr<MemoryConnection> conn_;
};

TEST_F(FailureClassifierTest, NoCommonVersionIsProtocolVersion) {
  server_.tls_versions = {"TLSv1.3"};
  client_.tls_versions = {"TLSv1.2"};
  auto r = handshake();
  ASSERT_FALSE(r.server_ok);
  EXPECT_EQ(reason_name(r.server_reason), "protocol_version") << r.server_error;
  EXPECT_EQ(reason_name(r.client_reason), "protocol_version") << r.client_error;
}

TEST_F(FailureClassifierTest, NoCommonCipherIsNoSharedCipher) {
  server_.tls_versions = client_.tls_versions = {"TLSv1.2"};
  server_.ciphers = {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"};
  client_.ciphers = {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"};
  auto r = handshake();
  ASSERT_FALSE(r.server_ok);
  EXPECT_EQ(reason_name(r.server_reason), "no_shared_cipher") << r.server_error;
}

TEST_F(FailureClassifierTest, MissingClientCertificateIsNoCertificate) {
  server_.client_auth = config::ClientAuth::kRequire;
  std::filesystem::remove(client_.public_certificate);
  auto r = handshake();
  ASSERT_FALSE(r.server_ok);
  EXPECT_EQ(reason_name(r.server_reason), "no_certificate") << r.server_error;
}

TEST_F(FailureClassifierTest, ClientFromAnotherCaIsUnknownCa) {
  auto other = test::make_test_ca("Other CA");
  server_.client_auth = config::ClientAuth::kRequire;
  client_ = testing::make_policy(dir_.path(), "cli", ca_,
                                 test::make_leaf(other, {"stranger"}, false, true));
  auto r = handshake();
  ASSERT_FALSE(r.server_ok);
  EXPECT_EQ(reason_name(r.server_reason), "unknown_ca") << r.server_error;
}

TEST_F(FailureClassifierTest, ServerFromAnotherCaIsUnknownCaOnBothSides) {
  auto other = test::make_test_ca("Other CA");
  std::filesystem::remove(client_.trusted_dir / "ca.crt");
  test::write_cert(client_.trusted_dir / "other.crt", other.ca.cert.get());
  auto r = handshake();
  ASSERT_FALSE(r.client_ok);
  EXPECT_EQ(reason_name(r.client_reason), "unknown_ca") << r.client_error;
  // The server hears the client's alert: the client does not trust it.
  EXPECT_EQ(reason_name(r.server_reason), "unknown_ca") << r.server_error;
}

TEST_F(FailureClassifierTest, WrongNameIsHostnameMismatch) {
  auto r = handshake("db.example.com");
  ASSERT_FALSE(r.client_ok);
  EXPECT_EQ(reason_name(r.client_reason), "hostname_mismatch") << r.client_error;
}

TEST_F(FailureClassifierTest, ExpiredCertificateIsExpiredOnBothSides) {
  auto now = std::chrono::system_clock::now();
  server_ = testing::make_policy(
      dir_.path(), "srv", ca_,
      test::make_leaf(ca_, {"localhost"}, true, false, test::Validity{now - 48h, now - 24h}));
  auto r = handshake();
  ASSERT_FALSE(r.client_ok);
  EXPECT_EQ(reason_name(r.client_reason), "expired") << r.client_error;
  EXPECT_EQ(reason_name(r.server_reason), "expired") << r.server_error;
}

TEST_F(FailureClassifierTest, NotYetValidCertificate) {
  auto now = std::chrono::system_clock::now();
  server_ = testing::make_policy(
      dir_.path(), "srv", ca_,
      test::make_leaf(ca_, {"localhost"}, true, false, test::Validity{now + 24h, now + 48h}));
  auto r = handshake();
  ASSERT_FALSE(r.client_ok);
  EXPECT_EQ(reason_name(r.client_reason), "not_yet_valid") << r.client_error;
}

TEST_F(FailureClassifierTest, ClientListedInACrlIsRevoked) {
  server_.client_auth = config::ClientAuth::kRequire;
  auto now = std::chrono::system_clock::now();
  test::write_crl(server_.revoked_dir / "ca.crl", ca_, {client_leaf_.cert.get()}, now - 1h,
                  now + 24h);
  auto r = handshake();
  ASSERT_FALSE(r.server_ok);
  EXPECT_EQ(reason_name(r.server_reason), "revoked") << r.server_error;
}

TEST_F(FailureClassifierTest, StaleCrlUnderRejectIsStaleCrl) {
  server_.client_auth = config::ClientAuth::kRequire;
  server_.stale_crl = config::StaleCrl::kReject;
  auto now = std::chrono::system_clock::now();
  test::write_crl(server_.revoked_dir / "ca.crl", ca_, {}, now - 48h, now - 24h);
  auto r = handshake();
  ASSERT_FALSE(r.server_ok);
  EXPECT_EQ(reason_name(r.server_reason), "stale_crl") << r.server_error;
}

TEST_F(FailureClassifierTest, PlainHttpIsPlaintextRefused) {
  server_ctx_ = build(server_, Side::kServer);
  client_ctx_ = build(client_, Side::kClient);
  MemoryConnection conn(*server_ctx_, *client_ctx_, "localhost");
  const std::string request = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
  ASSERT_EQ(
      BIO_write(SSL_get_wbio(conn.client()), request.data(), static_cast<int>(request.size())),
      static_cast<int>(request.size()));
  ERR_clear_error();
  ASSERT_NE(SSL_do_handshake(conn.server()), 1);
  EXPECT_EQ(reason_name(classify_handshake_failure(conn.server())), "plaintext_refused");
  ERR_clear_error();
}

// After the handshake: what check_peer() refused.
TEST_F(FailureClassifierTest, PeerChecksArePinAndIdentityRefusals) {
  server_.client_auth = config::ClientAuth::kRequire;
  server_.allowed_identities = {"CN=someone else"};
  auto ctx = build(server_, Side::kServer);
  ASSERT_TRUE(ctx);
  const X509* leaf = client_leaf_.cert.get();
  ASSERT_FALSE(check_peer_certificate(leaf, *ctx));
  EXPECT_EQ(reason_name(classify_peer_refusal(leaf, *ctx)), "identity_not_allowed");
  EXPECT_EQ(reason_name(classify_peer_refusal(nullptr, *ctx)), "no_certificate");

  server_.allowed_identities.clear();
  server_.pinned_certs = {std::string(64, 'a')};
  auto pinned = build(server_, Side::kServer);
  ASSERT_TRUE(pinned);
  ASSERT_FALSE(check_peer_certificate(leaf, *pinned));
  EXPECT_EQ(reason_name(classify_peer_refusal(leaf, *pinned)), "pin_mismatch");
}

TEST(FailureClassifier, VerifyErrorsAndTheLineForm) {
  EXPECT_EQ(classify_verify_error(X509_V_ERR_CERT_REVOKED), FailureReason::kRevoked);
  EXPECT_EQ(classify_verify_error(X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN), FailureReason::kUnknownCa);
  EXPECT_EQ(classify_verify_error(X509_V_ERR_CRL_HAS_EXPIRED), FailureReason::kStaleCrl);
  EXPECT_EQ(classify_verify_error(X509_V_ERR_OUT_OF_MEM), FailureReason::kOther);
  EXPECT_EQ(with_reason("client certificate CN=x refused", FailureReason::kUnknownCa),
            "client certificate CN=x refused [reason: unknown_ca]");
}

}  // namespace
}  // namespace tlsgate::tls
