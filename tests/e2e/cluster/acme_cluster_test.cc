// Cluster-wide ACME end to end (issue 18, docs/CLUSTER.md "ACME across the
// cluster"): three real `tlsgate serve` nodes on a real etcd, one ACME
// policy in cluster.scopes, a real pebble as the CA.
//
// Pebble validates tls-alpn-01 on one fixed port, which is node b's: so
// when node a renews, the CA's connection reaches b, and b can answer only
// because a's challenge travelled through etcd. The new pair reaches every
// node as a cluster replacement, while a client loop handshakes with every
// node. Then a is killed (SIGKILL: no goodbye, its lease must run out) and
// the next renewal is done by another node. The same with http-01, where
// the CA asks node b's acme_http_address for the token of a's order.
#include <csignal>
#include <cstdio>

#include "e2e/cluster/cluster_fixture.h"
#include "support/loopback.h"
#include "support/pebble_server.h"

namespace tlsgate::e2e::cluster {
namespace {

using std::chrono::seconds;

// What a node logs when it talks to the CA for an order (acme/manager.cc).
constexpr const char* kOrdering = "acme_directory: obtaining a certificate for";
// What the gate logs when the CA's own tls-alpn-01 connection reached it.
constexpr const char* kAnswered = "answered the ACME tls-alpn-01 check for";

class AcmeCluster : public ClusterFixture {
 protected:
  void SetUp() override {
    ClusterFixture::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    if (!fs::exists("/usr/bin/pebble"))
      GTEST_SKIP() << "/usr/bin/pebble (Debian pebble) is missing";
  }

  // The CA's validation port is node b's: its connector port for
  // tls-alpn-01, its acme_http_address for http-01. Certificates from the
  // CA live 30 s, so the next renewal is due about 15 s after one.
  void start_pebble(bool http01) {
    test::PebbleServer::Options o;
    if (!http01) o.tls_port = port_[1];
    o.validity_seconds = 30;
    pebble_ = std::make_unique<test::PebbleServer>(std::move(o));
    auto why = pebble_->start();
    ASSERT_EQ(why, "") << why;
  }

  // Three nodes with policy cluster in cluster.scopes and on ACME. The
  // initial certificate (of the test CA) names what ACME asks for, so it is
  // not replaced at once: renewal falls due about 20 s from now, at half of
  // its 50 s life, leaving time to start the nodes in order (also on a busy machine).
  void prepare(bool http01) {
    initial_names_ = {"127.0.0.1", "localhost", "db.example.test"};
    const auto now = std::chrono::system_clock::now();
    lay_out(test::Validity{now - seconds(2), now + seconds(48)});
    start_pebble(http01);
    if (HasFatalFailure()) return;
    const auto root = pebble_->issuing_root_pem();
    for (int i = 0; i < kNodes; ++i) {
      test::write_text(node_dir_[i] / "certs" / "cluster" / "trusted" / "pebble.crt", root, 0644);
    }
    test::write_text(trust_, test::read_text(trust_) + root, 0644);
    set_all("ssl.policy.cluster.acme_directory", pebble_->directory_url());
    set_all("ssl.policy.cluster.acme_ca_bundle", pebble_->ca_bundle().string());
    set_all("ssl.policy.cluster.acme_names", "db.example.test;127.0.0.1");
    set_all("cluster.lease_ttl", "2s");
    if (http01) {
      set_all("ssl.policy.cluster.acme_challenge", "http-01");
      for (int i = 0; i < kNodes; ++i) {
        const int port = i == 1 ? pebble_->http_port() : test::free_loopback_port();
        config_[i] +=
            "ssl.policy.cluster.acme_http_address=127.0.0.1:" + std::to_string(port) + "\n";
      }
    }
  }

  // a first, so a takes the renewal lock; then b, whose port the CA checks.
  void start_a_then_b_and_c() {
    start_node(0);
    if (HasFatalFailure()) return;
    ASSERT_TRUE(node_[0]->wait_for_log("now renews ACME scope cluster", Millis(10000))) << logs();
    start_node(1);
    if (HasFatalFailure()) return;
    start_node(2);
  }

  // The serial node i serves once it no longer serves `old` ("" on timeout).
  std::string wait_new_serial(int i, const std::string& old, Millis deadline) {
    auto until = std::chrono::steady_clock::now() + deadline;
    for (int round = 0; round < 100000 && std::chrono::steady_clock::now() < until; ++round) {
      auto h = handshake(port_[i], trust_);
      if (h.ok && h.serial != old) return h.serial;
      if (node_[i]->wait_exit(Millis(100))) break;  // died: no use waiting
    }
    return "";
  }

  std::string log_of(int i) { return node_[i] ? node_[i]->log() : ""; }

  std::unique_ptr<test::PebbleServer> pebble_;
};

TEST_F(AcmeCluster, OneNodeRenewsAnotherAnswersTheCaAndEveryNodeSwitchesThenATakeover) {
  prepare(/*http01=*/false);
  if (HasFatalFailure()) return;

  // `check` no longer calls this combination an error.
  {
    std::error_code ec;
    fs::create_directories(node_dir_[0], ec);
    test::write_text(node_dir_[0] / "tlsgate.conf", config_[0], 0600);
    auto checked = cli("check", 0);
    EXPECT_EQ(checked.out.find("cluster-wide ACME renewal is not implemented"), std::string::npos)
        << checked.out;
    EXPECT_NE(checked.code, 2) << checked.out << checked.err;
  }

  start_a_then_b_and_c();
  if (HasFatalFailure()) return;

  HandshakeLoop loop({port_[0], port_[1], port_[2]}, trust_);
  const auto first = wait_new_serial(0, initial_serial_, Millis(45000));
  ASSERT_NE(first, "") << logs() << pebble_->output();
  auto switched = wait_serving({0, 1, 2}, first, Millis(15000));
  loop.stop();
  ASSERT_TRUE(switched) << logs();
  EXPECT_GT(loop.attempts(), 30);
  EXPECT_EQ(loop.failures(), 0) << loop.first_failure() << logs();
  std::printf(
      "[ measured ] cluster ACME renewal by node a: %d handshakes to the three nodes from "
      "before the renewal until every node switched, %d failed; the last node served the "
      "new serial %lld ms after a did\n",
      loop.attempts(), loop.failures(), static_cast<long long>(switched->count()));

  // Only a talked to the CA; the CA's check reached b (not the renewer),
  // which answered a's challenge as published through etcd.
  EXPECT_GE(occurrences(log_of(0), kOrdering), 1u) << logs();
  EXPECT_EQ(occurrences(log_of(1), kOrdering), 0u) << logs();
  EXPECT_EQ(occurrences(log_of(2), kOrdering), 0u) << logs();
  EXPECT_NE(log_of(1).find("answers the tls-alpn-01 challenge of node a's order"),
            std::string::npos)
      << logs();
  EXPECT_GE(occurrences(log_of(1), kAnswered), 1u) << logs();
  EXPECT_EQ(occurrences(log_of(0), kAnswered), 0u) << logs();
  auto r = replacement(1);
  ASSERT_TRUE(r.is_object()) << status(1).dump();
  EXPECT_EQ(r.value("proposer", ""), "ACME renewal on node a") << r.dump();
  EXPECT_EQ(status(2)["acme_renewers"].value("cluster", ""), "a") << status(2).dump();
  // The challenges are gone once the order ended.
  EXPECT_EQ(etcd_keys("acme/challenges/"), 0);

  // a dies without a word: its lease runs out (2 s), another node takes the
  // lock and does the next renewal, for the nodes that are left.
  const size_t ordered_by_a = occurrences(log_of(0), kOrdering);
  ASSERT_EQ(::kill(node_[0]->pid(), SIGKILL), 0);
  const auto killed = std::chrono::steady_clock::now();
  ASSERT_TRUE(node_[0]->wait_exit(Millis(10000)));
  const std::string took = "now renews ACME scope cluster";
  bool taken = false;
  for (int i = 0; i < 1000 && !taken; ++i) {
    taken = occurrences(log_of(1), took) + occurrences(log_of(2), took) >= 1;
    if (!taken && node_[1]->wait_exit(Millis(20))) break;  // a pause that ends if b dies
    if (std::chrono::steady_clock::now() - killed > seconds(15)) break;
  }
  ASSERT_TRUE(taken) << "no node took the lock within 15 s of a's death\n" << logs();
  std::printf(
      "[ measured ] node a killed: another node holds the ACME lock %lld ms later "
      "(cluster.lease_ttl=2s)\n",
      static_cast<long long>(
          std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - killed).count()));
  const auto second = wait_new_serial(1, first, Millis(45000));
  ASSERT_NE(second, "") << logs() << pebble_->output();
  ASSERT_TRUE(wait_serving({1, 2}, second, Millis(15000))) << logs();
  const bool b_renewed = occurrences(log_of(1), kOrdering) >= 1;
  const bool c_renewed = occurrences(log_of(2), kOrdering) >= 1;
  EXPECT_TRUE(b_renewed != c_renewed) << "exactly one of b and c renews\n" << logs();
  EXPECT_EQ(occurrences(log_of(0), kOrdering), ordered_by_a);
  r = replacement(1);
  ASSERT_TRUE(r.is_object());
  EXPECT_EQ(r.value("proposer", ""), std::string("ACME renewal on node ") + (b_renewed ? "b" : "c"))
      << r.dump();
  EXPECT_EQ(status(1)["acme_renewers"].value("cluster", ""), b_renewed ? "b" : "c");
}

// The same with http-01: the CA asks node b's acme_http_address for the
// token of node a's order.
TEST_F(AcmeCluster, Http01TokenOfTheRenewersOrderIsAnsweredByAnotherNode) {
  prepare(/*http01=*/true);
  if (HasFatalFailure()) return;
  start_a_then_b_and_c();
  if (HasFatalFailure()) return;
  const auto renewed = wait_new_serial(0, initial_serial_, Millis(45000));
  ASSERT_NE(renewed, "") << logs() << pebble_->output();
  ASSERT_TRUE(wait_serving({0, 1, 2}, renewed, Millis(15000))) << logs();
  EXPECT_GE(occurrences(log_of(0), kOrdering), 1u) << logs();
  EXPECT_EQ(occurrences(log_of(1), kOrdering), 0u) << logs();
  EXPECT_EQ(occurrences(log_of(2), kOrdering), 0u) << logs();
  EXPECT_NE(log_of(1).find("answers the http-01 challenge of node a's order"), std::string::npos)
      << logs();
  const std::string answered = "HTTP-01 responder on port " + std::to_string(pebble_->http_port()) +
                               " answered the challenge";
  EXPECT_GE(occurrences(log_of(1), answered), 1u) << logs();
  EXPECT_EQ(occurrences(log_of(0), "answered the challenge of token"), 0u) << logs();
  EXPECT_EQ(etcd_keys("acme/challenges/"), 0);
}

}  // namespace
}  // namespace tlsgate::e2e::cluster
