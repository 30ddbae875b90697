#include "net/restart_only.h"

#include <gtest/gtest.h>

#include "config/loader.h"

namespace tlsgate::net {
namespace {

// The settings a reload cannot apply are named key by key, at their line in
// the new file (review s22 §3): a reload that removes someone's admin access
// must not look as if it took effect.
class RestartOnlyTest : public ::testing::Test {
 protected:
  static config::Config load(const std::string& text) {
    auto loaded = config::load_config_text(text, "/etc/tlsgate/tlsgate.conf", {});
    EXPECT_TRUE(loaded.ok()) << (loaded.diagnostics.empty()
                                     ? std::string()
                                     : config::format(loaded.diagnostics.front()));
    return loaded.config.value_or(config::Config{});
  }
  static std::vector<std::string> changes(const std::string& before, const std::string& after) {
    std::vector<std::string> out;
    for (const auto& c : restart_only_changes(load(before), load(after))) {
      out.push_back(describe(c));
    }
    return out;
  }

  const std::string base_ =
      "ssl.policy.pg.enabled=true\n"
      "ssl.policy.admin.enabled=true\n"
      "ssl.policy.admin.client_auth=REQUIRE\n"
      "admin.enabled=true\n"
      "admin.allowed_identities=ops\n"
      "admin.read_only_identities=viewer\n"
      "connector.pg.listen_address=127.0.0.1:6432\n"
      "connector.pg.upstream_address=127.0.0.1:5432\n";
};

TEST_F(RestartOnlyTest, NothingChangedIsNoWarning) {
  EXPECT_EQ(changes(base_, base_), std::vector<std::string>{});
}

TEST_F(RestartOnlyTest, AdminListsAreNamedWithTheirLine) {
  std::string after = base_;
  after.replace(after.find("read_only_identities=viewer"), 27, "read_only_identities=");
  after.replace(after.find("allowed_identities=ops"), 22, "allowed_identities=ops;stranger");
  EXPECT_EQ(changes(base_, after),
            (std::vector<std::string>{
                "/etc/tlsgate/tlsgate.conf:5: admin.allowed_identities changed; it takes effect "
                "only after a restart (systemctl restart tlsgate)",
                "/etc/tlsgate/tlsgate.conf:6: admin.read_only_identities changed; it takes effect "
                "only after a restart (systemctl restart tlsgate)"}));
}

TEST_F(RestartOnlyTest, ConnectorServerAndClusterKeysAreNamedPolicySettingsAreNot) {
  std::string after = base_;
  after.replace(after.find("127.0.0.1:5432"), 14, "127.0.0.1:5433");
  after +=
      "ssl.policy.pg.client_auth=REQUIRE\n"  // applied by the reload: no warning
      "server.idle_timeout=60\n"
      "connector.dead.listen_address=127.0.0.1:7000\n"
      "connector.dead.upstream_address=127.0.0.1:7001\n"
      "connector.dead.ssl_policy=pg\n"
      "ssl.policy.pg.acme_directory=https://acme.example.com/directory\n";
  EXPECT_EQ(changes(base_, after),
            (std::vector<std::string>{
                "/etc/tlsgate/tlsgate.conf:11: connector.dead.* added; it takes effect only "
                "after a restart (systemctl restart tlsgate)",
                "/etc/tlsgate/tlsgate.conf:8: connector.pg.upstream_address changed; it takes "
                "effect only after a restart (systemctl restart tlsgate)",
                "/etc/tlsgate/tlsgate.conf:10: server.idle_timeout changed; it takes effect only "
                "after a restart (systemctl restart tlsgate)",
                "/etc/tlsgate/tlsgate.conf:14: ssl.policy.pg.acme_directory changed; it takes "
                "effect only after a restart (systemctl restart tlsgate)"}));
}

TEST_F(RestartOnlyTest, ARemovedKeyIsNamedWithoutALine) {
  std::string after = base_;
  after.erase(after.find("admin.read_only_identities=viewer\n"), 34);
  EXPECT_EQ(changes(base_, after),
            std::vector<std::string>{
                "/etc/tlsgate/tlsgate.conf: admin.read_only_identities changed; it takes effect "
                "only after a restart (systemctl restart tlsgate)"});
}

}  // namespace
}  // namespace tlsgate::net
