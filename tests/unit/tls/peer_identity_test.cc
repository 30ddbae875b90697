#include "tls/peer_identity.h"

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "pki/pin.h"
#include "tls_fixture.h"
#include "util/strings.h"

namespace tlsgate::tls {
namespace {

using config::IdentityFrom;
using Names = std::vector<std::string>;

// A client certificate with one name of every kind.
const Names kAppNames = {"app1", "db.example.com", "app1@example.com", "ops@example.com",
                         "spiffe://example.com/app1"};

TEST(IdentitiesOf, EachMappingTakesItsPartOfTheCertificate) {
  auto ca = test::make_test_ca("Identity CA");
  auto leaf = test::make_leaf(ca, kAppNames, false, true);
  const X509* cert = leaf.cert.get();
  EXPECT_EQ(identities_of(cert, IdentityFrom::kSubject), Names{"CN=app1,O=tlsgate"});
  EXPECT_EQ(identities_of(cert, IdentityFrom::kCn), Names{"app1"});
  EXPECT_EQ(identities_of(cert, IdentityFrom::kSanDns), (Names{"app1", "db.example.com"}));
  EXPECT_EQ(identities_of(cert, IdentityFrom::kSanEmail),
            (Names{"app1@example.com", "ops@example.com"}));
  EXPECT_EQ(identities_of(cert, IdentityFrom::kSanUri), Names{"spiffe://example.com/app1"});
  auto plain = test::make_leaf(ca, {"app2"}, false, true);
  EXPECT_EQ(identities_of(plain.cert.get(), IdentityFrom::kSanEmail), Names{});
}

// check_peer() right after real handshakes, on both sides.
class CheckPeerTest : public testing::TlsTest {
 protected:
  CheckPeerTest() : TlsTest("Identity CA", kAppNames) {}

  // The server's check of the client after a handshake under server_ and client_.
  util::Result<PeerIdentity> server_check() {
    auto server = build(server_, Side::kServer);
    auto client = build(client_, Side::kClient);
    testing::MemoryConnection conn(*server, *client, "localhost");
    auto outcome = conn.handshake();
    EXPECT_TRUE(outcome.ok()) << outcome.server_error << " / " << outcome.client_error;
    return check_peer(conn.server(), *server);
  }

  // Why the server refused the client ("" when it let it in).
  std::string refusal() {
    auto peer = server_check();
    return peer ? std::string() : peer.error().message();
  }

  // The client's own policy without a certificate: it dials anonymously.
  void client_without_certificate() {
    std::filesystem::remove(client_.public_certificate);
    std::filesystem::remove(client_.private_key);
  }

  std::string client_pin_hex() { return util::hex(pki::spki_sha256(client_leaf_.cert.get())); }
};

TEST_F(CheckPeerTest, AnonymousClientIsAllowedWithoutAllowListOrPins) {
  client_without_certificate();
  auto peer = server_check();
  ASSERT_TRUE(peer) << peer.error().message();
  EXPECT_FALSE(peer->presented);
  EXPECT_EQ(peer->subject, "");
  EXPECT_EQ(peer->identity, "");
}

TEST_F(CheckPeerTest, AnonymousClientIsRefusedWhenAnAllowListOrPinsNeedACertificate) {
  client_without_certificate();
  server_.allowed_identities = {"app1"};
  EXPECT_EQ(refusal(),
            "client sent no certificate, but ssl.policy.srv.allowed_identities requires one");
  server_.allowed_identities.clear();
  server_.pinned_certs = {client_pin_hex()};
  EXPECT_EQ(refusal(), "client sent no certificate, but ssl.policy.srv.pinned_certs requires one");
}

TEST_F(CheckPeerTest, WithoutAllowListTheFirstCandidateIsTheIdentity) {
  server_.identity_from = IdentityFrom::kSanEmail;
  auto peer = server_check();
  ASSERT_TRUE(peer) << peer.error().message();
  EXPECT_TRUE(peer->presented);
  EXPECT_EQ(peer->subject, "CN=app1,O=tlsgate");
  EXPECT_EQ(peer->identity, "app1@example.com");
}

TEST_F(CheckPeerTest, TheAllowedCandidateIsTheIdentityNotTheFirst) {
  server_.identity_from = IdentityFrom::kSanEmail;
  server_.allowed_identities = {"root@example.com", "ops@example.com"};
  auto peer = server_check();
  ASSERT_TRUE(peer) << peer.error().message();
  EXPECT_EQ(peer->identity, "ops@example.com");
}

TEST_F(CheckPeerTest, RefusalsNameTheCertificateWhatItHasAndTheKey) {
  server_.allowed_identities = {"CN=app2,O=tlsgate"};
  EXPECT_EQ(refusal(),
            "client certificate CN=app1,O=tlsgate is not in ssl.policy.srv.allowed_identities");

  server_.identity_from = IdentityFrom::kSanDns;
  server_.allowed_identities = {"other.example.com"};
  EXPECT_EQ(refusal(),
            "client certificate CN=app1,O=tlsgate (san_dns app1, db.example.com) is not in "
            "ssl.policy.srv.allowed_identities");

  server_.identity_from = IdentityFrom::kSanUri;
  server_.allowed_identities = {"spiffe://example.com/app1"};
  client_ =
      testing::make_policy(dir_.path(), "cli", ca_, test::make_leaf(ca_, {"app3"}, false, true));
  EXPECT_EQ(refusal(),
            "client certificate CN=app3,O=tlsgate (it has no san_uri) is not in "
            "ssl.policy.srv.allowed_identities");
}

// Review s23, security finding 2: the handshake asks for a certificate under
// REQUIRE, but a resumed session is not asked; check_peer refuses itself.
TEST_F(CheckPeerTest, NoCertificateUnderRequireIsRefusedByThePeerCheckToo) {
  client_without_certificate();
  server_.client_auth = config::ClientAuth::kOptional;
  auto server = build(server_, Side::kServer);
  auto client = build(client_, Side::kClient);
  testing::MemoryConnection conn(*server, *client, "localhost");
  ASSERT_TRUE(conn.handshake().ok());
  EXPECT_TRUE(check_peer(conn.server(), *server));
  server_.client_auth = config::ClientAuth::kRequire;
  auto require = build(server_, Side::kServer);
  auto refused = check_peer(conn.server(), *require);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message(),
            "client sent no certificate, but ssl.policy.srv.client_auth is REQUIRE");
}

// Review s23, security finding 4: a name with a NUL byte matches nothing
// here, but a backend reading the PROXY header as a C string would see
// `admin`: it is no identity at all.
TEST_F(CheckPeerTest, ANameWithAControlByteIsNoIdentity) {
  // Our issuer refuses such a name: the CN is put in afterwards and the
  // certificate signed again by the CA, as a careless CA would sign it.
  auto leaf = test::make_leaf(ca_, {"adminX.evil"}, false, true);
  X509_NAME* subject = X509_get_subject_name(leaf.cert.get());
  X509_NAME_ENTRY_free(
      X509_NAME_delete_entry(subject, X509_NAME_get_index_by_NID(subject, NID_commonName, -1)));
  const std::string nul_cn("admin\0.evil", 11);
  ASSERT_EQ(X509_NAME_add_entry_by_NID(subject, NID_commonName, V_ASN1_UTF8STRING,
                                       reinterpret_cast<const unsigned char*>(nul_cn.data()),
                                       static_cast<int>(nul_cn.size()), -1, 0),
            1);
  ASSERT_GT(X509_sign(leaf.cert.get(), ca_.ca.key.get(), EVP_sha256()), 0);
  client_ = testing::make_policy(dir_.path(), "cli", ca_, leaf);
  server_.identity_from = IdentityFrom::kCn;
  auto peer = server_check();
  ASSERT_TRUE(peer) << peer.error().message();
  EXPECT_TRUE(peer->presented);
  EXPECT_EQ(peer->identity, "");
  server_.allowed_identities = {"admin"};
  EXPECT_NE(refusal().find(std::string("(its cn \"admin\0.evil\" holds a control character, so "
                                       "it is no identity) is not in "
                                       "ssl.policy.srv.allowed_identities",
                                       114)),
            std::string::npos)
      << refusal();
}

TEST_F(CheckPeerTest, PinsAdmitTheirKeyAndNameTheOneTheyRefuse) {
  server_.identity_from = IdentityFrom::kCn;
  server_.pinned_certs = {client_pin_hex()};
  auto peer = server_check();
  ASSERT_TRUE(peer) << peer.error().message();
  EXPECT_EQ(peer->identity, "app1");

  server_.pinned_certs = {std::string(64, 'a')};
  EXPECT_EQ(refusal(), "client certificate CN=app1,O=tlsgate (pin sha256:" + client_pin_hex() +
                           ") is not in ssl.policy.srv.pinned_certs");
}

TEST_F(CheckPeerTest, TrustAllSkipsPinsAndAllowList) {
  server_.trust_all = true;
  server_.identity_from = IdentityFrom::kCn;
  server_.pinned_certs = {std::string(64, 'a')};
  server_.allowed_identities = {"somebody-else"};
  auto peer = server_check();
  ASSERT_TRUE(peer) << peer.error().message();
  EXPECT_EQ(peer->identity, "app1");
}

TEST_F(CheckPeerTest, TheClientSideChecksTheServerAgainstItsOwnPolicy) {
  client_.pinned_certs = {std::string(64, 'b')};
  auto server = build(server_, Side::kServer);
  auto client = build(client_, Side::kClient);
  testing::MemoryConnection conn(*server, *client, "localhost");
  ASSERT_TRUE(conn.handshake().ok());
  auto peer = check_peer(conn.client(), *client);
  ASSERT_FALSE(peer);
  EXPECT_EQ(
      peer.error().message().rfind("server certificate CN=localhost,O=tlsgate (pin sha256:", 0), 0u)
      << peer.error().message();
  EXPECT_NE(peer.error().message().find(") is not in ssl.policy.cli.pinned_certs"),
            std::string::npos)
      << peer.error().message();
}

}  // namespace
}  // namespace tlsgate::tls
