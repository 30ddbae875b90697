#include "config/loader.h"

#include <map>

#include <gtest/gtest.h>

#include "config/key_docs.h"
#include "support/temp_dir.h"

namespace tlsgate::config {
namespace {

namespace fs = std::filesystem;

Config load_ok(std::string_view text, const std::vector<std::string>& env = {},
               const fs::path& file = "/etc/tlsgate/tlsgate.conf") {
  auto result = load_config_text(text, file, env);
  for (const auto& d : result.diagnostics) {
    // Keys not implemented yet warn by design (tested in EveryDocumentedKeyIsAccepted).
    if (d.severity == Diagnostic::Severity::kWarning &&
        d.problem.starts_with("accepted but not implemented yet"))
      continue;
    ADD_FAILURE() << format(d);
  }
  return result.config.value_or(Config{});
}

TEST(ConfigLoader, PolicyDefaults) {
  auto c = load_ok("ssl.policy.bolt.enabled=true\n");
  ASSERT_EQ(c.policies.count("bolt"), 1u);
  const Policy& p = c.policies.at("bolt");
  EXPECT_EQ(p.scope, "bolt");
  EXPECT_TRUE(p.enabled);
  EXPECT_EQ(p.base_directory, "/etc/tlsgate/certificates/bolt");
  EXPECT_EQ(p.private_key, "/etc/tlsgate/certificates/bolt/private.key");
  EXPECT_EQ(p.public_certificate, "/etc/tlsgate/certificates/bolt/public.crt");
  EXPECT_EQ(p.trusted_dir, "/etc/tlsgate/certificates/bolt/trusted");
  EXPECT_EQ(p.revoked_dir, "/etc/tlsgate/certificates/bolt/revoked");
  EXPECT_EQ(p.client_auth, ClientAuth::kOptional);
  EXPECT_TRUE(p.verify_hostname);
  EXPECT_EQ(p.tls_versions, (std::vector<std::string>{"TLSv1.2", "TLSv1.3"}));
  EXPECT_TRUE(p.ciphers.empty());
  EXPECT_EQ(p.groups, (std::vector<std::string>{"X25519", "P-256", "P-384"}));
  EXPECT_EQ(p.handshake_timeout, Seconds(10));
  EXPECT_FALSE(p.trust_all);
  EXPECT_EQ(p.identity_from, IdentityFrom::kSubject);
  EXPECT_FALSE(p.ocsp_stapling);
  EXPECT_EQ(p.revocation_checks, RevocationChecks::kNone);
  EXPECT_EQ(p.stale_crl, StaleCrl::kWarn);
  EXPECT_TRUE(p.revalidate_established);
  EXPECT_TRUE(p.ocsp_responder.empty());
  EXPECT_TRUE(p.implicit_trust_renewed);
  EXPECT_FALSE(p.private_key_password.has_value());
}

TEST(ConfigLoader, AnyKeyMentioningAScopeCreatesADisabledPolicy) {
  auto c = load_ok("ssl.policy.fabric.ciphers=TLS_AES_128_GCM_SHA256\n");
  ASSERT_EQ(c.policies.count("fabric"), 1u);
  EXPECT_FALSE(c.policies.at("fabric").enabled);
  EXPECT_EQ(c.policies.size(), 1u);
}

TEST(ConfigLoader, ClientAuthDefaultDependsOnTheScope) {
  struct Case {
    std::string scope;
    ClientAuth want;
  };
  const Case cases[] = {{"cluster", ClientAuth::kRequire}, {"backup", ClientAuth::kRequire},
                        {"bolt", ClientAuth::kOptional},   {"https", ClientAuth::kOptional},
                        {"fabric", ClientAuth::kOptional}, {"anything", ClientAuth::kOptional}};
  for (const auto& c : cases) {
    auto config = load_ok("ssl.policy." + c.scope + ".enabled=true\n");
    EXPECT_EQ(config.policies.at(c.scope).client_auth, c.want) << c.scope;
  }
  auto explicit_none = load_ok("ssl.policy.cluster.client_auth=none\n");
  EXPECT_EQ(explicit_none.policies.at("cluster").client_auth, ClientAuth::kNone);
}

TEST(ConfigLoader, RelativePathsResolve) {
  auto c = load_ok(
      "ssl.policy.a.base_directory=certs/a/\n"
      "ssl.policy.a.private_key=keys/a.key\n"
      "ssl.policy.a.public_certificate=/abs/a.crt\n"
      "ssl.policy.a.trusted_dir=../ca\n"
      "ssl.policy.b.base_directory=/srv/pki/b\n"
      "ssl.policy.b.revoked_dir=crl\n"
      "ssl.policy.c.base_directory=../shared/./c\n"
      "connector.pg.listen_address=:5433\n"
      "connector.pg.upstream_address=db:5432\n"
      "connector.pg.protocol=postgres\n"
      "connector.pg.tls_level=DISABLED\n"
      "connector.pg.user_map=maps/pg.map\n");
  const Policy& a = c.policies.at("a");
  EXPECT_EQ(a.base_directory, "/etc/tlsgate/certs/a");
  EXPECT_EQ(a.private_key, "/etc/tlsgate/certs/a/keys/a.key");
  EXPECT_EQ(a.public_certificate, "/abs/a.crt");
  EXPECT_EQ(a.trusted_dir, "/etc/tlsgate/certs/ca");
  EXPECT_EQ(a.revoked_dir, "/etc/tlsgate/certs/a/revoked");
  EXPECT_EQ(c.policies.at("b").base_directory, "/srv/pki/b");
  EXPECT_EQ(c.policies.at("b").revoked_dir, "/srv/pki/b/crl");
  EXPECT_EQ(c.policies.at("c").base_directory, "/etc/shared/c");
  EXPECT_EQ(c.connectors.at("pg").user_map, fs::path("/etc/tlsgate/maps/pg.map"));
}

TEST(ConfigLoader, RelativeConfigFileNameResolvesAgainstTheWorkingDirectory) {
  auto result = load_config_text("ssl.policy.bolt.enabled=true\n", "conf/tlsgate.conf", {});
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result.config->file, fs::current_path() / "conf/tlsgate.conf");
  EXPECT_EQ(result.config->source, "conf/tlsgate.conf");
  EXPECT_EQ(result.config->policies.at("bolt").base_directory,
            fs::current_path() / "conf/certificates/bolt");
}

TEST(ConfigLoader, ConnectorDefaults) {
  auto c = load_ok(
      "ssl.policy.neo.enabled=true\n"
      "connector.neo.listen_address=:7687\n"
      "connector.neo.upstream_address=graph.internal:7688\n"
      "ssl.policy.v6.enabled=true\n"
      "connector.v6.listen_address=[::]:7000\n"
      "connector.v6.upstream_address=[fd00::1]:7001\n");
  const Connector& neo = c.connectors.at("neo");
  EXPECT_EQ(neo.name, "neo");
  EXPECT_EQ(neo.listen_address, (HostPort{"", 7687}));
  EXPECT_EQ(neo.upstream_address, (HostPort{"graph.internal", 7688}));
  EXPECT_EQ(neo.protocol, Protocol::kTcp);
  EXPECT_EQ(neo.tls_level, TlsLevel::kRequired);
  EXPECT_EQ(neo.ssl_policy, "neo");
  EXPECT_FALSE(neo.upstream_ssl_policy.has_value());
  EXPECT_EQ(neo.upstream_server_name, "graph.internal");
  EXPECT_EQ(neo.proxy_protocol, ProxyProtocol::kOff);
  EXPECT_FALSE(neo.user_map.has_value());
  EXPECT_EQ(neo.max_connections, 10000u);
  EXPECT_EQ(c.connectors.at("v6").upstream_server_name, "fd00::1");
  EXPECT_EQ(c.connectors.at("v6").listen_address, (HostPort{"::", 7000}));
}

TEST(ConfigLoader, EveryValueLandsInItsField) {
  auto c = load_ok(
      "ssl.policy.db.enabled=YES\n"
      "ssl.policy.db.private_key_password=$(cat /run/secret)\n"
      "ssl.policy.db.client_auth=require\n"
      "ssl.policy.db.verify_hostname=off\n"
      "ssl.policy.db.tls_versions=tlsv1.3\n"
      "ssl.policy.db.ciphers=TLS_AES_256_GCM_SHA384,ECDHE-ECDSA-AES128-GCM-SHA256\n"
      "ssl.policy.db.groups=X25519;P-384\n"
      "ssl.policy.db.handshake_timeout=0.5\n"
      "ssl.policy.db.pinned_certs=sha256//AAAA, 0a1b\n"
      "ssl.policy.db.allowed_identities=CN=app,O=Acme;CN=ops,O=Acme\n"
      "ssl.policy.db.identity_from=SAN_EMAIL\n"
      "ssl.policy.db.known_peers=*.cluster.local,node1.example\n"
      "ssl.policy.db.ocsp_stapling=1\n"
      "ssl.policy.db.ocsp_responder=http://ocsp.internal:8080/\n"
      "ssl.policy.db.revocation_checks=if_present\n"
      "ssl.policy.db.stale_crl=reject\n"
      "ssl.policy.db.revalidate_established=false\n"
      "ssl.policy.db.implicit_trust_renewed=false\n"
      "connector.db.listen_address=0.0.0.0:3307\n"
      "connector.db.upstream_address=mysql:3306\n"
      "connector.db.protocol=MySQL\n"
      "connector.db.tls_level=optional\n"
      "connector.db.ssl_policy=db\n"
      "connector.db.upstream_ssl_policy=db\n"
      "connector.db.upstream_server_name=mysql.internal\n"
      "connector.db.proxy_protocol=none\n"
      "connector.db.max_connections=64\n"
      "server.worker_threads=4\n"
      "server.shutdown_timeout=1m\n"
      "server.reload_settle=50ms\n"
      "server.ticket_key_rotation=12h\n"
      "server.idle_timeout=1d\n"
      "server.log_level=DEBUG\n"
      "server.log_format=json\n"
      "server.state_dir=/var/lib/tlsgate\n"
      "admin.enabled=true\n"
      "admin.listen_address=[::1]:9000\n"
      "admin.ssl_policy=db\n"
      "admin.allowed_identities=CN=ops,O=Acme;CN=root\n"
      "admin.read_only_identities=CN=viewer\n"
      "admin.metrics_address=127.0.0.1:9100\n"
      "cluster.enabled=true\n"
      "cluster.name=prod\n"
      "cluster.node_name=node-1\n"
      "cluster.members=node-1;node-2\n"
      "cluster.etcd_endpoints=https://e1:2379,https://e2:2379\n"
      "cluster.ssl_policy=db\n"
      "cluster.etcd_insecure=true\n"
      "cluster.key_prefix=/gate\n"
      "cluster.scopes=db\n"
      "cluster.secret_file=cluster.secret\n"
      "cluster.switch_before_expiry=2d\n");
  const Policy& p = c.policies.at("db");
  ASSERT_TRUE(p.private_key_password.has_value());
  EXPECT_EQ(p.private_key_password->reveal(), "$(cat /run/secret)");
  EXPECT_EQ(p.client_auth, ClientAuth::kRequire);
  EXPECT_FALSE(p.verify_hostname);
  EXPECT_EQ(p.tls_versions, std::vector<std::string>{"TLSv1.3"});
  EXPECT_EQ(p.ciphers,
            (std::vector<std::string>{"TLS_AES_256_GCM_SHA384", "ECDHE-ECDSA-AES128-GCM-SHA256"}));
  EXPECT_EQ(p.groups, (std::vector<std::string>{"X25519", "P-384"}));
  EXPECT_EQ(p.handshake_timeout, Seconds(0.5));
  EXPECT_EQ(p.pinned_certs, (std::vector<std::string>{"sha256//AAAA", "0a1b"}));
  EXPECT_EQ(p.allowed_identities, (std::vector<std::string>{"CN=app,O=Acme", "CN=ops,O=Acme"}));
  EXPECT_EQ(p.identity_from, IdentityFrom::kSanEmail);
  EXPECT_EQ(p.known_peers, (std::vector<std::string>{"*.cluster.local", "node1.example"}));
  EXPECT_TRUE(p.ocsp_stapling);
  EXPECT_EQ(p.ocsp_responder, "http://ocsp.internal:8080/");
  EXPECT_EQ(p.revocation_checks, RevocationChecks::kIfPresent);
  EXPECT_EQ(p.stale_crl, StaleCrl::kReject);
  EXPECT_FALSE(p.revalidate_established);
  EXPECT_FALSE(p.implicit_trust_renewed);

  const Connector& db = c.connectors.at("db");
  EXPECT_EQ(db.listen_address, (HostPort{"0.0.0.0", 3307}));
  EXPECT_EQ(db.protocol, Protocol::kMysql);
  EXPECT_EQ(db.tls_level, TlsLevel::kOptional);
  EXPECT_EQ(db.upstream_ssl_policy, "db");
  EXPECT_EQ(db.upstream_server_name, "mysql.internal");
  EXPECT_EQ(db.proxy_protocol, ProxyProtocol::kOff);
  EXPECT_EQ(db.max_connections, 64u);

  EXPECT_EQ(c.server.worker_threads, 4u);
  EXPECT_EQ(c.server.shutdown_timeout, Seconds(60));
  EXPECT_DOUBLE_EQ(c.server.reload_settle.count(), 0.05);
  EXPECT_EQ(c.server.ticket_key_rotation, Seconds(43200));
  EXPECT_EQ(c.server.idle_timeout, Seconds(86400));
  EXPECT_EQ(c.server.log_level, LogLevel::kDebug);
  EXPECT_EQ(c.server.log_format, LogFormat::kJson);
  EXPECT_EQ(c.server.state_dir, std::filesystem::path("/var/lib/tlsgate"));
  EXPECT_TRUE(c.admin.enabled);
  EXPECT_EQ(c.admin.listen_address, (HostPort{"::1", 9000}));
  EXPECT_EQ(c.admin.ssl_policy, "db");
  EXPECT_EQ(c.admin.allowed_identities, (std::vector<std::string>{"CN=ops,O=Acme", "CN=root"}));
  EXPECT_EQ(c.admin.read_only_identities, std::vector<std::string>{"CN=viewer"});
  EXPECT_EQ(c.admin.metrics_address, (HostPort{"127.0.0.1", 9100}));
  EXPECT_TRUE(c.cluster.enabled);
  EXPECT_EQ(c.cluster.node_name, "node-1");
  EXPECT_EQ(c.cluster.etcd_endpoints,
            (std::vector<std::string>{"https://e1:2379", "https://e2:2379"}));
  EXPECT_EQ(c.cluster.key_prefix, "/gate");
  EXPECT_EQ(c.cluster.name, "prod");
  EXPECT_EQ(c.cluster.members, (std::vector<std::string>{"node-1", "node-2"}));
  EXPECT_TRUE(c.cluster.etcd_insecure);
  EXPECT_EQ(c.cluster.scopes, std::vector<std::string>{"db"});
  EXPECT_EQ(c.cluster.secret_file, std::filesystem::path("/etc/tlsgate/cluster.secret"));
  EXPECT_EQ(c.cluster.switch_before_expiry, Seconds(2 * 86400));
}

TEST(ConfigLoader, GlobalDefaults) {
  auto c = load_ok("");
  EXPECT_TRUE(c.policies.empty());
  EXPECT_TRUE(c.connectors.empty());
  Server defaults;
  defaults.state_dir = "/etc/tlsgate/state";  // beside the config file
  EXPECT_EQ(c.server, defaults);
  EXPECT_EQ(c.admin, Admin{});
  EXPECT_EQ(c.admin.listen_address, (HostPort{"127.0.0.1", 9443}));
  EXPECT_FALSE(c.admin.metrics_address.has_value());
  EXPECT_FALSE(c.cluster.node_name.empty());  // the host name
  EXPECT_EQ(c.cluster.ssl_policy, "cluster");
  EXPECT_EQ(c.cluster.key_prefix, "/tlsgate");
  EXPECT_EQ(c.cluster.scopes, std::vector<std::string>{"cluster"});
  EXPECT_EQ(c.cluster.switch_before_expiry, Seconds(3 * 86400));
}

TEST(ConfigLoader, EveryDocumentedKeyIsAccepted) {
  int port = 0;  // each address its own, so no two listeners clash
  auto sample = [&port](const KeyDoc& d) -> std::string {
    switch (d.type) {
      case ValueType::kBool:
        return "true";
      case ValueType::kString:
        return "s";
      case ValueType::kPath:
        return "p";
      case ValueType::kSecret:
        return "pw";
      case ValueType::kEnum:
        return d.allowed.back();
      case ValueType::kList:
        if (d.pattern.ends_with(".advertise")) return "h:1";  // items are addresses
        return d.allowed.empty() ? "x" : d.allowed.front();
      case ValueType::kDuration:
        return "1";
      case ValueType::kCount:
        return std::to_string(std::max<uint64_t>(d.min, 1));
      case ValueType::kAddress:
        return "h:" + std::to_string(++port);
    }
    return "";
  };
  std::string text;
  std::vector<std::string> keys;
  for (const auto& d : key_docs()) {
    auto key = d.pattern;
    for (const char* var : {"<scope>", "<name>"}) {
      if (auto at = key.find(var); at != std::string::npos)
        key.replace(at, std::string(var).size(), "s");
    }
    keys.push_back(key);
    // The cluster's keys must agree with each other to pass the cross-checks.
    const std::map<std::string, std::string> agreeing = {
        {"cluster.etcd_endpoints", "https://e:2379"},
        {"cluster.members", "s"},
        {"cluster.lease_ttl", "2s"},  // etcd grants no shorter lease reliably
        {"cluster.scopes", "c"},      // not s: ACME on a cluster-wide policy is refused
        {"cluster.ssl_policy", "s"},
        {"ssl.policy.s.trust_all", "false"},  // true would leave pinned_certs unchecked: an error
        {"ssl.policy.s.acme_directory", "https://acme.test/directory"},
        {"ssl.policy.s.private_key", "pkcs11:token=t;object=k"}};  // as pkcs11_module wants
    auto it = agreeing.find(key);
    text += key + "=" + (it != agreeing.end() ? it->second : sample(d)) + "\n";
  }
  text += "ssl.policy.c.enabled=true\n";  // the cluster-wide policy
  auto result = load_config_text(text, "/etc/tlsgate/tlsgate.conf", {});
  std::string all;
  for (const auto& d : result.diagnostics) all += format(d) + "\n";
  ASSERT_TRUE(result.ok()) << all;
  // One warning per key that is accepted but not implemented yet.
  std::vector<std::string> warned;
  for (const auto& d : result.diagnostics) {
    EXPECT_EQ(d.severity, Diagnostic::Severity::kWarning) << format(d);
    warned.push_back(d.key);
  }
  std::vector<std::string> not_implemented;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (!key_docs()[i].not_implemented.empty()) not_implemented.push_back(keys[i]);
  }
  EXPECT_EQ(warned, not_implemented);
  EXPECT_EQ(result.diagnostics.size(), not_implemented.size());
  for (const auto& key : keys) EXPECT_EQ(result.config->origins.count(key), 1u) << key;
}

TEST(ConfigLoader, EnvironmentWinsAndIsRecordedAsTheOrigin) {
  auto c = load_ok(
      "ssl.policy.bolt.enabled=true\n"
      "ssl.policy.bolt.handshake_timeout=5\n",
      {"TLSGATE_ssl_policy_bolt_handshake__timeout=7",
       "TLSGATE_ssl_policy_bolt_base__directory=/certs",
       "TLSGATE_ssl_policy_env__only_enabled=true", "TLSGATE_BIN=/build/tlsgate"});
  const Policy& bolt = c.policies.at("bolt");
  EXPECT_EQ(bolt.handshake_timeout, Seconds(7));
  EXPECT_EQ(bolt.base_directory, "/certs");
  EXPECT_EQ(bolt.private_key, "/certs/private.key");
  EXPECT_TRUE(c.policies.at("env_only").enabled);

  auto where = c.where("ssl.policy.bolt.handshake_timeout");
  EXPECT_EQ(where.file, "environment TLSGATE_ssl_policy_bolt_handshake__timeout");
  EXPECT_EQ(where.line, 0);
  EXPECT_EQ(c.where("ssl.policy.bolt.enabled").file, "/etc/tlsgate/tlsgate.conf");
  EXPECT_EQ(c.where("ssl.policy.bolt.enabled").line, 1);
  EXPECT_EQ(c.where("ssl.policy.bolt.ciphers").line, 0);
}

TEST(ConfigLoader, EnvironmentPathsAreRelativeToTheConfigFile) {
  auto c = load_ok("", {"TLSGATE_ssl_policy_bolt_base__directory=pki/bolt"});
  EXPECT_EQ(c.policies.at("bolt").base_directory, "/etc/tlsgate/pki/bolt");
}

TEST(ConfigLoader, DbmsAliasIsTheCanonicalKey) {
  auto c = load_ok(
      "dbms.ssl.policy.bolt.enabled=true\n"
      "dbms.ssl.policy.bolt.client_auth=REQUIRE\n"
      "connector.bolt.listen_address=:7687\n"
      "connector.bolt.upstream_address=neo4j:7688\n"
      "connector.bolt.tls_level=OPTIONAL\n",
      {"TLSGATE_dbms_ssl_policy_bolt_tls__versions=TLSv1.3"});
  EXPECT_TRUE(c.policies.at("bolt").enabled);
  EXPECT_EQ(c.policies.at("bolt").client_auth, ClientAuth::kRequire);
  EXPECT_EQ(c.policies.at("bolt").tls_versions, std::vector<std::string>{"TLSv1.3"});
  EXPECT_EQ(c.connectors.at("bolt").tls_level, TlsLevel::kOptional);
  EXPECT_EQ(c.where("ssl.policy.bolt.client_auth").line, 2);
  EXPECT_EQ(c.origins.count("dbms.ssl.policy.bolt.enabled"), 0u);
}

// A neo4j.conf as it is: Neo4j's own families are one warning each (its
// connectors are Neo4j's listeners, not the gate's), a misspelled tlsgate
// key, or an unknown one under tlsgate's server. prefix, stays an error.
TEST(ConfigLoader, Neo4jKeysAreIgnoredWithAWarning) {
  auto r = load_config_text(
      "dbms.ssl.policy.bolt.enabled=true\n"
      "dbms.connector.bolt.tls_level=REQUIRED\n"
      "dbms.connector.bolt.listen_address=:7687\n"
      "server.bolt.tls_level=REQUIRED\n"
      "dbms.memory.heap.max_size=1G\n"
      "server.worker_threads=2\n",
      "/etc/neo4j/neo4j.conf", {});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r.diagnostics.size(), 4u);
  EXPECT_EQ(format(r.diagnostics[0]),
            "/etc/neo4j/neo4j.conf:2: dbms.connector.bolt.tls_level: ignored: a Neo4j setting, "
            "tlsgate does not use it");
  EXPECT_EQ(r.diagnostics[3].where.line, 5);
  for (const auto& d : r.diagnostics) EXPECT_EQ(d.severity, Diagnostic::Severity::kWarning);
  EXPECT_TRUE(r.config->connectors.empty());
  EXPECT_EQ(r.config->server.worker_threads, 2u);

  auto bad =
      load_config_text("dbms.ssl.policy.bolt.client_auht=REQUIRE\nserver.bolt_tls_level=REQUIRED\n",
                       "neo4j.conf", {});
  ASSERT_FALSE(bad.ok());
  ASSERT_EQ(bad.diagnostics.size(), 2u);
  EXPECT_EQ(format(bad.diagnostics[0]),
            "neo4j.conf:1: dbms.ssl.policy.bolt.client_auht: unknown key; did you mean "
            "dbms.ssl.policy.bolt.client_auth?");
  EXPECT_EQ(bad.diagnostics[1].severity, Diagnostic::Severity::kError);
}

TEST(ConfigLoader, ReadsTheFile) {
  test::TempDir dir;
  test::write_text(dir / "tlsgate.conf", "ssl.policy.bolt.enabled=true\n");
  auto result = load_config(dir / "tlsgate.conf", {});
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result.config->file, dir / "tlsgate.conf");
  EXPECT_EQ(result.config->policies.at("bolt").base_directory, dir / "certificates/bolt");
}

TEST(ConfigLoader, FileProblems) {
  test::TempDir dir;
  auto missing = load_config(dir / "nope.conf", {});
  ASSERT_EQ(missing.diagnostics.size(), 1u);
  EXPECT_EQ(format(missing.diagnostics[0]),
            (dir / "nope.conf").string() +
                ": no such file; give the config file's path with -c/--config");
  auto folder = load_config(dir.path(), {});
  ASSERT_EQ(folder.diagnostics.size(), 1u);
  EXPECT_EQ(format(folder.diagnostics[0]),
            dir.path().string() +
                ": is a folder, not a file; give the config file's path with -c/--config");
}

TEST(ConfigLoader, CurrentEnvironmentSeesVariables) {
  ::setenv("TLSGATE_config_test_probe", "1", 1);  // NOLINT(concurrency-mt-unsafe)
  auto env = current_environment();
  EXPECT_NE(std::find(env.begin(), env.end(), "TLSGATE_config_test_probe=1"), env.end());
  ::unsetenv("TLSGATE_config_test_probe");  // NOLINT(concurrency-mt-unsafe)
}

}  // namespace
}  // namespace tlsgate::config
