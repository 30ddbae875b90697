#include "tls/handshake_error.h"

#include <chrono>
#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <openssl/err.h>

#include "pki/certificate_info.h"
#include "tls_fixture.h"

namespace tlsgate::tls {
namespace {

using testing::kClientAddress;
using testing::kServerAddress;
using testing::MemoryConnection;

// What the client side says of its server: "backend ADDRESS " + what.
std::string backend(const std::string& what) {
  return std::string("backend ") + kServerAddress + " " + what;
}

// Real handshakes that fail, and the sentence each side gets for it. The
// server is `srv`, the client (an outgoing connection, so its peer is "backend
// ADDRESS") is `cli`; both trust the CA that issued both certificates.
class HandshakeErrorTest : public testing::TlsTest {
 protected:
  HandshakeErrorTest() : TlsTest("Error CA") {}

  // One handshake under server_ and client_; the client expects `host`.
  MemoryConnection::Outcome fail(const std::string& host = "localhost") {
    server_ctx_ = build(server_, Side::kServer);
    client_ctx_ = build(client_, Side::kClient);
    conn_ = std::make_unique<MemoryConnection>(*server_ctx_, *client_ctx_, host);
    auto outcome = conn_->handshake();
    EXPECT_EQ(ERR_peek_error(), 0u) << "the explanation drains the error queue";
    return outcome;
  }

  std::shared_ptr<const Context> server_ctx_;
  std::shared_ptr<const Context> client_ctx_;
  std::unique_ptr<MemoryConnection> conn_;
};

TEST_F(HandshakeErrorTest, NoCommonVersion) {
  server_.tls_versions = {"TLSv1.3"};
  client_.tls_versions = {"TLSv1.2"};
  auto r = fail();
  EXPECT_EQ(r.server_error,
            "the client offered no TLS version that ssl.policy.srv.tls_versions allows (TLSv1.3)");
  EXPECT_EQ(r.client_error,
            backend("offered no TLS version that ssl.policy.cli.tls_versions allows (TLSv1.2)"));
}

TEST_F(HandshakeErrorTest, NoCommonCipher) {
  server_.tls_versions = client_.tls_versions = {"TLSv1.2"};
  server_.ciphers = {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"};
  client_.ciphers = {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"};
  auto r = fail();
  const std::string advice = "compare with `tlsgate probe --enumerate`";
  EXPECT_EQ(r.server_error,
            "the client has no cipher suite or group in common with "
            "ssl.policy.srv.ciphers/groups; " +
                advice);
  EXPECT_EQ(r.client_error,
            backend("has no cipher suite or group in common with ssl.policy.cli.ciphers/groups; " +
                    advice));
}

TEST_F(HandshakeErrorTest, NoCommonGroup) {
  server_.groups = {"P-384"};
  client_.groups = {"X25519"};
  auto r = fail();
  EXPECT_EQ(r.server_error,
            "the client offered no key-exchange group in ssl.policy.srv.groups (P-384)");
  EXPECT_FALSE(r.client_ok);
}

TEST_F(HandshakeErrorTest, ClientCertificateRequiredButNotSent) {
  server_.client_auth = config::ClientAuth::kRequire;
  std::filesystem::remove(client_.public_certificate);  // the client dials without one
  auto r = fail();
  EXPECT_EQ(r.server_error,
            "the client sent no certificate, but ssl.policy.srv.client_auth is REQUIRE");
  // TLS 1.3: the client's handshake is done before the server's verdict,
  // which reaches it on its first read.
  ASSERT_TRUE(r.client_ok) << r.client_error;
  ERR_clear_error();
  char byte = 0;
  size_t n = 0;
  ASSERT_NE(SSL_read_ex(conn_->client(), &byte, 1, &n), 1);
  EXPECT_EQ(explain_handshake_failure(conn_->client(), *client_ctx_, kServerAddress),
            backend("requires a client certificate; set ssl.policy.cli.public_certificate and "
                    "ssl.policy.cli.private_key"));
}

TEST_F(HandshakeErrorTest, ClientFromAnUntrustedCaNamesItsCertificate) {
  auto other = test::make_test_ca("Other CA");
  server_.client_auth = config::ClientAuth::kRequire;
  client_ = testing::make_policy(dir_.path(), "cli", ca_,
                                 test::make_leaf(other, {"stranger"}, false, true));
  auto r = fail();
  EXPECT_EQ(r.server_error, std::string("client certificate CN=stranger,O=tlsgate from ") +
                                kClientAddress +
                                " failed verification against ssl.policy.srv.trusted_dir: "
                                "unable to get local issuer certificate: its issuer CN=Other "
                                "CA,O=tlsgate is not among the CAs in " +
                                server_.trusted_dir.string() +
                                "; put that CA's certificate there (tlsgate reloads it), or "
                                "reissue the client's certificate from a CA that is");
}

// A server certificate presented as a client's: the key usage is named, and
// how to reissue it (it was "unsuitable certificate purpose" alone).
TEST_F(HandshakeErrorTest, ClientWithAServerOnlyCertificateIsToldToReissueItForClients) {
  server_.client_auth = config::ClientAuth::kRequire;
  client_ =
      testing::make_policy(dir_.path(), "cli", ca_, test::make_leaf(ca_, {"web"}, true, false));
  auto r = fail();
  EXPECT_EQ(r.server_error, std::string("client certificate CN=web,O=tlsgate from ") +
                                kClientAddress +
                                " failed verification: unsuitable certificate purpose: it is not "
                                "for TLS clients (its extendedKeyUsage lacks clientAuth); reissue "
                                "it for client use (tlsgate cert issue --client)");
}

TEST_F(HandshakeErrorTest, ServerFromAnUntrustedCa) {
  auto other = test::make_test_ca("Other CA");
  std::filesystem::remove(client_.trusted_dir / "ca.crt");
  test::write_cert(client_.trusted_dir / "other.crt", other.ca.cert.get());
  auto r = fail();
  EXPECT_EQ(r.client_error, std::string("backend certificate CN=localhost,O=tlsgate from ") +
                                kServerAddress +
                                " failed verification against ssl.policy.cli.trusted_dir: "
                                "unable to get local issuer certificate: its issuer CN=Error "
                                "CA,O=tlsgate is not among the CAs in " +
                                client_.trusted_dir.string() +
                                "; put that CA's certificate there (tlsgate reloads it), or "
                                "reissue the backend's certificate from a CA that is");
  EXPECT_EQ(r.server_error, std::string("certificate unknown from ") + kClientAddress +
                                ": the client does not trust our certificate (issuer "
                                "CN=Error CA,O=tlsgate); give it that CA, or use a certificate "
                                "from a CA it trusts");
}

TEST_F(HandshakeErrorTest, ServerCertificateWithoutTheDialledName) {
  auto r = fail("db.example.com");
  EXPECT_EQ(r.client_error, std::string("backend certificate CN=localhost,O=tlsgate from ") +
                                kServerAddress +
                                " does not name db.example.com; reissue it with that name, or set "
                                "upstream_server_name to a name it has");
  EXPECT_NE(r.server_error.find("the client does not trust our certificate"), std::string::npos)
      << r.server_error;
}

TEST_F(HandshakeErrorTest, ExpiredServerCertificate) {
  auto now = std::chrono::system_clock::now();
  auto expired =
      test::make_leaf(ca_, {"localhost"}, true, false,
                      test::Validity{now - std::chrono::hours(48), now - std::chrono::hours(24)});
  server_ = testing::make_policy(dir_.path(), "srv", ca_, expired);
  auto r = fail();
  EXPECT_EQ(r.client_error,
            std::string("backend certificate CN=localhost,O=tlsgate from ") + kServerAddress +
                " failed verification: certificate has expired: it expired on " +
                pki::describe(expired.cert.get(), util::SystemClock::instance()).not_after_text +
                "; the backend must renew its certificate");
  EXPECT_EQ(r.server_error, std::string("certificate_expired from ") + kClientAddress +
                                ": the peer says our certificate expired; renew " +
                                server_.public_certificate.string());
}

TEST_F(HandshakeErrorTest, NoCommonAlpnProtocol) {
  BuildOptions offers_h2;
  offers_h2.alpn = {"h2"};
  server_ctx_ = build(server_, Side::kServer);
  client_ctx_ = build(client_, Side::kClient, offers_h2);
  std::string wire = alpn_wire({"postgresql"});
  MemoryConnection conn(*server_ctx_, *client_ctx_, "localhost");
  set_connection_alpn(conn.server(), wire);
  auto r = conn.handshake();
  EXPECT_EQ(r.server_error, "the client offered no ALPN protocol this connector speaks");
  EXPECT_EQ(r.client_error, backend("offered no ALPN protocol this connector speaks"));
}

TEST_F(HandshakeErrorTest, PlainHttpToATlsPort) {
  server_ctx_ = build(server_, Side::kServer);
  client_ctx_ = build(client_, Side::kClient);
  MemoryConnection conn(*server_ctx_, *client_ctx_, "localhost");
  const std::string request = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
  ASSERT_EQ(
      BIO_write(SSL_get_wbio(conn.client()), request.data(), static_cast<int>(request.size())),
      static_cast<int>(request.size()));
  ERR_clear_error();
  ASSERT_NE(SSL_do_handshake(conn.server()), 1);
  EXPECT_EQ(explain_handshake_failure(conn.server(), *server_ctx_, kClientAddress),
            "the client spoke plain HTTP to a TLS port; use https://");
}

TEST_F(HandshakeErrorTest, PeerThatHangsUpMidHandshake) {
  server_ctx_ = build(server_, Side::kServer);
  client_ctx_ = build(client_, Side::kClient);
  MemoryConnection conn(*server_ctx_, *client_ctx_, "localhost");
  ERR_clear_error();
  ASSERT_NE(SSL_do_handshake(conn.client()), 1);  // the ClientHello is on its way
  BIO_shutdown_wr(SSL_get_wbio(conn.server()));   // and the server hangs up
  ERR_clear_error();
  ASSERT_NE(SSL_do_handshake(conn.client()), 1);
  EXPECT_EQ(explain_handshake_failure(conn.client(), *client_ctx_, kServerAddress),
            backend("closed the connection during the TLS handshake"));
}

}  // namespace
}  // namespace tlsgate::tls
