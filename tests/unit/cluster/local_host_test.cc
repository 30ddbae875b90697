// What a certificate of a cluster scope must name on this node
// (add_listen_hosts): its connectors' listen hosts and the admin listener's.
#include "cluster/local_host.h"

#include <gtest/gtest.h>

namespace tlsgate::cluster {
namespace {

config::Connector connector(const std::string& host, const std::string& scope,
                            config::TlsLevel level = config::TlsLevel::kRequired) {
  config::Connector c;
  c.listen_address = {host, 5432};
  c.ssl_policy = scope;
  c.tls_level = level;
  return c;
}

TEST(ListenHosts, TheScopesConnectorsAndTheAdminListenerThatServesIt) {
  config::Config c;
  c.connectors["a"] = connector("10.0.0.1", "db");
  c.connectors["any"] = connector("0.0.0.0", "db");  // any address: no name to require
  c.connectors["star"] = connector("*", "db");
  c.connectors["off"] = connector("10.0.0.9", "db", config::TlsLevel::kDisabled);
  c.connectors["other"] = connector("10.0.0.2", "other");
  c.admin.enabled = true;
  c.admin.ssl_policy = "db";
  c.admin.listen_address = {"127.0.0.1", 9443};

  tls::PairTarget db;
  add_listen_hosts(db, c, "db");
  EXPECT_EQ(db.listen_hosts, (std::vector<std::string>{"10.0.0.1", "127.0.0.1"}));
  EXPECT_EQ(db.listen_host_keys,
            (std::map<std::string, std::string>{{"127.0.0.1", "admin.listen_address"}}));

  tls::PairTarget other;
  add_listen_hosts(other, c, "other");
  EXPECT_EQ(other.listen_hosts, (std::vector<std::string>{"10.0.0.2"}));
  EXPECT_TRUE(other.listen_host_keys.empty());

  c.admin.enabled = false;
  tls::PairTarget without_admin;
  add_listen_hosts(without_admin, c, "db");
  EXPECT_EQ(without_admin.listen_hosts, (std::vector<std::string>{"10.0.0.1"}));
}

// A host a connector of the scope listens on already is named as its.
TEST(ListenHosts, AnAdminHostSharedWithAConnectorIsListedOnce) {
  config::Config c;
  c.connectors["a"] = connector("127.0.0.1", "db");
  c.admin.enabled = true;
  c.admin.ssl_policy = "db";
  tls::PairTarget t;
  add_listen_hosts(t, c, "db");
  EXPECT_EQ(t.listen_hosts, (std::vector<std::string>{"127.0.0.1"}));
  EXPECT_TRUE(t.listen_host_keys.empty());
}

// The admin policy alone (no connector) still serves clients: the files
// host's facts say so, and require the admin host.
TEST(ListenHosts, TheAdminPolicyOfAFilesHostServesClients) {
  config::Config c;
  c.policies["admin"].scope = "admin";
  c.admin.enabled = true;
  c.admin.listen_address = {"127.0.0.2", 9443};
  FilesHost host(c, false, util::SystemClock::instance());
  auto facts = host.facts("admin");
  ASSERT_TRUE(facts) << facts.error().message();
  EXPECT_TRUE(facts->target.serves_clients);
  EXPECT_EQ(facts->target.listen_hosts, (std::vector<std::string>{"127.0.0.2"}));
}

}  // namespace
}  // namespace tlsgate::cluster
