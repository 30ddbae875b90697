// `tlsgate cluster retire-trust` after a switch to a new issuer: refused
// while the old issuer still signed the served certificate; afterwards
// every node renames the old issuer's file to .retired-NAME and refuses a
// peer whose certificate comes from it.
#include <fstream>

#include "e2e/cluster/cluster_fixture.h"

namespace tlsgate::e2e::cluster {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

class ClusterRetireTrust : public ClusterFixture {};

TEST_F(ClusterRetireTrust, OldIssuerIsRetiredOnEveryNodeOnlyAfterTheSwitch) {
  lay_out();
  set_all("ssl.policy.cluster.client_auth", "OPTIONAL");  // peers' certificates are verified
  start_all();
  ASSERT_FALSE(HasFatalFailure());
  test::write_cert(dir_ / "oldca.crt", ca_.ca.cert.get());
  write_leaf(ca_, {"peer.test"}, "old-peer");  // a peer certificate from the old issuer
  for (int i = 0; i < kNodes; ++i) {
    ASSERT_TRUE(peer_accepted(i, dir_ / "old-peer.crt", dir_ / "old-peer.key", trust_))
        << "node " << name(i) << " refuses the old issuer's peer before anything happened";
  }

  // Refused while the old issuer signed the certificate served.
  auto early = cli("cluster retire-trust --scope cluster --issuer oldca.crt");
  EXPECT_EQ(early.code, 1) << early.out << early.err;
  EXPECT_NE(
      early.err.find("issuer CN=cluster e2e CA,O=tlsgate still issued the certificate this node "
                     "serves for scope cluster (CN=127.0.0.1,O=tlsgate)"),
      std::string::npos)
      << early.err;
  EXPECT_NE(early.err.find("replace that certificate first, then retire its issuer"),
            std::string::npos)
      << early.err;
  EXPECT_EQ(etcd_keys("retired/"), 0);

  // The switch to a new issuer.
  auto new_ca = test::make_test_ca("cluster e2e CA 2");
  test::write_cert(dir_ / "newca.crt", new_ca.ca.cert.get());
  {
    std::ofstream out(trust_, std::ios::app);
    out << test::read_text(dir_ / "newca.crt");
  }
  const auto serial = write_leaf(new_ca, {"127.0.0.1", "localhost"}, "next");
  auto r =
      cli("cluster replace-cert --scope cluster --cert next.crt --key next.key --ca newca.crt");
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  ASSERT_TRUE(wait_serving({0, 1, 2}, serial, Millis(15000)).has_value());
  auto rep = wait_replacement([](const auto& j) { return j["phase"] == "applied"; }, 10000ms);
  ASSERT_EQ(rep["phase"], "applied") << rep.dump(2);
  for (int i = 0; i < kNodes; ++i) {  // the old issuer is still trusted: not retired yet
    EXPECT_TRUE(peer_accepted(i, dir_ / "old-peer.crt", dir_ / "old-peer.key", trust_)) << name(i);
  }

  const auto asked = Clock::now();
  auto retire = cli("cluster retire-trust --scope cluster --issuer oldca.crt");
  ASSERT_EQ(retire.code, 0) << retire.out << retire.err;
  EXPECT_EQ(etcd_keys("retired/"), 1);
  // Every node renames the old issuer's file and reloads; then the peer is refused.
  std::vector<bool> refused(kNodes, false);
  for (int round = 0; round < 2000; ++round) {
    bool all = true;
    for (int i = 0; i < kNodes; ++i) {
      if (!refused[i]) {
        refused[i] = !peer_accepted(i, dir_ / "old-peer.crt", dir_ / "old-peer.key", trust_);
      }
      all = all && refused[i];
    }
    if (all || Clock::now() - asked > 10000ms) break;
  }
  const auto took = std::chrono::duration_cast<Millis>(Clock::now() - asked);
  for (int i = 0; i < kNodes; ++i) {
    const auto trusted = node_dir_[i] / "certs/cluster/trusted";
    EXPECT_TRUE(refused[i]) << "node " << name(i) << " still lets the old issuer's peer in";
    EXPECT_FALSE(fs::exists(trusted / "ca.crt")) << name(i);
    EXPECT_EQ(test::read_text(trusted / ".retired-ca.crt"), test::read_text(dir_ / "oldca.crt"))
        << name(i);
    EXPECT_TRUE(node_[i]->wait_for_log(
        "retired issuer file " + (trusted / "ca.crt").string() + " (kept as .retired-ca.crt)",
        1000ms))
        << name(i);
    // Refused for its chain, in the node's words.
    EXPECT_TRUE(node_[i]->wait_for_log("client certificate CN=peer.test", 5000ms)) << name(i);
    // The new certificate is still served and verified.
    EXPECT_TRUE(handshake(port_[i], dir_ / "newca.crt").ok) << name(i);
  }
  EXPECT_NE(logs().find("[reason: unknown_ca]"), std::string::npos);
  std::printf(
      "[ measured ] retire-trust: every node refuses the old issuer's peers %lld ms after the "
      "command\n",
      static_cast<long long>(took.count()));
}

}  // namespace
}  // namespace tlsgate::e2e::cluster
