// The node's link to etcd follows a reload of cluster.ssl_policy: its client
// certificate is rotated on disk while the nodes run, etcd then stops
// trusting the old one's issuer, and every node still talks to etcd (a
// whole replacement goes through, each node reporting to etcd).
#include "e2e/cluster/cluster_fixture.h"

#include "pki/certificate_info.h"

namespace tlsgate::e2e::cluster {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

class ClusterEtcdLink : public ClusterFixture {
 protected:
  // etcd trusts exactly these CAs for clients (its own CA stays: its JSON
  // gateway dials its gRPC port with its server certificate as client
  // certificate). etcd reads the file at start only (etcd #11555).
  void restart_etcd_trusting(const std::vector<const test::TestCa*>& client_cas) {
    etcd_.stop();
    std::string bundle = pem_of(etcd_.ca());
    for (const auto* ca : client_cas) bundle += pem_of(*ca);
    test::write_text(etcd_.dir() / "tls/ca.crt", bundle);
    ASSERT_EQ(etcd_.start(), "") << "etcd did not start again";
  }

  std::string pem_of(const test::TestCa& ca) {
    const auto file = dir_ / "ca-pem.tmp";
    test::write_cert(file, ca.ca.cert.get());
    return test::read_text(file);
  }

  // Node i's etcd client certificate and key, each renamed into place (as
  // deployment tools do), key first.
  void install_etcd_client(int i, const pki::Issued& leaf) {
    const auto d = node_dir_[i] / "certs" / "etcd";
    test::write_key(d / ".private.key.new", leaf.key.get());
    fs::rename(d / ".private.key.new", d / "private.key");
    test::write_cert(d / ".public.crt.new", leaf.cert.get());
    fs::rename(d / ".public.crt.new", d / "public.crt");
  }

  // etcdctl with a client certificate of its own; its exit code.
  int etcdctl_with(const fs::path& cert, const fs::path& key) {
    auto r = test::run_shell(
        "ETCDCTL_API=3 timeout 20 etcdctl --endpoints=" + test::shell_quote(etcd_.endpoint()) +
            " --cacert " + test::q(node_dir_[0] / "certs/etcd/trusted/ca.crt") + " --cert " +
            test::q(cert) + " --key " + test::q(key) +
            " --dial-timeout=3s get --prefix --keys-only /tlsgate/",
        dir_, Millis(30000));
    return r.code;
  }
};

TEST_F(ClusterEtcdLink, RotatedClientCertificateIsUsedOnceEtcdDropsTheOldIssuer) {
  auto old_issuer = test::make_test_ca("etcd clients 2025");
  auto new_issuer = test::make_test_ca("etcd clients 2026");
  restart_etcd_trusting({&old_issuer});
  ASSERT_FALSE(HasFatalFailure());
  lay_out();
  auto old_client = test::make_leaf(old_issuer, {"tlsgate-node"}, false, true);
  for (int i = 0; i < kNodes; ++i) install_etcd_client(i, old_client);
  test::write_cert(dir_ / "old-client.crt", old_client.cert.get());
  test::write_key(dir_ / "old-client.key", old_client.key.get());
  start_all();
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_FALSE(status().is_null()) << "the cluster verbs do not reach etcd";

  // Rotate every node's etcd client certificate on disk; each gate reloads
  // the policy by itself (file watch), no restart.
  auto new_client = test::make_leaf(new_issuer, {"tlsgate-node"}, false, true);
  const auto new_serial = pki::serial_to_hex(new_client.cert.get());
  for (int i = 0; i < kNodes; ++i) install_etcd_client(i, new_client);
  for (int i = 0; i < kNodes; ++i) {
    EXPECT_TRUE(node_[i]->wait_for_log("-> " + new_serial, 10000ms))
        << "node " << name(i) << " did not reload ssl.policy.etcd";
  }
  // etcd now trusts only the new issuer; every connection is new.
  restart_etcd_trusting({&new_issuer});
  ASSERT_FALSE(HasFatalFailure());
  // The same etcdctl with the new certificate gets in: a refusal of the old
  // one is etcd's, not a missing etcdctl (exit 127) or a dead etcd.
  test::write_cert(dir_ / "new-client.crt", new_client.cert.get());
  test::write_key(dir_ / "new-client.key", new_client.key.get());
  ASSERT_EQ(etcdctl_with(dir_ / "new-client.crt", dir_ / "new-client.key"), 0)
      << "etcdctl (Debian package etcd-client) cannot reach etcd with the new certificate";
  EXPECT_NE(etcdctl_with(dir_ / "old-client.crt", dir_ / "old-client.key"), 0)
      << "etcd still accepts the old client certificate; the test proves nothing";
  const auto back = Clock::now();

  // Every node still talks to etcd: a replacement commits and each applies it.
  const auto serial = write_leaf(ca_, {"127.0.0.1", "localhost"}, "next");
  auto r = cli("cluster replace-cert --scope cluster --cert next.crt --key next.key");
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  auto took = wait_serving({0, 1, 2}, serial, Millis(20000));
  ASSERT_TRUE(took.has_value()) << "not every node serves " << serial;
  auto rep = wait_replacement([](const auto& j) { return j["phase"] == "applied"; }, 20000ms);
  EXPECT_EQ(rep["phase"], "applied") << rep.dump(2);
  for (const char* n : {"a", "b", "c"}) {
    EXPECT_EQ(rep["nodes"][n]["state"], "applied") << n << ": " << rep.dump(2);
  }
  std::printf(
      "[ measured ] etcd restarted trusting only the new client issuer: replacement applied on "
      "all three nodes %lld ms later\n",
      static_cast<long long>(std::chrono::duration_cast<Millis>(Clock::now() - back).count()));
  EXPECT_EQ(logs().find("does not trust our certificate"), std::string::npos)
      << "a node dialled etcd with the old certificate";
}

}  // namespace
}  // namespace tlsgate::e2e::cluster
