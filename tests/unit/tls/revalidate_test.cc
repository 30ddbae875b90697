#include "tls/revalidate.h"

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <openssl/err.h>

#include "pki/certificate_info.h"
#include "pki/crl_issuer.h"
#include "pki/encode.h"
#include "pki/loader.h"
#include "pki/x509_build.h"
#include "support/temp_dir.h"
#include "tls_fixture.h"
#include "util/strings.h"

namespace tlsgate::tls {
namespace {

using namespace std::chrono_literals;
using testing::kClientAddress;
using testing::kServerAddress;
using testing::MemoryConnection;

// How explain_verify_failure() words a certificate its issuer revoked in the
// CRL file `crl` of policy `scope`, after "failed verification: ".
std::string revoked_words(const X509* cert, const std::filesystem::path& crl,
                          const std::string& scope, const std::string& holder) {
  auto info = pki::describe(cert, util::SystemClock::instance());
  return "certificate revoked: its issuer " + info.issuer + " revoked it (serial " +
         info.serial_hex + ") in the CRL " + crl.string() + " of ssl.policy." + scope +
         ".revoked_dir; the " + holder + " needs a new certificate if it should keep its access";
}

// A connection established under server_ and client_ (both trust the CA of
// both certificates), then re-checked against contexts built from changed
// policies. The expected refusals are those of a fresh handshake under the
// changed policy: a re-check must speak the handshake's words.
class RecheckTest : public testing::TlsTest {
 protected:
  RecheckTest() : TlsTest("Recheck CA", {"app1"}) {}

  void connect() {
    server_ctx_ = build(server_, Side::kServer);
    client_ctx_ = build(client_, Side::kClient);
    ASSERT_TRUE(server_ctx_ && client_ctx_);
    conn_ = std::make_unique<MemoryConnection>(*server_ctx_, *client_ctx_, "localhost");
    auto outcome = conn_->handshake();
    ASSERT_TRUE(outcome.ok()) << outcome.server_error << " / " << outcome.client_error;
    ASSERT_EQ(conn_->client_to_server("x"), "");
  }

  // The server's re-check of its client under `policy` at `now`: "" or the refusal.
  std::string server_recheck(const config::Policy& policy,
                             util::SystemTime now = std::chrono::system_clock::now()) {
    auto ctx = build(policy, Side::kServer);
    if (!ctx) return "policy did not build";
    auto r = recheck_peer(connected_peer(conn_->server(), kClientAddress), *ctx, now);
    EXPECT_EQ(ERR_peek_error(), 0u) << "a re-check leaves the error queue empty";
    return r ? std::string() : r.error().message();
  }

  // The client's re-check of its backend, dialled as `name`.
  std::string client_recheck(const config::Policy& policy, const std::string& name = "localhost") {
    auto ctx = build(policy, Side::kClient);
    if (!ctx) return "policy did not build";
    auto r = recheck_peer(connected_peer(conn_->client(), kServerAddress, name), *ctx,
                          std::chrono::system_clock::now());
    return r ? std::string() : r.error().message();
  }

  // What a new handshake under server `s` says of the same client.
  std::string handshake_refusal(const config::Policy& s) {
    auto server = build(s, Side::kServer);
    auto client = build(client_, Side::kClient);
    MemoryConnection conn(*server, *client, "localhost");
    auto outcome = conn.handshake();
    if (!outcome.server_ok) return outcome.server_error;
    auto checked = check_peer(conn.server(), *server);
    EXPECT_FALSE(checked) << "the changed policy should refuse a new handshake too";
    return checked ? std::string() : checked.error().message();
  }

  // A CRL of the test CA revoking `cert`, in `policy`'s revoked_dir.
  void revoke(const config::Policy& policy, const X509* cert) {
    auto crl =
        pki::create_crl(ca_.ca.cert.get(), ca_.ca.key.get(), {cert}, util::SystemClock::instance());
    ASSERT_TRUE(crl) << crl.error().message();
    auto pem = pki::crl_pem(crl->get());
    ASSERT_TRUE(pem) << pem.error().message();
    test::write_text(policy.revoked_dir / "ca.crl", *pem);
  }

  const X509* server_leaf() const { return SSL_get0_peer_certificate(conn_->client()); }

  std::shared_ptr<const Context> server_ctx_, client_ctx_;
  std::unique_ptr<MemoryConnection> conn_;
};

TEST_F(RecheckTest, UnchangedPolicyKeepsThePeerWithItsIdentity) {
  connect();
  auto r = recheck_peer(connected_peer(conn_->server(), kClientAddress), *server_ctx_,
                        std::chrono::system_clock::now());
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(r->presented);
  EXPECT_EQ(r->identity, "CN=app1,O=tlsgate");
  EXPECT_EQ(client_recheck(client_), "");
}

TEST_F(RecheckTest, NewCrlRefusesTheRevokedClientInTheHandshakesWords) {
  connect();
  revoke(server_, client_leaf_.cert.get());
  auto refusal = server_recheck(server_);
  EXPECT_EQ(refusal, std::string("client certificate CN=app1,O=tlsgate from ") + kClientAddress +
                         " failed verification: " +
                         revoked_words(client_leaf_.cert.get(), server_.revoked_dir / "ca.crl",
                                       "srv", "client"));
  EXPECT_EQ(refusal, handshake_refusal(server_));
}

TEST_F(RecheckTest, CrlOfAnotherCertificateKeepsTheClient) {
  connect();
  auto other = test::make_leaf(ca_, {"app2"}, false, true);
  revoke(server_, other.cert.get());
  EXPECT_EQ(server_recheck(server_), "");
}

TEST_F(RecheckTest, IdentityRemovedFromTheAllowListIsRefused) {
  server_.identity_from = config::IdentityFrom::kCn;
  server_.allowed_identities = {"app1", "app2"};
  connect();
  EXPECT_EQ(server_recheck(server_), "");
  server_.allowed_identities = {"app2"};
  auto refusal = server_recheck(server_);
  EXPECT_EQ(refusal,
            "client certificate CN=app1,O=tlsgate (cn app1) is not in "
            "ssl.policy.srv.allowed_identities");
  EXPECT_EQ(refusal, handshake_refusal(server_));
}

TEST_F(RecheckTest, PinOfAnotherKeyRefusesTheClient) {
  connect();
  auto other = test::make_leaf(ca_, {"app2"}, false, true);
  server_.pinned_certs = {pki::describe(other.cert.get(), util::SystemClock::instance()).pin_hex};
  EXPECT_NE(server_recheck(server_).find("is not in ssl.policy.srv.pinned_certs"),
            std::string::npos);
  server_.pinned_certs = {
      pki::describe(client_leaf_.cert.get(), util::SystemClock::instance()).pin_hex};
  EXPECT_EQ(server_recheck(server_), "");
}

TEST_F(RecheckTest, ATrustedDirWithoutTheIssuerRefusesTheClient) {
  connect();
  auto stranger = test::make_test_ca("Stranger CA");
  test::write_cert(server_.trusted_dir / "ca.crt", stranger.ca.cert.get());
  auto refusal = server_recheck(server_);
  EXPECT_EQ(refusal, handshake_refusal(server_));
  EXPECT_NE(refusal.find("unable to get local issuer certificate"), std::string::npos) << refusal;
}

TEST_F(RecheckTest, TheClientCertificateExpiresAtItsNotAfter) {
  connect();
  auto not_after = pki::describe(client_leaf_.cert.get(), util::SystemClock::instance()).not_after;
  auto expiry = peer_expiry(conn_->server());
  ASSERT_TRUE(expiry);
  EXPECT_LE(*expiry, not_after);  // the CA may expire first
  EXPECT_EQ(server_recheck(server_, *expiry - 1s), "");
  EXPECT_EQ(
      server_recheck(server_, not_after + 1s),
      std::string("client certificate CN=app1,O=tlsgate from ") + kClientAddress +
          " failed verification: certificate has expired: it expired on " +
          pki::describe(client_leaf_.cert.get(), util::SystemClock::instance()).not_after_text +
          "; the client must renew its certificate");
}

TEST_F(RecheckTest, PeerExpiryIsTheEarliestOfTheVerifiedChain) {
  auto now = std::chrono::system_clock::now();
  client_leaf_ = test::make_leaf(ca_, {"app1"}, false, true, test::Validity{now - 1h, now + 30s});
  test::write_cert(client_.public_certificate, client_leaf_.cert.get());
  test::write_key(client_.private_key, client_leaf_.key.get());
  connect();
  auto expiry = peer_expiry(conn_->server());
  ASSERT_TRUE(expiry);
  EXPECT_EQ(std::chrono::floor<std::chrono::seconds>(*expiry),
            std::chrono::floor<std::chrono::seconds>(now + 30s));
  EXPECT_FALSE(peer_expiry(conn_->client()) < expiry) << "the server certificate lasts longer";
}

TEST_F(RecheckTest, ClientAuthRequireRefusesAnAnonymousClient) {
  std::filesystem::remove(client_.public_certificate);
  std::filesystem::remove(client_.private_key);
  connect();
  EXPECT_EQ(server_recheck(server_), "");
  EXPECT_FALSE(peer_expiry(conn_->server()));
  server_.client_auth = config::ClientAuth::kRequire;
  EXPECT_EQ(server_recheck(server_),
            "the client sent no certificate, but ssl.policy.srv.client_auth is REQUIRE");
  server_.client_auth = config::ClientAuth::kOptional;
  server_.allowed_identities = {"app1"};
  EXPECT_EQ(server_recheck(server_),
            "client sent no certificate, but ssl.policy.srv.allowed_identities requires one");
}

TEST_F(RecheckTest, ClientAuthNoneSeesAnAnonymousPeer) {
  connect();
  server_.client_auth = config::ClientAuth::kNone;
  revoke(server_, client_leaf_.cert.get());
  EXPECT_EQ(server_recheck(server_), "") << "no certificate is asked for, so none is checked";
  server_.allowed_identities = {"CN=app1,O=tlsgate"};
  EXPECT_EQ(server_recheck(server_),
            "client sent no certificate, but ssl.policy.srv.allowed_identities requires one");
}

TEST_F(RecheckTest, TrustAllKeepsEvenARevokedClient) {
  connect();
  revoke(server_, client_leaf_.cert.get());
  server_.trust_all = true;
  EXPECT_EQ(server_recheck(server_), "");
}

TEST_F(RecheckTest, RevokedBackendIsRefusedByTheClientSide) {
  connect();
  revoke(client_, server_leaf());
  EXPECT_EQ(client_recheck(client_),
            std::string("backend certificate CN=localhost,O=tlsgate from ") + kServerAddress +
                " failed verification: " +
                revoked_words(server_leaf(), client_.revoked_dir / "ca.crl", "cli", "backend"));
}

TEST_F(RecheckTest, BackendNameIsCheckedWhenThePolicySaysSo) {
  connect();
  client_.verify_hostname = true;
  EXPECT_EQ(client_recheck(client_, "127.0.0.1"), "");
  EXPECT_EQ(client_recheck(client_, "db.other.test"),
            std::string("backend certificate CN=localhost,O=tlsgate from ") + kServerAddress +
                " does not name db.other.test; reissue it with that name, or set "
                "upstream_server_name to a name it has");
  client_.verify_hostname = false;
  EXPECT_EQ(client_recheck(client_, "db.other.test"), "");
}

// A CA issued by `root` (make_test_ca() re-signed), for chains with an intermediate.
test::TestCa intermediate_ca(const test::TestCa& root, const std::string& name) {
  auto ca = test::make_test_ca(name);
  X509* x = ca.ca.cert.get();
  X509_set_issuer_name(x, X509_get_subject_name(root.ca.cert.get()));
  pki::X509ExtensionPtr self_aki(
      X509_delete_ext(x, X509_get_ext_by_NID(x, NID_authority_key_identifier, -1)));
  auto aki =
      pki::make_extension(NID_authority_key_identifier, "keyid:always", root.ca.cert.get(), x);
  EXPECT_TRUE(aki) << aki.error().message();
  X509_add_ext(x, aki->get(), -1);
  X509_sign(x, root.ca.key.get(), EVP_sha256());
  // Parsed again: OpenSSL cached the certificate as self-signed.
  auto pem = pki::certificate_pem(x);
  auto parsed = pki::parse_certificates(*pem, name);
  EXPECT_TRUE(parsed) << parsed.error().message();
  ca.ca.cert = std::move(parsed->front());
  return ca;
}

// A client whose certificate comes from an intermediate it sends along (the
// server trusts only the root), re-checked after it resumed its session: the
// resumed SSL no longer holds the chain the client sent.
class ResumedRecheckTest : public RecheckTest {
 protected:
  void SetUp() override {
    inter_ = intermediate_ca(ca_, "Recheck Intermediate");
    client_leaf_ = test::make_leaf(inter_, {"app1"}, false, true);
    test::write_text(client_.public_certificate, *pki::certificate_pem(client_leaf_.cert.get()) +
                                                     *pki::certificate_pem(inter_.ca.cert.get()));
    test::write_key(client_.private_key, client_leaf_.key.get());
    connect();
    if (HasFatalFailure()) return;
    ASSERT_EQ(conn_->server_to_client("ticket"), "");  // TLS 1.3 tickets come after the handshake
    auto session = conn_->session();
    conn_ =
        std::make_unique<MemoryConnection>(*server_ctx_, *client_ctx_, "localhost", session.get());
    auto outcome = conn_->handshake();
    ASSERT_TRUE(outcome.ok()) << outcome.server_error << " / " << outcome.client_error;
    ASSERT_TRUE(conn_->resumed());
    ASSERT_EQ(conn_->client_to_server("x"), "");
  }

  // The server's re-check of the resumed client under `policy`, admitted by server_ctx_.
  std::string resumed_recheck(const config::Policy& policy) {
    auto ctx = build(policy, Side::kServer);
    if (!ctx) return "policy did not build";
    auto peer = connected_peer(conn_->server(), kClientAddress);
    EXPECT_TRUE(peer.resumed);
    auto r = recheck_peer(peer, *ctx, std::chrono::system_clock::now(), server_ctx_.get());
    EXPECT_EQ(ERR_peek_error(), 0u);
    return r ? std::string() : r.error().message();
  }

  test::TestCa inter_;
};

TEST_F(ResumedRecheckTest, AResumedClientStaysWhenNothingAboutItChanged) {
  EXPECT_EQ(resumed_recheck(server_), "");
}

TEST_F(ResumedRecheckTest, AResumedClientRevokedByItsIntermediatesCrlIsRefused) {
  auto crl = pki::create_crl(inter_.ca.cert.get(), inter_.ca.key.get(), {client_leaf_.cert.get()},
                             util::SystemClock::instance());
  ASSERT_TRUE(crl) << crl.error().message();
  test::write_text(server_.revoked_dir / "inter.crl", *pki::crl_pem(crl->get()));
  EXPECT_EQ(resumed_recheck(server_),
            std::string("client certificate CN=app1,O=tlsgate from ") + kClientAddress +
                " failed verification: " +
                revoked_words(client_leaf_.cert.get(), server_.revoked_dir / "inter.crl", "srv",
                              "client"));
}

// The intermediate leaves trusted_dir, the root stays: a full handshake
// would admit the client, who sends the intermediate; so does the re-check,
// with the chain its ticket kept.
TEST_F(ResumedRecheckTest, AResumedClientIsJudgedOnTheChainItSentLikeAFullHandshake) {
  test::write_cert(server_.trusted_dir / "inter.crt", inter_.ca.cert.get());
  auto admitted = build(server_, Side::kServer);
  std::filesystem::remove(server_.trusted_dir / "inter.crt");
  auto ctx = build(server_, Side::kServer);
  auto r = recheck_peer(connected_peer(conn_->server(), kClientAddress), *ctx,
                        std::chrono::system_clock::now(), admitted.get());
  EXPECT_TRUE(r) << r.error().message();
}

TEST_F(ResumedRecheckTest, TheTicketKeepsTheChainTheClientSent) {
  auto peer = connected_peer(conn_->server(), kClientAddress);
  ASSERT_TRUE(peer.ticket_chain);
  ASSERT_EQ(sk_X509_num(peer.sent), 1);
  EXPECT_EQ(X509_cmp(sk_X509_value(peer.sent, 0), inter_.ca.cert.get()), 0);
  // A session resumed from a resumed one keeps it too (its ticket is a copy).
  auto session = conn_->session();
  conn_ =
      std::make_unique<MemoryConnection>(*server_ctx_, *client_ctx_, "localhost", session.get());
  ASSERT_TRUE(conn_->handshake().ok());
  ASSERT_TRUE(conn_->resumed());
  auto again = connected_peer(conn_->server(), kClientAddress);
  ASSERT_TRUE(again.ticket_chain);
  EXPECT_EQ(sk_X509_num(again.sent), 1);
}

// The root the intermediate chains to leaves trusted_dir: the resumed client
// is refused, also when checked against the context it resumed under (as
// the gate does at resumption, not knowing which context admitted it).
TEST_F(ResumedRecheckTest, AResumedClientWhoseRootIsTrustedNoMoreIsRefused) {
  for (const auto& f : std::filesystem::directory_iterator(server_.trusted_dir))
    std::filesystem::remove(f.path());
  auto other = test::make_test_ca("Some Other CA");
  test::write_cert(server_.trusted_dir / "other.crt", other.ca.cert.get());
  auto ctx = build(server_, Side::kServer);
  ASSERT_TRUE(ctx);
  auto peer = connected_peer(conn_->server(), kClientAddress);
  auto r = recheck_peer(peer, *ctx, std::chrono::system_clock::now(), ctx.get());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("unable to get local issuer certificate"), std::string::npos)
      << r.error().message();
  EXPECT_TRUE(recheck_peer(peer, *server_ctx_, std::chrono::system_clock::now(), ctx.get()));
}

TEST(CertificateSha256, IsTheDigestOfTheDer) {
  auto ca = test::make_test_ca("Digest CA");
  auto leaf = test::make_leaf(ca, {"app1"});
  auto digest = certificate_sha256(*leaf.cert);
  ASSERT_EQ(digest.size(), 32u);
  std::string colons = util::hex(digest, ":");
  for (auto& c : colons) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(colons,
            pki::describe(leaf.cert.get(), util::SystemClock::instance()).fingerprint_sha256);
}

}  // namespace
}  // namespace tlsgate::tls
