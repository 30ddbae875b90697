// A node that is down, and etcd that is down: the commit rule (every member,
// or switch_before_expiry), catch-up of a returning node with no command,
// and nodes that keep serving while etcd is away.
#include "e2e/cluster/cluster_fixture.h"

namespace tlsgate::e2e::cluster {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

class ClusterNodeDown : public ClusterFixture {
 protected:
  // Proposes next.crt (a new leaf of ca_) with node c stopped and waits
  // until a and b have staged it; returns its serial.
  std::string propose_without_c() {
    stop_node(2);
    auto serial = write_leaf(ca_, {"127.0.0.1", "localhost"}, "next");
    auto r = cli("cluster replace-cert --scope cluster --cert next.crt --key next.key");
    EXPECT_EQ(r.code, 0) << r.out << r.err;
    return serial;
  }
  static bool staged_by_a_and_b(const nlohmann::json& j) {
    return j["nodes"]["a"]["state"] == "staged" && j["nodes"]["b"]["state"] == "staged";
  }
};

TEST_F(ClusterNodeDown, WaitsForTheMissingNodeWhileTheCurrentCertificateHasTime) {
  lay_out();  // the current certificate is valid for long (> 3 days)
  start_all();
  ASSERT_FALSE(HasFatalFailure());
  const auto serial = propose_without_c();
  auto rep = wait_replacement(staged_by_a_and_b, Millis(10000));
  ASSERT_TRUE(staged_by_a_and_b(rep)) << rep.dump(2);
  // A few seconds more: still not committed, nobody switched.
  const auto until = Clock::now() + 3s;
  for (int i = 0; i < 1000 && Clock::now() < until; ++i) {
    rep = replacement();
    ASSERT_EQ(rep["state"], "proposed") << rep.dump(2);
    ASSERT_EQ(served(0), initial_serial_);
    ASSERT_EQ(served(1), initial_serial_);
  }
  EXPECT_EQ(rep["phase"], "proposed");
  EXPECT_EQ(rep["nodes"]["c"]["state"], "waiting");
  EXPECT_NE(serial, initial_serial_);
}

TEST_F(ClusterNodeDown, CommitsWithoutItNearExpiryAndTheNodeCatchesUpWhenItReturns) {
  const auto now = std::chrono::system_clock::now();
  lay_out(test::Validity{now - 24h, now + 48h});  // 2 days left: within 3 days
  start_all();
  ASSERT_FALSE(HasFatalFailure());
  const auto serial = propose_without_c();
  auto rep = wait_replacement([](const auto& j) { return j["state"] == "committed"; }, 10000ms);
  ASSERT_EQ(rep["state"], "committed") << rep.dump(2);
  const auto reason = rep["reason"].get<std::string>();
  EXPECT_NE(reason.find("within switch_before_expiry"), std::string::npos) << reason;
  // The rule does not wait for live members either (the unit tests pin
  // that): the first node to see it may commit "without a, c" or "without c".
  const auto without = reason.find("committed without ");
  ASSERT_NE(without, std::string::npos) << reason;
  const auto missing = reason.substr(without + 18);
  EXPECT_TRUE(missing == "c" || missing.ends_with(", c")) << reason;
  ASSERT_TRUE(wait_serving({0, 1}, serial, 5000ms)) << "a and b do not serve " << serial;

  // c comes back on its own: no command.
  const auto started = Clock::now();
  start_node(2);
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_TRUE(wait_serving({2}, serial, 5000ms)) << "c does not serve " << serial;
  const auto took = std::chrono::duration_cast<Millis>(Clock::now() - started);
  std::printf("[ measured ] a returning node serves the committed serial %lld ms after its start\n",
              static_cast<long long>(took.count()));
  EXPECT_LE(took, 5000ms);
  rep = wait_replacement([](const auto& j) { return j["nodes"]["c"]["state"] == "applied"; },
                         10000ms);
  EXPECT_EQ(rep["nodes"]["c"]["state"], "applied") << rep.dump(2);
  EXPECT_EQ(rep["phase"], "applied") << rep.dump(2);
}

TEST_F(ClusterNodeDown, EtcdAwayForTenSecondsMidReplacement) {
  lay_out();
  start_all();
  ASSERT_FALSE(HasFatalFailure());
  const auto serial = propose_without_c();
  auto rep = wait_replacement(staged_by_a_and_b, Millis(10000));
  ASSERT_TRUE(staged_by_a_and_b(rep)) << rep.dump(2);

  HandshakeLoop loop({port_[0], port_[1]}, trust_);
  etcd_.stop();
  ASSERT_FALSE(etcd_.running());
  const auto etcd_down = Clock::now();
  // c starts while etcd is away: it serves what it has on disk.
  start_node(2);
  ASSERT_FALSE(HasFatalFailure());
  HandshakeLoop loop_c({port_[2]}, trust_);
  // About ten seconds without etcd; every node keeps serving meanwhile.
  for (int i = 0; i < 100000 && Clock::now() - etcd_down < 10s; ++i) {
    if (loop.failures() + loop_c.failures() > 0) break;
    std::this_thread::sleep_for(20ms);  // polling until the deadline
  }
  EXPECT_EQ(served(2), initial_serial_);
  EXPECT_TRUE(node_[0]->wait_for_log("etcd is not reachable", 1000ms)) << "a never noticed";
  const auto away = std::chrono::duration_cast<Millis>(Clock::now() - etcd_down);
  EXPECT_GE(away, 10s);
  ASSERT_EQ(etcd_.start(), "");
  auto took = wait_serving({0, 1, 2}, serial, 60000ms);
  ASSERT_TRUE(took.has_value()) << "not every node serves " << serial << " after etcd returned";
  std::printf("[ measured ] etcd away %lld ms; back to all three serving the new serial: %lld ms\n",
              static_cast<long long>(away.count()), static_cast<long long>(took->count()));
  loop.stop();
  loop_c.stop();
  EXPECT_GT(loop.attempts(), 10);
  EXPECT_GT(loop_c.attempts(), 2);
  EXPECT_EQ(loop.failures(), 0) << loop.first_failure() << " of " << loop.attempts();
  EXPECT_EQ(loop_c.failures(), 0) << loop_c.first_failure() << " of " << loop_c.attempts();
  rep = wait_replacement([](const auto& j) { return j["phase"] == "applied"; }, 20000ms);
  EXPECT_EQ(rep["phase"], "applied") << rep.dump(2);
  EXPECT_EQ(rep["reason"], "every member staged it") << rep.dump(2);
}

}  // namespace
}  // namespace tlsgate::e2e::cluster
