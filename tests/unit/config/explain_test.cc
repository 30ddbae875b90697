#include "config/key_docs.h"

#include <gtest/gtest.h>

namespace tlsgate::config {
namespace {

const std::string kClientAuthDoc =
    "  Whether clients present a certificate: NONE asks for none, OPTIONAL verifies one if sent, "
    "REQUIRE refuses "
    "a client without one.\n";

TEST(ConfigExplain, Pattern) {
  EXPECT_EQ(explain("ssl.policy.<scope>.client_auth"),
            "ssl.policy.<scope>.client_auth\n"
            "  type:     enum\n"
            "  default:  REQUIRE for cluster and backup, else OPTIONAL\n"
            "  allowed:  NONE, OPTIONAL, REQUIRE\n"
            "  env:      TLSGATE_ssl_policy_<scope>_client__auth\n" +
                kClientAuthDoc);
}

TEST(ConfigExplain, ConcreteKeyShowsTheScopesDefault) {
  EXPECT_EQ(explain("ssl.policy.cluster.client_auth"),
            "ssl.policy.<scope>.client_auth\n"
            "  key:      ssl.policy.cluster.client_auth\n"
            "  type:     enum\n"
            "  default:  REQUIRE (scope cluster)\n"
            "  allowed:  NONE, OPTIONAL, REQUIRE\n"
            "  env:      TLSGATE_ssl_policy_cluster_client__auth\n" +
                kClientAuthDoc);
  EXPECT_NE(explain("ssl.policy.bolt.client_auth")->find("  default:  OPTIONAL (scope bolt)\n"),
            std::string::npos);
}

TEST(ConfigExplain, KnownPeersIsImplementedAndSaysHowItMatches) {
  auto text = explain("ssl.policy.bolt.known_peers");
  ASSERT_TRUE(text);
  EXPECT_EQ(text->find("status:"), std::string::npos) << *text;
  EXPECT_NE(text->find("the subject CN is never used"), std::string::npos) << *text;
}

TEST(ConfigExplain, AliasAndEnvironmentFormsNameTheCanonicalKey) {
  EXPECT_EQ(explain("dbms.ssl.policy.backup.client_auth"),
            explain("ssl.policy.backup.client_auth"));
  EXPECT_EQ(explain("TLSGATE_ssl_policy_backup_client__auth"),
            explain("ssl.policy.backup.client_auth"));
  EXPECT_EQ(explain("dbms.ssl.policy.<scope>.client_auth"),
            explain("ssl.policy.<scope>.client_auth"));
}

TEST(ConfigExplain, Neo4jKeySaysItIsIgnored) {
  EXPECT_EQ(
      explain("server.bolt.tls_level"),
      "server.bolt.tls_level\n  A Neo4j setting (neo4j.conf): tlsgate does not use it; check "
      "and serve report it as ignored, so a neo4j.conf's SSL section can be used as it is.\n");
  EXPECT_EQ(explain("server.bolt_tls_level"), std::nullopt);
}

TEST(ConfigExplain, FixedKeyWithRange) {
  EXPECT_EQ(explain("server.worker_threads"),
            "server.worker_threads\n"
            "  type:     count\n"
            "  default:  0 (one per CPU core)\n"
            "  range:    0 to 1024\n"
            "  env:      TLSGATE_server_worker__threads\n"
            "  Event-loop threads; 0 starts one per CPU core.\n");
}

TEST(ConfigExplain, ScopeDependentPathAndConnectorDefaults) {
  EXPECT_EQ(explain("ssl.policy.bolt.base_directory"),
            "ssl.policy.<scope>.base_directory\n"
            "  key:      ssl.policy.bolt.base_directory\n"
            "  type:     path\n"
            "  default:  certificates/bolt, relative to the config file\n"
            "  env:      TLSGATE_ssl_policy_bolt_base__directory\n"
            "  Folder of this policy's key, certificate, trusted/ and revoked/; a relative path "
            "starts at the "
            "config file's folder.\n");
  EXPECT_NE(explain("connector.pg.ssl_policy")->find("  default:  pg (the connector's name)\n"),
            std::string::npos);
}

TEST(ConfigExplain, UnknownKey) {
  EXPECT_EQ(explain("ssl.policy.bolt.client_auht"), std::nullopt);
  EXPECT_EQ(explain(""), std::nullopt);
}

}  // namespace
}  // namespace tlsgate::config
