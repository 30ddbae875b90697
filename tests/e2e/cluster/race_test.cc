// Two proposers racing: two `tlsgate cluster replace-cert` processes,
// started at once against the same scope from two nodes. Exactly one
// replacement is written and committed, the other proposer is refused in
// words, and every node ends on the winner's serial.
#include <regex>

#include "e2e/cluster/cluster_fixture.h"

namespace tlsgate::e2e::cluster {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

class ClusterRace : public ClusterFixture {};

TEST_F(ClusterRace, TwoProposersAtOnceExactlyOneWinsAndAllEndOnIt) {
  lay_out();
  start_all();
  ASSERT_FALSE(HasFatalFailure());
  // c down: whichever wins stays in flight (not committed) until c is back,
  // so the loser cannot come after a commit and be a second, legitimate
  // replacement: the race is only between the two proposals.
  stop_node(2);
  const std::string serial[2] = {write_leaf(ca_, {"127.0.0.1", "localhost"}, "one"),
                                 write_leaf(ca_, {"127.0.0.1", "localhost"}, "two")};
  const std::string bin = test::q(test::GateProcess::binary());
  auto proposer = [&](int i, const char* file) {
    return "(timeout 30 " + bin + " cluster replace-cert --scope cluster --cert " + file +
           ".crt --key " + file + ".key -c " + test::q(node_dir_[i] / "tlsgate.conf") + " > " +
           file + ".out 2>&1; echo $? > " + file + ".rc)";
  };
  const auto started = Clock::now();
  auto both = test::run_shell(proposer(0, "one") + " & " + proposer(1, "two") + " & wait", dir_,
                              Millis(60000));
  const auto raced = std::chrono::duration_cast<Millis>(Clock::now() - started);
  ASSERT_EQ(both.code, 0) << both.err;
  std::string out[2], rc[2];
  int winners = 0, winner = -1;
  for (int i = 0; i < 2; ++i) {
    const char* file = i == 0 ? "one" : "two";
    out[i] = test::read_text(dir_ / (std::string(file) + ".out"));
    rc[i] = test::read_text(dir_ / (std::string(file) + ".rc"));
    if (rc[i] == "0\n") {
      ++winners;
      winner = i;
    }
  }
  ASSERT_EQ(winners, 1) << "proposer one (" << rc[0] << "): " << out[0] << "\nproposer two ("
                        << rc[1] << "): " << out[1];
  const int loser = 1 - winner;
  EXPECT_EQ(rc[loser], "1\n");
  EXPECT_NE(out[loser].find("the replacement of scope cluster was refused"), std::string::npos)
      << out[loser];
  // Which of the two refusals depends on when the loser read etcd.
  EXPECT_TRUE(out[loser].find("is still in flight; wait for it to commit, or abort it with: "
                              "tlsgate cluster abort") != std::string::npos ||
              out[loser].find("was proposed at the same moment and won") != std::string::npos)
      << out[loser];
  std::smatch id;
  ASSERT_TRUE(std::regex_search(out[winner], id, std::regex("replacement (\\S+) proposed")))
      << out[winner];
  EXPECT_EQ(etcd_keys("replacements/"), 1) << "a second record was written";

  const auto back = Clock::now();
  start_node(2);
  ASSERT_FALSE(HasFatalFailure());
  auto took = wait_serving({0, 1, 2}, serial[winner], Millis(10000));
  ASSERT_TRUE(took.has_value()) << "not every node serves the winner's " << serial[winner];
  auto rep = wait_replacement([](const auto& j) { return j["phase"] == "applied"; }, 10000ms);
  EXPECT_EQ(rep["id"], id[1].str()) << rep.dump(2);
  EXPECT_EQ(rep["phase"], "applied") << rep.dump(2);
  EXPECT_EQ(rep["serial"], serial[winner]);
  auto all = status();
  ASSERT_TRUE(all.is_object());
  EXPECT_EQ(all["replacements"].size(), 1u) << all.dump(2);
  for (int i = 0; i < kNodes; ++i) EXPECT_EQ(served(i), serial[winner]) << name(i);
  std::printf(
      "[ measured ] two replace-cert processes at once: both returned in %lld ms, proposer %s "
      "won, the other was told: %s; with c back, all three serve the winner %lld ms later\n",
      static_cast<long long>(raced.count()), winner == 0 ? "one" : "two",
      out[loser].substr(out[loser].find("  - ") + 4, 60).c_str(),
      static_cast<long long>(std::chrono::duration_cast<Millis>(Clock::now() - back).count()));
}

}  // namespace
}  // namespace tlsgate::e2e::cluster
