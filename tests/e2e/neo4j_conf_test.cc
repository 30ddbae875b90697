// A neo4j.conf as the Neo4j operations manual writes it (4.x dbms.* and 5.x
// server.* settings, the SSL policies for bolt and https) through the real
// binary: `check` passes it with one "ignored" warning per Neo4j-only key,
// and `serve` (the file plus a connector, which a neo4j.conf cannot hold)
// serves TLS with the bolt policy's certificate. A misspelled tlsgate key in
// the same file stays an error with its suggestion.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "e2e_helpers.h"
#include "support/echo_server.h"
#include "support/gate_process.h"

namespace tlsgate::e2e {
namespace {

using ::testing::HasSubstr;

// The Neo4j-only keys, in file order: each must be reported as ignored.
const std::vector<std::string> kNeo4jOnly = {
    "dbms.default_listen_address",
    "dbms.connector.bolt.enabled",
    "dbms.connector.bolt.tls_level",
    "dbms.connector.bolt.listen_address",
    "dbms.connector.https.enabled",
    "dbms.netty.ssl.provider",
    "dbms.memory.heap.initial_size",
    "dbms.memory.pagecache.size",
    "dbms.security.auth_enabled",
    "dbms.directories.data",
    "dbms.tx_log.rotation.retention_policy",
    "dbms.jvm.additional",
    "server.default_listen_address",
    "server.bolt.enabled",
    "server.bolt.tls_level",
    "server.bolt.listen_address",
    "server.https.enabled",
    "server.http.enabled",
    "server.memory.heap.max_size",
    "server.directories.logs",
    "server.cluster.listen_address",
    "server.jvm.additional",
    "initial.dbms.default_database",
    "db.tx_log.rotation.retention_policy",
    "browser.post_connect_cmd",
    "metrics.enabled",
};

constexpr const char* kNeo4jConf =
    R"(#*****************************************************************
# Neo4j configuration (4.x settings, then the 5.x spellings)
#*****************************************************************
dbms.default_listen_address=0.0.0.0
dbms.connector.bolt.enabled=true
dbms.connector.bolt.tls_level=REQUIRED
dbms.connector.bolt.listen_address=:7687
dbms.connector.https.enabled=true
dbms.netty.ssl.provider=JDK
dbms.memory.heap.initial_size=512m
dbms.memory.pagecache.size=512m
dbms.security.auth_enabled=true
dbms.directories.data=data
dbms.tx_log.rotation.retention_policy=1 days
dbms.jvm.additional=-XX:+UseG1GC

# Bolt SSL configuration
dbms.ssl.policy.bolt.enabled=true
dbms.ssl.policy.bolt.base_directory=certificates/bolt
dbms.ssl.policy.bolt.private_key=private.key
dbms.ssl.policy.bolt.public_certificate=public.crt
dbms.ssl.policy.bolt.client_auth=NONE
dbms.ssl.policy.bolt.tls_versions=TLSv1.2,TLSv1.3

# Https SSL configuration
dbms.ssl.policy.https.enabled=true
dbms.ssl.policy.https.base_directory=certificates/https
dbms.ssl.policy.https.private_key=private.key
dbms.ssl.policy.https.public_certificate=public.crt
dbms.ssl.policy.https.client_auth=NONE

server.default_listen_address=0.0.0.0
server.bolt.enabled=true
server.bolt.tls_level=REQUIRED
server.bolt.listen_address=:7687
server.https.enabled=true
server.http.enabled=false
server.memory.heap.max_size=1G
server.directories.logs=logs
server.cluster.listen_address=:6000
server.jvm.additional=-Dlog4j2.formatMsgNoLookups=true
initial.dbms.default_database=neo4j
db.tx_log.rotation.retention_policy=2 days
browser.post_connect_cmd=:play start
metrics.enabled=false
)";

class Neo4jConf : public E2eTest {
 protected:
  void SetUp() override {
    E2eTest::SetUp();
    if (HasFatalFailure()) return;
    tg_ok("cert ca --out ca --name 'Neo4j Test CA'");
    tg_ok("cert issue --ca ca --out server localhost 127.0.0.1");
    for (const char* scope : {"bolt", "https"}) {
      tg_ok(std::string("cert install --scope ") + scope +
            " --cert server/public.crt --key server/private.key --ca ca/ca.crt");
    }
  }

  // Lines of `text` that report KEY as ignored.
  static std::vector<std::string> ignored(const std::string& text) {
    std::vector<std::string> out;
    for (const auto& l : lines(text)) {
      if (l.find("ignored: a Neo4j setting, tlsgate does not use it") != std::string::npos) {
        out.push_back(l);
      }
    }
    return out;
  }
};

TEST_F(Neo4jConf, CheckReportsEachNeo4jKeyOnceAsIgnored) {
  test::write_text(path("neo4j.conf"), kNeo4jConf, 0644);
  auto r = tg("check -c neo4j.conf");
  ASSERT_EQ(r.code, 0) << describe(r);
  auto found = ignored(r.out + r.err);
  ASSERT_EQ(found.size(), kNeo4jOnly.size()) << describe(r);
  auto conf_lines = lines(kNeo4jConf);
  for (size_t i = 0; i < kNeo4jOnly.size(); ++i) {
    const auto& key = kNeo4jOnly[i];
    size_t line = 0;
    for (size_t n = 0; n < conf_lines.size() && line == 0; ++n) {
      if (conf_lines[n].starts_with(key + "=")) line = n + 1;
    }
    ASSERT_NE(line, 0u) << key;
    EXPECT_THAT(found[i], HasSubstr("neo4j.conf:" + std::to_string(line) + ": " + key + ": "));
  }
  // The policies took effect: check looks for their files.
  std::filesystem::remove(path("certificates/https/public.crt"));
  auto missing = tg("check -c neo4j.conf");
  EXPECT_EQ(missing.code, 1) << describe(missing);
  EXPECT_THAT(missing.out + missing.err, HasSubstr("certificates/https/public.crt"));
}

TEST_F(Neo4jConf, MisspelledTlsgateKeysStayErrors) {
  test::write_text(path("neo4j.conf"),
                   std::string(kNeo4jConf) +
                       "dbms.ssl.policy.bolt.client_auht=REQUIRE\n"
                       "server.bolt_listen_address=:7687\n",
                   0644);
  auto r = tg("check -c neo4j.conf");
  EXPECT_EQ(r.code, 2) << describe(r);  // unusable, as for any unknown key
  EXPECT_THAT(r.out + r.err, HasSubstr("dbms.ssl.policy.bolt.client_auht: unknown key; did you "
                                       "mean dbms.ssl.policy.bolt.client_auth?"));
  EXPECT_THAT(r.out + r.err, HasSubstr("server.bolt_listen_address: unknown key"));
}

// serve needs a connector, which a neo4j.conf cannot hold: the operator
// appends one (README, "Neo4j").
TEST_F(Neo4jConf, ServeUsesTheBoltPolicyAndIgnoresTheRest) {
  test::EchoServer neo4j;
  const int port = free_loopback_port();
  std::string text = std::string(kNeo4jConf) +
                     "connector.bolt-tls.listen_address=127.0.0.1:" + std::to_string(port) +
                     "\n"
                     "connector.bolt-tls.upstream_address=127.0.0.1:" +
                     std::to_string(neo4j.port()) +
                     "\n"
                     "connector.bolt-tls.ssl_policy=bolt\n";
  test::GateProcess gate(dir_, text, "neo4j");
  ASSERT_EQ(gate.wait_serving(port), "") << gate.report();
  EXPECT_EQ(ignored(gate.log()).size(), kNeo4jOnly.size()) << gate.log();

  // The bolt policy's certificate, under the bolt policy's versions.
  auto r = shell("timeout 10 openssl s_client -brief -connect 127.0.0.1:" + std::to_string(port) +
                 " -CAfile ca/ca.crt -verify_return_error -verify_hostname localhost "
                 "</dev/null 2>&1");
  EXPECT_EQ(r.code, 0) << describe(r) << gate.report();
  EXPECT_THAT(r.out, HasSubstr("Verification: OK")) << describe(r);
  EXPECT_THAT(r.out, HasSubstr("Protocol version: TLSv1.3")) << describe(r);
}

}  // namespace
}  // namespace tlsgate::e2e
