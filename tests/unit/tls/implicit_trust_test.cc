// implicit_trust_renewed: a peer trusted by its exact certificate stays
// trusted when it renews with the same key and issuer (RavenDB's rule),
// with real handshakes in memory.
#include <gtest/gtest.h>

#include "pki/issuer.h"
#include "tls_fixture.h"

namespace tlsgate::tls {
namespace {

namespace fs = std::filesystem;

class ImplicitTrust : public ::testing::Test {
 protected:
  ImplicitTrust()
      : server_ca_(test::make_test_ca("Server CA")),
        node_ca_(test::make_test_ca("Node CA")),
        node_(test::make_leaf(node_ca_, {"node1.test"}, false, true)) {
    auto server_leaf = test::make_leaf(server_ca_, {"localhost"});
    server_ = test::make_policy(dir_.path() / "s", "cluster", server_ca_, server_leaf);
    server_.client_auth = config::ClientAuth::kRequire;
    // The server trusts node1 by its exact certificate, not node1's CA.
    fs::remove(server_.trusted_dir / "ca.crt");
    test::write_cert(server_.trusted_dir / "node1.crt", node_.cert.get());
  }

  // A client presenting `leaf` to the server; the server's verdict.
  testing::MemoryConnection::Outcome connect(const pki::Issued& leaf, bool implicit_trust,
                                    std::string* renewed = nullptr) {
    server_.implicit_trust_renewed = implicit_trust;
    auto server = build_context(server_, Side::kServer, {}, util::SystemClock::instance());
    EXPECT_TRUE(server) << server.error().message();
    auto client_policy = test::make_policy(dir_.path() / "c", "cluster", server_ca_, leaf);
    auto client = build_context(client_policy, Side::kClient, {}, util::SystemClock::instance());
    EXPECT_TRUE(client) << client.error().message();
    testing::MemoryConnection conn(**server, **client, "localhost");
    auto out = conn.handshake();
    if (renewed) {
      const auto* r = renewed_trusted_leaf(conn.server());
      *renewed = r ? *r : "";
    }
    return out;
  }

  pki::Issued renew(const pki::Issued& old, bool same_key) {
    pki::CertRequest req;
    req.names = {"node1.test"};
    req.server = false;
    req.client = true;
    if (same_key) {
      EVP_PKEY_up_ref(old.key.get());
      req.existing_key.reset(old.key.get());
    }
    return *pki::issue_certificate(req, node_ca_.ca.cert.get(), node_ca_.ca.key.get(),
                                   util::SystemClock::instance());
  }

  test::TempDir dir_;
  test::TestCa server_ca_, node_ca_;
  pki::Issued node_;
  config::Policy server_;
};

TEST_F(ImplicitTrust, TheTrustedCertificateItselfIsAccepted) {
  std::string renewed;
  EXPECT_TRUE(connect(node_, true, &renewed).ok());
  EXPECT_EQ(renewed, "");  // trusted as it is, not as a renewal
}

TEST_F(ImplicitTrust, ARenewalWithTheSameKeyAndIssuerIsAcceptedAndNamed) {
  auto renewed_leaf = renew(node_, /*same_key=*/true);
  std::string renewed;
  auto out = connect(renewed_leaf, true, &renewed);
  EXPECT_TRUE(out.ok()) << out.server_error;
  EXPECT_NE(renewed.find("CN=node1.test"), std::string::npos) << renewed;
  EXPECT_NE(renewed.find(server_.trusted_dir.string()), std::string::npos) << renewed;
}

TEST_F(ImplicitTrust, OffItIsRefused) {
  auto out = connect(renew(node_, true), false);
  EXPECT_FALSE(out.server_ok);
}

TEST_F(ImplicitTrust, ANewKeyIsNoRenewal) {
  auto out = connect(renew(node_, /*same_key=*/false), true);
  EXPECT_FALSE(out.server_ok);
}

TEST_F(ImplicitTrust, TheSameKeyFromAnotherIssuerIsNoRenewal) {
  auto other_ca = test::make_test_ca("Other CA");
  pki::CertRequest req;
  req.names = {"node1.test"};
  req.server = false;
  req.client = true;
  EVP_PKEY_up_ref(node_.key.get());
  req.existing_key.reset(node_.key.get());
  auto forged = *pki::issue_certificate(req, other_ca.ca.cert.get(), other_ca.ca.key.get(),
                                        util::SystemClock::instance());
  EXPECT_FALSE(connect(forged, true).server_ok);
}

TEST_F(ImplicitTrust, AnExpiredRenewalIsStillRefused) {
  pki::CertRequest req;
  req.names = {"node1.test"};
  req.server = false;
  req.client = true;
  EVP_PKEY_up_ref(node_.key.get());
  req.existing_key.reset(node_.key.get());
  auto now = std::chrono::system_clock::now();
  req.not_before = now - std::chrono::hours(48);
  req.not_after = now - std::chrono::hours(1);
  auto expired = *pki::issue_certificate(req, node_ca_.ca.cert.get(), node_ca_.ca.key.get(),
                                         util::SystemClock::instance());
  auto out = connect(expired, true);
  EXPECT_FALSE(out.server_ok);
  EXPECT_NE(out.server_error.find("expired"), std::string::npos) << out.server_error;
}

}  // namespace
}  // namespace tlsgate::tls
