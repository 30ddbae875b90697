// Proposals that `tlsgate cluster replace-cert` refuses before anything is
// written to etcd: exit 1, a message naming what is wrong.
#include "e2e/cluster/cluster_fixture.h"

namespace tlsgate::e2e::cluster {
namespace {

using namespace std::chrono_literals;

class ClusterRefusal : public ClusterFixture {
 protected:
  void SetUp() override {
    ClusterFixture::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    lay_out();
    start_all();
  }
  // Runs replace-cert with cert/key and checks the refusal and that etcd
  // holds no replacement and no open slot afterwards; returns stderr.
  std::string refused(const std::string& cert, const std::string& key) {
    auto r = cli("cluster replace-cert --scope cluster --cert " + cert + " --key " + key);
    EXPECT_EQ(r.code, 1) << r.out << r.err;
    EXPECT_NE(r.err.find("the replacement of scope cluster was refused"), std::string::npos)
        << r.err;
    EXPECT_EQ(etcd_keys("replacements/"), 0);
    EXPECT_EQ(etcd_keys("reports/"), 0);
    EXPECT_EQ(etcd_keys("open/"), 0);
    for (int i = 0; i < kNodes; ++i) EXPECT_EQ(served(i), initial_serial_) << name(i);
    return r.err;
  }
};

TEST_F(ClusterRefusal, KeyThatDoesNotMatchTheCertificate) {
  ASSERT_FALSE(HasFatalFailure());
  write_leaf(ca_, {"127.0.0.1", "localhost"}, "next");
  write_leaf(ca_, {"127.0.0.1", "localhost"}, "other");
  auto err = refused("next.crt", "other.key");
  EXPECT_NE(err.find("does not match the certificate"), std::string::npos) << err;
}

TEST_F(ClusterRefusal, NamesThatDoNotCoverAMember) {
  ASSERT_FALSE(HasFatalFailure());
  write_leaf(ca_, {"localhost"}, "next");
  auto err = refused("next.crt", "next.key");
  for (const char* n : {"a", "b", "c"}) {
    EXPECT_NE(err.find(std::string("member ") + n +
                       " listens on \"127.0.0.1\" for ssl.policy.cluster, which the new "
                       "certificate does not name"),
              std::string::npos)
        << err;
  }
}

TEST_F(ClusterRefusal, ExpiredCertificate) {
  ASSERT_FALSE(HasFatalFailure());
  const auto now = std::chrono::system_clock::now();
  const auto serial =
      write_leaf(ca_, {"127.0.0.1", "localhost"}, "next", test::Validity{now - 240h, now - 24h});
  auto err = refused("next.crt", "next.key");
  EXPECT_NE(err.find("(serial " + serial + ") expired on"), std::string::npos) << err;
}

}  // namespace
}  // namespace tlsgate::e2e::cluster
