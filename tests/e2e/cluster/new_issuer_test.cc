// A replacement from a new issuer (--ca): every node trusts it first, then
// all switch.
#include <fstream>

#include "e2e/cluster/cluster_fixture.h"

namespace tlsgate::e2e::cluster {
namespace {

using namespace std::chrono_literals;

class ClusterNewIssuer : public ClusterFixture {};

// The files in a node's cluster trusted_dir that hold `pem`.
int trust_files_with(const fs::path& trusted, const std::string& pem) {
  int n = 0;
  for (const auto& f : fs::directory_iterator(trusted)) {
    if (test::read_text(f.path()).find(pem) != std::string::npos) ++n;
  }
  return n;
}

TEST_F(ClusterNewIssuer, TrustFirstOnEveryNodeThenAllSwitch) {
  lay_out();
  start_all();
  ASSERT_FALSE(HasFatalFailure());
  auto new_ca = test::make_test_ca("cluster e2e CA 2");
  test::write_cert(dir_ / "newca.crt", new_ca.ca.cert.get());
  const auto new_ca_pem = test::read_text(dir_ / "newca.crt");
  {
    std::ofstream out(trust_, std::ios::app);  // test clients trust both issuers
    out << new_ca_pem;
  }
  const auto serial = write_leaf(new_ca, {"127.0.0.1", "localhost"}, "next");
  // c down: the phase shows the trust step before anything commits.
  stop_node(2);
  auto r =
      cli("cluster replace-cert --scope cluster --cert next.crt --key next.key --ca newca.crt");
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  auto rep = wait_replacement(
      [](const auto& j) {
        return j["nodes"]["a"]["state"] == "staged" && j["nodes"]["b"]["state"] == "staged";
      },
      10000ms);
  EXPECT_EQ(rep["phase"], "trusting") << rep.dump(2);
  EXPECT_EQ(rep["state"], "proposed");
  EXPECT_TRUE(rep["new_issuer"].get<bool>());
  for (int i : {0, 1}) {
    EXPECT_EQ(trust_files_with(node_dir_[i] / "certs/cluster/trusted", new_ca_pem), 1) << name(i);
    EXPECT_EQ(served(i), initial_serial_) << name(i);
  }
  EXPECT_EQ(trust_files_with(node_dir_[2] / "certs/cluster/trusted", new_ca_pem), 0);

  start_node(2);
  ASSERT_FALSE(HasFatalFailure());
  auto took = wait_serving({0, 1, 2}, serial, 10000ms);
  ASSERT_TRUE(took.has_value()) << "not every node serves " << serial;
  EXPECT_EQ(trust_files_with(node_dir_[2] / "certs/cluster/trusted", new_ca_pem), 1);
  // Served under the new issuer alone.
  const auto only_new = dir_ / "newca.crt";
  for (int i = 0; i < kNodes; ++i) EXPECT_TRUE(handshake(port_[i], only_new).ok) << name(i);
  rep = wait_replacement([](const auto& j) { return j["phase"] == "applied"; }, 10000ms);
  EXPECT_EQ(rep["phase"], "applied") << rep.dump(2);
}

}  // namespace
}  // namespace tlsgate::e2e::cluster
