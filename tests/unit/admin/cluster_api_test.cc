// The cluster's part of the admin API (GET /v1/cluster, the replacements,
// the metrics) on a real node: a ClusterRuntime against a real etcd on
// loopback (tests/support/etcd_server.h, plaintext under etcd_insecure).
#include <sys/stat.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "admin/api.h"
#include "cluster/runtime.h"
#include "pki/encode.h"
#include "sample_status.h"
#include "support/etcd_server.h"
#include "support/policy_folder.h"
#include "support/temp_dir.h"
#include "support/test_pki.h"

namespace tlsgate::admin {
namespace {

using nlohmann::json;

class ClusterApi : public ::testing::Test {
 protected:
  ClusterApi()
      : etcd_(test::EtcdServer::Options{.tls = false}),
        ca_(test::make_test_ca("Cluster API CA")),
        gate_(test::make_sample_gate(dir_.path())),
        backend_(gate_.status) {}

  void SetUp() override {
    ASSERT_EQ(etcd_.start(), "");
    config::Config c;
    c.policies["cluster"] =
        test::make_policy(dir_.path() / "node", "cluster", ca_,
                          test::make_leaf(ca_, {"localhost", "127.0.0.1"}, true, true));
    config::Connector peer;
    peer.name = "peer";
    peer.listen_address = {"127.0.0.1", 7000};
    peer.ssl_policy = "cluster";
    c.connectors["peer"] = peer;
    c.server.state_dir = dir_.path() / "state";
    auto secret = dir_.path() / "cluster.secret";
    test::write_text(secret, std::string(32, 'q'));
    ::chmod(secret.c_str(), 0600);
    c.cluster.enabled = true;
    c.cluster.name = "api";
    c.cluster.node_name = "a";
    c.cluster.members = {"a"};
    c.cluster.etcd_endpoints = {etcd_.endpoint()};
    c.cluster.etcd_insecure = true;
    c.cluster.secret_file = secret;
    auto rt = cluster::ClusterRuntime::connect(c, false);
    ASSERT_TRUE(rt) << rt.error().message();
    runtime_ = std::move(*rt);
    ASSERT_TRUE(runtime_->catch_up());
  }

  ApiResponse call(const std::string& method, const std::string& target, Role role,
                   const std::string& body = "", bool with_cluster = true) {
    ApiOptions options;
    options.version = "9.9.9";
    options.cluster = with_cluster ? runtime_.get() : nullptr;
    Api api(backend_, options);
    ApiRequest r{method, target, body, "CN=ops", role, "127.0.0.1:4000"};
    std::optional<ApiResponse> out;
    api.handle(r, Listener::kAdmin, [&](ApiResponse res) { out = std::move(res); });
    return out.value_or(ApiResponse{});
  }
  std::string proposal(const pki::Issued& leaf) {
    return json{{"scope", "cluster"},
                {"certificate", *pki::certificate_pem(leaf.cert.get())},
                {"private_key", *pki::private_key_pem(leaf.key.get())}}
        .dump();
  }

  test::TempDir dir_;
  test::EtcdServer etcd_;
  test::TestCa ca_;
  test::SampleGate gate_;
  test::FakeBackend backend_;
  std::unique_ptr<cluster::ClusterRuntime> runtime_;
};

TEST_F(ClusterApi, StatusShowsTheMembers) {
  auto r = call("GET", "/v1/cluster", Role::kReadOnly);
  ASSERT_EQ(r.status, 200u) << r.body;
  auto j = json::parse(r.body);
  EXPECT_EQ(j["name"], "api");
  ASSERT_EQ(j["members"].size(), 1u);
  EXPECT_EQ(j["members"][0]["node"], "a");
  EXPECT_EQ(j["members"][0]["up"], true);
  EXPECT_EQ(j["members"][0]["listen_hosts"]["cluster"], json::array({"127.0.0.1"}));
  EXPECT_EQ(call("GET", "/v1/cluster", Role::kReadOnly, "", false).status, 404u);
}

TEST_F(ClusterApi, AReplacementIsProposedCommittedAndAppliedAndCannotBeAbortedThen) {
  auto fresh = test::make_leaf(ca_, {"localhost", "127.0.0.1"}, true, true);
  EXPECT_EQ(call("POST", "/v1/cluster/replacements", Role::kReadOnly, proposal(fresh)).status,
            403u);
  auto bad = call("POST", "/v1/cluster/replacements", Role::kReadWrite, "{}");
  EXPECT_EQ(bad.status, 400u);
  auto narrow = call("POST", "/v1/cluster/replacements", Role::kReadWrite,
                     proposal(test::make_leaf(ca_, {"localhost"}, true, true)));
  ASSERT_EQ(narrow.status, 400u);
  EXPECT_NE(narrow.body.find("member a listens on \\\"127.0.0.1\\\""), std::string::npos)
      << narrow.body;

  auto r = call("POST", "/v1/cluster/replacements", Role::kReadWrite, proposal(fresh));
  ASSERT_EQ(r.status, 201u) << r.body;
  const auto id = json::parse(r.body)["id"].get<std::string>();
  ASSERT_TRUE(runtime_->catch_up());  // the one member stages, commits, applies
  auto status = json::parse(call("GET", "/v1/cluster", Role::kReadOnly).body);
  ASSERT_EQ(status["replacements"].size(), 1u);
  EXPECT_EQ(status["replacements"][0]["id"], id);
  EXPECT_EQ(status["replacements"][0]["phase"], "applied");
  EXPECT_EQ(status["replacements"][0]["nodes"]["a"]["state"], "applied");

  auto metrics = call("GET", "/metrics", Role::kReadOnly);
  EXPECT_NE(metrics.body.find("tlsgate_cluster_replacement_phase{replacement=\"" + id +
                              "\",scope=\"cluster\",phase=\"applied\"} 1"),
            std::string::npos)
      << metrics.body;
  EXPECT_NE(metrics.body.find("tlsgate_cluster_member_up{node=\"a\"} 1"), std::string::npos);

  auto late = call("DELETE", "/v1/cluster/replacements/" + id, Role::kReadWrite);
  EXPECT_EQ(late.status, 409u);
  EXPECT_NE(late.body.find("is committed already"), std::string::npos) << late.body;
}

}  // namespace
}  // namespace tlsgate::admin
