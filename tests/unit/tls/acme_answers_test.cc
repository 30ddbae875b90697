// TLS-ALPN-01 answers inside the gate's own server contexts
// (tls/acme_answers.h): real handshakes in memory between a server context
// built for an ACME policy and clients that ask for acme-tls/1 or not.
#include "tls/acme_answers.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "pki/acme_challenge.h"
#include "tls/failure_classifier.h"
#include "tls/handshake_error.h"
#include "tls_fixture.h"

namespace tlsgate::tls {
namespace {

using testing::MemoryConnection;

constexpr char kDirectory[] = "https://acme.test/directory";
constexpr char kName[] = "db.example.com";

TEST(AcmeSni, DnsNameIsLowerCased) {
  EXPECT_EQ(acme_sni("DB.Example.COM"), "db.example.com");
  EXPECT_EQ(acme_sni("db.example.com"), "db.example.com");
}

TEST(AcmeSni, Ipv4IsItsInAddrArpaName) {
  // RFC 8738 §6: the validator's SNI is the reverse-DNS name (RFC 1035 §3.5).
  EXPECT_EQ(acme_sni("192.0.2.1"), "1.2.0.192.in-addr.arpa");
  EXPECT_EQ(acme_sni("10.0.0.254"), "254.0.0.10.in-addr.arpa");
}

TEST(AcmeSni, Ipv6IsItsIp6ArpaName) {
  // RFC 8738 §6 with the nibble form of RFC 3596 §2.5 (its own example).
  EXPECT_EQ(acme_sni("4321:0:1:2:3:4:567:89ab"),
            "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.0.0.0.0.1.2.3.4.ip6.arpa");
  EXPECT_EQ(acme_sni("2001:DB8::1"),
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
}

// Records the alert a client receives into *slot (-1: none).
int alert_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

void record_alerts(SSL* ssl, int* slot) {
  *slot = -1;
  SSL_set_ex_data(ssl, alert_index(), slot);
  SSL_set_info_callback(ssl, [](const SSL* s, int where, int ret) {
    if ((where & SSL_CB_READ_ALERT) != 0) {
      *static_cast<int*>(SSL_get_ex_data(s, alert_index())) = ret & 0xff;
    }
  });
}

std::string selected_alpn(const SSL* ssl) {
  const unsigned char* p = nullptr;
  unsigned int n = 0;
  SSL_get0_alpn_selected(ssl, &p, &n);
  return std::string(reinterpret_cast<const char*>(p), n);
}

// The critical id-pe-acmeIdentifier extension of a certificate, or null.
const X509_EXTENSION* acme_identifier_extension(const X509* cert) {
  std::unique_ptr<ASN1_OBJECT, pki::Free<ASN1_OBJECT_free>> oid(
      OBJ_txt2obj(pki::kAcmeIdentifierOid, 1));
  int at = X509_get_ext_by_OBJ(cert, oid.get(), -1);
  return at < 0 ? nullptr : X509_get_ext(cert, at);
}

class AcmeAnswers : public testing::TlsTest {
 protected:
  AcmeAnswers() : TlsTest("acme answers CA") {
    server_.acme_directory = kDirectory;
    server_.acme_challenge = config::AcmeChallenge::kTlsAlpn01;
    server_.client_auth = config::ClientAuth::kRequire;
    auto challenge = pki::make_tls_alpn01_certificate(kName, "token.thumbprint");
    EXPECT_TRUE(challenge) << challenge.error().message();
    challenge_ = std::move(*challenge);
    EXPECT_TRUE(store_->add(kName, challenge_.certificate.get(), challenge_.key.get()));
    // Clients trust anything (the challenge certificate is self-signed) and
    // hold a client certificate they would send if asked.
    client_.trust_all = true;
    client_.verify_hostname = false;
  }

  std::shared_ptr<const Context> server() {
    BuildOptions o;
    o.acme_challenges = store_;
    return build(server_, Side::kServer, o);
  }

  std::shared_ptr<const Context> client(const std::vector<std::string>& alpn) {
    BuildOptions o;
    o.alpn = alpn;
    return build(client_, Side::kClient, o);
  }

  std::shared_ptr<AcmeChallengeStore> store_ = std::make_shared<AcmeChallengeStore>();
  pki::ChallengeCertificate challenge_;
};

TEST_F(AcmeAnswers, ValidatorGetsTheChallengeCertificateAndNothingElse) {
  auto srv = server();
  auto cli = client({"acme-tls/1"});
  ASSERT_TRUE(srv && cli);
  EXPECT_FALSE(srv->acme_pending);
  ASSERT_TRUE(srv->acme_hook);

  // Any case of the published name is the same SNI.
  MemoryConnection conn(*srv, *cli, "DB.example.com");
  auto outcome = conn.handshake();
  ASSERT_TRUE(outcome.ok()) << outcome.server_error << " / " << outcome.client_error;

  const X509* got = SSL_get0_peer_certificate(conn.client());
  ASSERT_NE(got, nullptr);
  EXPECT_EQ(X509_cmp(got, challenge_.certificate.get()), 0) << "not the store's certificate";
  const X509_EXTENSION* ext = acme_identifier_extension(got);
  ASSERT_NE(ext, nullptr) << "no acmeIdentifier extension";
  EXPECT_EQ(X509_EXTENSION_get_critical(ext), 1);
  EXPECT_EQ(selected_alpn(conn.client()), "acme-tls/1");
  EXPECT_EQ(selected_alpn(conn.server()), "acme-tls/1");

  const std::string* answered = answered_acme_challenge(conn.server());
  ASSERT_NE(answered, nullptr);
  EXPECT_EQ(*answered, kName);
  EXPECT_FALSE(refused_pending_certificate(conn.server()));

  // client_auth=REQUIRE, yet nobody asked the validator for a certificate
  // (it holds one, and would have sent it).
  EXPECT_EQ(SSL_get0_peer_certificate(conn.server()), nullptr);

  // No session ticket: the data flushes every ticket the server sent.
  EXPECT_EQ(conn.server_to_client("x"), "");
  auto session = conn.session();
  ASSERT_TRUE(session);
  EXPECT_FALSE(SSL_SESSION_has_ticket(session.get()));
  EXPECT_FALSE(SSL_SESSION_is_resumable(session.get()));
}

TEST_F(AcmeAnswers, OrdinaryClientsStillSeeThePolicy) {
  auto srv = server();
  auto cli = client({});
  ASSERT_TRUE(srv && cli);
  MemoryConnection conn(*srv, *cli, kName);
  auto outcome = conn.handshake();
  ASSERT_TRUE(outcome.ok()) << outcome.server_error << " / " << outcome.client_error;
  const X509* got = SSL_get0_peer_certificate(conn.client());
  ASSERT_NE(got, nullptr);
  EXPECT_EQ(acme_identifier_extension(got), nullptr);
  EXPECT_EQ(X509_cmp(got, SSL_CTX_get0_certificate(srv->ssl_ctx.get())), 0);
  EXPECT_EQ(answered_acme_challenge(conn.server()), nullptr);
  // REQUIRE: the client was asked for its certificate and sent it.
  EXPECT_NE(SSL_get0_peer_certificate(conn.server()), nullptr);
  // And got a ticket (the contrast to the validator above).
  EXPECT_EQ(conn.server_to_client("x"), "");
  EXPECT_TRUE(SSL_SESSION_has_ticket(conn.session().get()));
}

TEST_F(AcmeAnswers, AcmeTlsAlongsideAnotherProtocolGetsTheNormalCertificate) {
  auto srv = server();
  auto cli = client({"acme-tls/1", "h2"});
  ASSERT_TRUE(srv && cli);
  MemoryConnection conn(*srv, *cli, kName);
  auto outcome = conn.handshake();
  ASSERT_TRUE(outcome.ok()) << outcome.server_error << " / " << outcome.client_error;
  const X509* got = SSL_get0_peer_certificate(conn.client());
  ASSERT_NE(got, nullptr);
  EXPECT_EQ(acme_identifier_extension(got), nullptr);
  EXPECT_EQ(X509_cmp(got, SSL_CTX_get0_certificate(srv->ssl_ctx.get())), 0);
  EXPECT_NE(selected_alpn(conn.client()), "acme-tls/1");
  EXPECT_EQ(answered_acme_challenge(conn.server()), nullptr);
  EXPECT_NE(SSL_get0_peer_certificate(conn.server()), nullptr);
}

TEST_F(AcmeAnswers, UnknownNameIsRefusedWithUnrecognizedName) {
  auto srv = server();
  auto cli = client({"acme-tls/1"});
  ASSERT_TRUE(srv && cli);
  MemoryConnection conn(*srv, *cli, "other.example.com");
  int alert = 0;
  record_alerts(conn.client(), &alert);
  auto outcome = conn.handshake();
  EXPECT_FALSE(outcome.server_ok);
  EXPECT_FALSE(outcome.client_ok);
  EXPECT_EQ(alert, SSL_AD_UNRECOGNIZED_NAME);
  EXPECT_EQ(answered_acme_challenge(conn.server()), nullptr);
  EXPECT_FALSE(refused_pending_certificate(conn.server()));
}

TEST_F(AcmeAnswers, RemovedChallengeIsGone) {
  auto srv = server();
  auto cli = client({"acme-tls/1"});
  ASSERT_TRUE(srv && cli);
  {
    MemoryConnection conn(*srv, *cli, kName);
    ASSERT_TRUE(conn.handshake().ok());
  }
  EXPECT_EQ(store_->size(), 1u);
  store_->remove("DB.EXAMPLE.COM");  // the identifier in any case
  EXPECT_EQ(store_->size(), 0u);
  EXPECT_FALSE(store_->find(kName));
  MemoryConnection conn(*srv, *cli, kName);
  int alert = 0;
  record_alerts(conn.client(), &alert);
  auto outcome = conn.handshake();
  EXPECT_FALSE(outcome.client_ok);
  EXPECT_FALSE(outcome.server_ok);
  EXPECT_EQ(alert, SSL_AD_UNRECOGNIZED_NAME);
}

TEST_F(AcmeAnswers, IpIdentifierIsAnsweredOnItsReverseName) {
  auto ip = pki::make_tls_alpn01_certificate("192.0.2.7", "token.thumbprint");
  ASSERT_TRUE(ip) << ip.error().message();
  ASSERT_TRUE(store_->add("192.0.2.7", ip->certificate.get(), ip->key.get()));
  auto srv = server();
  auto cli = client({"acme-tls/1"});
  ASSERT_TRUE(srv && cli);
  MemoryConnection conn(*srv, *cli, "7.2.0.192.in-addr.arpa");
  auto outcome = conn.handshake();
  ASSERT_TRUE(outcome.ok()) << outcome.server_error << " / " << outcome.client_error;
  EXPECT_EQ(X509_cmp(SSL_get0_peer_certificate(conn.client()), ip->certificate.get()), 0);
  ASSERT_NE(answered_acme_challenge(conn.server()), nullptr);
  EXPECT_EQ(*answered_acme_challenge(conn.server()), "7.2.0.192.in-addr.arpa");
}

TEST_F(AcmeAnswers, ValidatorNeverResumesAnOrdinarySession) {
  auto srv = server();
  auto plain = client({});
  auto validator = client({"acme-tls/1"});
  ASSERT_TRUE(srv && plain && validator);
  SslSessionPtr session;
  {
    MemoryConnection conn(*srv, *plain, kName);
    ASSERT_TRUE(conn.handshake().ok());
    ASSERT_EQ(conn.server_to_client("x"), "");
    session = conn.session();
    ASSERT_TRUE(SSL_SESSION_is_resumable(session.get()));
  }
  MemoryConnection conn(*srv, *validator, kName, session.get());
  auto outcome = conn.handshake();
  ASSERT_TRUE(outcome.ok()) << outcome.server_error << " / " << outcome.client_error;
  EXPECT_FALSE(conn.resumed());
  EXPECT_EQ(X509_cmp(SSL_get0_peer_certificate(conn.client()), challenge_.certificate.get()), 0);
}

TEST_F(AcmeAnswers, Tls12ValidatorIsAnsweredAndGetsNoResumableSession) {
  client_.tls_versions = {"TLSv1.2"};
  auto srv = server();
  auto validator = client({"acme-tls/1"});
  ASSERT_TRUE(srv && validator);
  SslSessionPtr first;
  {
    MemoryConnection conn(*srv, *validator, kName);
    auto outcome = conn.handshake();
    ASSERT_TRUE(outcome.ok()) << outcome.server_error << " / " << outcome.client_error;
    EXPECT_STREQ(SSL_get_version(conn.client()), "TLSv1.2");
    EXPECT_EQ(X509_cmp(SSL_get0_peer_certificate(conn.client()), challenge_.certificate.get()), 0);
    EXPECT_EQ(SSL_get0_peer_certificate(conn.server()), nullptr);
    ASSERT_EQ(conn.server_to_client("x"), "");
    first = conn.session();
    EXPECT_FALSE(SSL_SESSION_has_ticket(first.get()));
    EXPECT_FALSE(SSL_SESSION_is_resumable(first.get()));
  }
  // Offered anyway, it is not resumed: the second validator sees the certificate again.
  MemoryConnection conn(*srv, *validator, kName, first.get());
  auto outcome = conn.handshake();
  ASSERT_TRUE(outcome.ok()) << outcome.server_error << " / " << outcome.client_error;
  EXPECT_FALSE(conn.resumed());
  EXPECT_NE(answered_acme_challenge(conn.server()), nullptr);
}

TEST_F(AcmeAnswers, Http01PolicyDoesNotAnswerTlsAlpn) {
  server_.acme_challenge = config::AcmeChallenge::kHttp01;
  auto srv = server();
  auto cli = client({"acme-tls/1"});
  ASSERT_TRUE(srv && cli);
  MemoryConnection conn(*srv, *cli, kName);
  auto outcome = conn.handshake();
  // Served as any client that offers an ALPN the server does not choose.
  ASSERT_TRUE(outcome.ok()) << outcome.server_error << " / " << outcome.client_error;
  EXPECT_EQ(answered_acme_challenge(conn.server()), nullptr);
  EXPECT_EQ(acme_identifier_extension(SSL_get0_peer_certificate(conn.client())), nullptr);
  EXPECT_EQ(selected_alpn(conn.client()), "");
}

class AcmePending : public AcmeAnswers {
 protected:
  AcmePending() { std::filesystem::remove(server_.public_certificate); }
};

TEST_F(AcmePending, RefusesOrdinaryClientsAndSaysWhy) {
  auto srv = server();
  auto cli = client({});
  ASSERT_TRUE(srv && cli);
  EXPECT_TRUE(srv->acme_pending);
  EXPECT_FALSE(srv->certificate);
  MemoryConnection conn(*srv, *cli, kName);
  auto outcome = conn.handshake();
  EXPECT_FALSE(outcome.server_ok);
  EXPECT_FALSE(outcome.client_ok);
  EXPECT_TRUE(refused_pending_certificate(conn.server()));
  EXPECT_EQ(outcome.server_reason, FailureReason::kCertificatePending);
  EXPECT_NE(outcome.server_error.find(kDirectory), std::string::npos) << outcome.server_error;
  EXPECT_NE(outcome.server_error.find("ssl.policy.srv.public_certificate"), std::string::npos)
      << outcome.server_error;
  EXPECT_EQ(answered_acme_challenge(conn.server()), nullptr);
}

TEST_F(AcmePending, RefusesAcmeTlsWithAnotherProtocol) {
  auto srv = server();
  auto cli = client({"acme-tls/1", "h2"});
  ASSERT_TRUE(srv && cli);
  MemoryConnection conn(*srv, *cli, kName);
  auto outcome = conn.handshake();
  EXPECT_FALSE(outcome.server_ok);
  EXPECT_TRUE(refused_pending_certificate(conn.server()));
}

TEST_F(AcmePending, StillAnswersAPublishedChallenge) {
  auto srv = server();
  auto cli = client({"acme-tls/1"});
  ASSERT_TRUE(srv && cli);
  MemoryConnection conn(*srv, *cli, kName);
  auto outcome = conn.handshake();
  ASSERT_TRUE(outcome.ok()) << outcome.server_error << " / " << outcome.client_error;
  EXPECT_EQ(X509_cmp(SSL_get0_peer_certificate(conn.client()), challenge_.certificate.get()), 0);
  ASSERT_NE(answered_acme_challenge(conn.server()), nullptr);
  EXPECT_FALSE(refused_pending_certificate(conn.server()));
  EXPECT_EQ(SSL_get0_peer_certificate(conn.server()), nullptr);
}

TEST_F(AcmePending, WithoutAStoreRefusesEveryone) {
  auto srv = build(server_, Side::kServer, {});
  auto cli = client({"acme-tls/1"});
  ASSERT_TRUE(srv && cli);
  EXPECT_TRUE(srv->acme_pending);
  MemoryConnection conn(*srv, *cli, kName);
  auto outcome = conn.handshake();
  EXPECT_FALSE(outcome.server_ok);
  EXPECT_FALSE(outcome.client_ok);
}

TEST(AcmeChallengeStore, FindIsSafeWhileAnotherThreadAddsAndRemoves) {
  auto challenge = pki::make_tls_alpn01_certificate(kName, "token.thumbprint");
  ASSERT_TRUE(challenge) << challenge.error().message();
  AcmeChallengeStore store;
  std::atomic<bool> done{false};
  std::atomic<int> wrong{0};
  std::atomic<int> found{0};
  std::thread reader([&] {
    // Bounded: stops when the writer is done, or after a million lookups.
    for (int i = 0; i < 1'000'000 && !done.load(); ++i) {
      auto ctx = store.find(i % 2 == 0 ? "db.example.com" : "DB.EXAMPLE.COM");
      if (!ctx) continue;
      ++found;
      if (X509_cmp(SSL_CTX_get0_certificate(ctx.get()), challenge->certificate.get()) != 0) {
        ++wrong;
      }
      (void)store.size();
    }
  });
  int failed_adds = 0;
  for (int i = 0; i <= 300; ++i) {
    if (!store.add(kName, challenge->certificate.get(), challenge->key.get())) ++failed_adds;
    if (i % 3 != 0) store.remove(kName);
  }
  done = true;
  reader.join();
  EXPECT_EQ(failed_adds, 0);
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(store.size(), 1u);  // the last add (i = 300) was not removed
  ASSERT_TRUE(store.find(kName));
  // A context found stays usable after it is removed (it was up-referenced).
  auto held = store.find(kName);
  store.remove(kName);
  EXPECT_EQ(X509_cmp(SSL_CTX_get0_certificate(held.get()), challenge->certificate.get()), 0);
  EXPECT_FALSE(store.find(kName));
}

}  // namespace
}  // namespace tlsgate::tls
