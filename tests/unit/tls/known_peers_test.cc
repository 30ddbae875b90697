// known_peers (tls/known_peers.h): a cluster link accepts a peer only by the
// names its certificate carries, on top of chain verification — with real
// handshakes in memory, both directions: a client certificate on an incoming
// connector, a server certificate on an outgoing link.
#include "tls/known_peers.h"

#include <openssl/x509v3.h>

#include <gtest/gtest.h>

#include "pki/issuer.h"
#include "tls_fixture.h"

namespace tlsgate::tls {
namespace {

using testing::MemoryConnection;

class KnownPeers : public ::testing::Test {
 protected:
  KnownPeers() : ca_(test::make_test_ca("Cluster CA")) {}

  // Node b dials node a: a's server policy checks b's client certificate
  // against `known` (incoming).
  MemoryConnection::Outcome incoming(const pki::Issued& client_leaf,
                                     std::vector<std::string> known) {
    auto server_policy =
        test::make_policy(dir_.path() / "a", "cluster", ca_, test::make_leaf(ca_, {"localhost"}));
    server_policy.client_auth = config::ClientAuth::kRequire;
    server_policy.known_peers = std::move(known);
    auto client_policy = test::make_policy(dir_.path() / "b", "cluster", ca_, client_leaf);
    return run(server_policy, client_policy);
  }

  // This node dials a peer serving `server_leaf`: the client policy checks
  // the server's certificate against `known` (outgoing, upstream_ssl_policy).
  MemoryConnection::Outcome outgoing(const pki::Issued& server_leaf,
                                     std::vector<std::string> known) {
    auto server_policy = test::make_policy(dir_.path() / "peer", "cluster", ca_, server_leaf);
    server_policy.client_auth = config::ClientAuth::kRequire;
    auto client_policy = test::make_policy(dir_.path() / "self", "cluster", ca_,
                                           test::make_leaf(ca_, {"self.cluster.test"}, true, true));
    client_policy.known_peers = std::move(known);
    return run(server_policy, client_policy);
  }

  MemoryConnection::Outcome run(const config::Policy& server_policy,
                                const config::Policy& client_policy) {
    auto server = build_context(server_policy, Side::kServer, {}, util::SystemClock::instance());
    EXPECT_TRUE(server) << server.error().message();
    auto client = build_context(client_policy, Side::kClient, {}, util::SystemClock::instance());
    EXPECT_TRUE(client) << client.error().message();
    if (!server || !client) return {};
    MemoryConnection conn(**server, **client, "localhost");
    return conn.handshake();
  }

  pki::Issued client_leaf(const std::vector<std::string>& names) {
    return test::make_leaf(ca_, names, true, true);
  }

  // A leaf of ca_ whose subject CN is `cn` and that has no subjectAltName.
  pki::Issued without_san(const std::string& cn) {
    auto leaf = client_leaf({cn});
    int at = X509_get_ext_by_NID(leaf.cert.get(), NID_subject_alt_name, -1);
    EXPECT_GE(at, 0);
    X509_EXTENSION_free(X509_delete_ext(leaf.cert.get(), at));
    EXPECT_GT(X509_sign(leaf.cert.get(), ca_.ca.key.get(), EVP_sha256()), 0);
    EXPECT_EQ(X509_get_ext_by_NID(leaf.cert.get(), NID_subject_alt_name, -1), -1);
    return leaf;
  }

  test::TempDir dir_;
  test::TestCa ca_;
};

TEST_F(KnownPeers, IncomingExactNameIsAccepted) {
  auto out = incoming(client_leaf({"node-b.cluster.test"}),
                      {"node-c.cluster.test", "node-b.cluster.test"});
  EXPECT_TRUE(out.ok()) << out.server_error << out.client_error;
}

TEST_F(KnownPeers, IncomingWildcardIsAcceptedIgnoringCase) {
  auto out = incoming(client_leaf({"Node-B.cluster.test"}), {"*.CLUSTER.test"});
  EXPECT_TRUE(out.ok()) << out.server_error << out.client_error;
}

TEST_F(KnownPeers, IncomingWildcardAcrossTwoLabelsIsRefusedNamingTheSans) {
  auto out = incoming(client_leaf({"x.node-b.cluster.test"}), {"*.cluster.test"});
  EXPECT_FALSE(out.server_ok);
  EXPECT_EQ(reason_name(out.server_reason), "unknown_peer") << out.server_error;
  EXPECT_NE(out.server_error.find("client certificate CN=x.node-b.cluster.test"), std::string::npos)
      << out.server_error;
  EXPECT_NE(out.server_error.find("presents DNS:x.node-b.cluster.test, none of which "
                                  "ssl.policy.cluster.known_peers lists (*.cluster.test)"),
            std::string::npos)
      << out.server_error;
}

TEST_F(KnownPeers, NoSubjectAltNameIsRefusedEvenWhenTheCnMatches) {
  auto out = incoming(without_san("node-b.cluster.test"), {"node-b.cluster.test"});
  EXPECT_FALSE(out.server_ok);
  EXPECT_EQ(reason_name(out.server_reason), "unknown_peer") << out.server_error;
  EXPECT_NE(out.server_error.find("presents no subjectAltName"), std::string::npos)
      << out.server_error;
}

TEST_F(KnownPeers, AnEmptyListChecksNothingBeyondTheChain) {
  EXPECT_TRUE(incoming(without_san("anything"), {}).ok());
}

TEST_F(KnownPeers, UrlMatchesItsHostAmongDnsNamesAndAnEqualSanUri) {
  // The host of the URL against the SAN DNS names.
  auto by_host =
      incoming(client_leaf({"node-b.cluster.test"}), {"nats://node-b.cluster.test:6222"});
  EXPECT_TRUE(by_host.ok()) << by_host.server_error;
  // A SAN URI equal to the URL (case-insensitive), whatever the DNS names.
  auto by_uri = incoming(client_leaf({"other.test", "spiffe://cluster.test/node-b"}),
                         {"SPIFFE://cluster.test/node-b"});
  EXPECT_TRUE(by_uri.ok()) << by_uri.server_error;
  // Another URI is no match, nor is the URL's host against a URI.
  auto other = incoming(client_leaf({"other.test", "spiffe://cluster.test/node-c"}),
                        {"spiffe://cluster.test/node-b"});
  EXPECT_FALSE(other.server_ok);
  EXPECT_EQ(reason_name(other.server_reason), "unknown_peer");
  EXPECT_NE(other.server_error.find("presents DNS:other.test, URI:spiffe://cluster.test/node-c,"),
            std::string::npos)
      << other.server_error;
}

TEST_F(KnownPeers, OutgoingLinkChecksTheServersCertificate) {
  auto ok = outgoing(test::make_leaf(ca_, {"localhost", "node-b.cluster.test"}, true, true),
                     {"*.cluster.test"});
  EXPECT_TRUE(ok.ok()) << ok.client_error << ok.server_error;
  auto refused = outgoing(test::make_leaf(ca_, {"localhost", "node-c.other.test"}, true, true),
                          {"*.cluster.test", "https://node-b.cluster.test:7000"});
  EXPECT_FALSE(refused.client_ok);
  EXPECT_EQ(reason_name(refused.client_reason), "unknown_peer") << refused.client_error;
  EXPECT_NE(refused.client_error.find("backend certificate CN=localhost"), std::string::npos)
      << refused.client_error;
  EXPECT_NE(refused.client_error.find("presents DNS:localhost, DNS:node-c.other.test, none of "
                                      "which ssl.policy.cluster.known_peers lists"),
            std::string::npos)
      << refused.client_error;
}

TEST_F(KnownPeers, AnUntrustedChainIsRefusedEvenWithAKnownName) {
  auto other_ca = test::make_test_ca("Other CA");
  auto out = incoming(test::make_leaf(other_ca, {"node-b.cluster.test"}, true, true),
                      {"node-b.cluster.test"});
  EXPECT_FALSE(out.server_ok);
  EXPECT_EQ(reason_name(out.server_reason), "unknown_ca") << out.server_error;
}

TEST(KnownPeersNames, Rfc6125LeftMostWildcardOnly) {
  EXPECT_TRUE(dns_name_matches("node-b.cluster.test", "NODE-B.cluster.test"));
  EXPECT_TRUE(dns_name_matches("*.cluster.test", "node-b.cluster.test"));
  EXPECT_FALSE(dns_name_matches("*.cluster.test", "a.node-b.cluster.test"));    // one label only
  EXPECT_FALSE(dns_name_matches("*.cluster.test", "cluster.test"));             // not zero labels
  EXPECT_FALSE(dns_name_matches("*", "node-b"));                                // never alone
  EXPECT_FALSE(dns_name_matches("node*.cluster.test", "node-b.cluster.test"));  // no partial label
  EXPECT_FALSE(dns_name_matches("*b.cluster.test", "node-b.cluster.test"));
  EXPECT_FALSE(dns_name_matches("node-b.*.test", "node-b.cluster.test"));
  // A wildcard the certificate carries stands for one label of the entry.
  EXPECT_TRUE(dns_name_matches("node-b.cluster.test", "*.cluster.test"));
  EXPECT_FALSE(dns_name_matches("a.node-b.cluster.test", "*.cluster.test"));
  EXPECT_FALSE(dns_name_matches("", "x"));
}

}  // namespace
}  // namespace tlsgate::tls
