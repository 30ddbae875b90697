// `tlsgate check` on known_peers (tls/policy_auditor.cc): entries that can
// never match, and an own certificate that the list (shared by the nodes)
// would refuse, by the same rule the handshakes use (tls/known_peers.h).
#include <unistd.h>

#include <gtest/gtest.h>

#include "tls/config_audit.h"
#include "tls_fixture.h"

namespace tlsgate::tls {
namespace {

class KnownPeersAudit : public ::testing::Test {
 protected:
  KnownPeersAudit() : ca_(test::make_test_ca("Audit CA")) {
    config_.file = dir_.path() / "tlsgate.conf";
    config_.policies["cluster"] = testing::make_policy(
        dir_.path(), "cluster", ca_, test::make_leaf(ca_, {"node-a.cluster.test", "127.0.0.1"}));
  }

  std::vector<std::string> run(std::vector<std::string> known_peers) {
    config_.policies["cluster"].known_peers = std::move(known_peers);
    auto report = audit(config_, util::SystemClock::instance(), {30, ::geteuid()});
    std::vector<std::string> lines;
    for (const auto& d : report.findings) lines.push_back(config::format(d));
    return lines;
  }

  test::TempDir dir_;
  test::TestCa ca_;
  config::Config config_;
};

TEST_F(KnownPeersAudit, AListThatCoversTheOwnCertificateIsClean) {
  EXPECT_TRUE(run({"*.cluster.test"}).empty());
  EXPECT_TRUE(run({"nats://NODE-A.cluster.test:6222", "node-b.cluster.test"}).empty());
}

TEST_F(KnownPeersAudit, OwnCertificateOutsideTheListWarnsByTheHandshakeRule) {
  // Two labels under the wildcard: a handshake refuses it, so does check.
  auto lines = run({"*.test"});
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0],
            config_.file.string() +
                ": ssl.policy.cluster.known_peers: certificate CN=node-a.cluster.test,O=tlsgate "
                "matches no entry of the list (*.test); it names DNS:node-a.cluster.test, "
                "IP:127.0.0.1, so a node with this list refuses a peer that presents it; if the "
                "nodes share this certificate, add its names to the list, or reissue it with a "
                "name the list has");
}

TEST_F(KnownPeersAudit, EntriesThatCanNeverMatchWarn) {
  auto lines = run({"node-a.cluster.test", "*", "node*.cluster.test", "https://a.*.test:1"});
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_NE(lines[0].find("entry \"*\" can never match"), std::string::npos) << lines[0];
  EXPECT_NE(lines[1].find("entry \"node*.cluster.test\" can never match"), std::string::npos)
      << lines[1];
  EXPECT_NE(lines[2].find("entry \"https://a.*.test:1\" can never match"), std::string::npos)
      << lines[2];
}

}  // namespace
}  // namespace tlsgate::tls
