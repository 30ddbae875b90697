// Every message of load_config(), word for word: one row per mistake.
#include <gtest/gtest.h>

#include "config/loader.h"

namespace tlsgate::config {
namespace {

std::vector<std::string> messages(std::string_view text, const std::vector<std::string>& env = {}) {
  std::vector<std::string> out;
  for (const auto& d : load_config_text(text, "tlsgate.conf", env).diagnostics) {
    out.push_back((d.severity == Diagnostic::Severity::kWarning ? "warning: " : "") + format(d));
  }
  return out;
}

const std::string kPg =
    "ssl.policy.pg.enabled=true\n"
    "connector.pg.listen_address=:5433\n"
    "connector.pg.upstream_address=db:5432\n";

struct Case {
  const char* name;
  std::string text;
  std::vector<std::string> want;
};

// Names the row in test output instead of dumping its bytes.
void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class ConfigValidation : public ::testing::TestWithParam<Case> {};

TEST_P(ConfigValidation, ReportsWordForWord) {
  EXPECT_EQ(messages(GetParam().text), GetParam().want) << GetParam().text;
}

INSTANTIATE_TEST_SUITE_P(
    Messages, ConfigValidation,
    ::testing::Values(
        Case{"Valid", kPg, {}},
        Case{"UnknownKeySuggests",
             "ssl.policy.bolt.client_auht=REQUIRE\n",
             {"tlsgate.conf:1: ssl.policy.bolt.client_auht: unknown key; did you mean "
              "ssl.policy.bolt.client_auth?"}},
        Case{"UnknownKeyAcrossSections",
             "ssl.polcy.bolt.enabled=true\n",
             {"tlsgate.conf:1: ssl.polcy.bolt.enabled: unknown key; did you mean "
              "ssl.policy.bolt.enabled?"}},
        Case{"ScopeNameOutsideTheAllowedSet",
             "ssl.policy.p\xc3\xb3licy.enabled=true\n",
             {"tlsgate.conf:1: ssl.policy.p\xc3\xb3licy.enabled: the scope name \"p\xc3\xb3licy\" "
              "holds U+00F3 \"\xc3\xb3\" (bytes \\xc3\\xb3); a scope name may hold only ASCII "
              "letters, digits, '_' and '-'; rename the scope"}},
        Case{"UnknownKeyWithoutSuggestion",
             "favourite.colour=blue\n",
             {"tlsgate.conf:1: favourite.colour: unknown key; remove it or check the spelling"}},
        Case{"BadEnum",
             "ssl.policy.bolt.client_auth=MAYBE\n",
             {"tlsgate.conf:1: ssl.policy.bolt.client_auth: \"MAYBE\" is not a valid value; use "
              "one of NONE, "
              "OPTIONAL, REQUIRE"}},
        Case{"BadBool",
             "ssl.policy.bolt.enabled=perhaps\n",
             {"tlsgate.conf:1: ssl.policy.bolt.enabled: \"perhaps\" is not a boolean; use true or "
              "false"}},
        Case{"BadDuration",
             "ssl.policy.bolt.handshake_timeout=ten\n",
             {"tlsgate.conf:1: ssl.policy.bolt.handshake_timeout: \"ten\" is not a duration; use "
              "seconds (10, 0.5) "
              "or a unit (500ms, 30s, 5m)"}},
        Case{"ZeroTimeout",
             "server.shutdown_timeout=0\nserver.idle_timeout=0\nserver.reload_settle=0\n",
             {"tlsgate.conf:1: server.shutdown_timeout: \"0\" is not a positive duration; use a "
              "duration above 0, "
              "such as 10 or 500ms"}},
        Case{"BadAddress",
             kPg + "connector.pg.listen_address=localhost\n",
             {"tlsgate.conf:4: connector.pg.listen_address: set twice (first at line 2); remove "
              "one of the two lines",
              "tlsgate.conf:4: connector.pg.listen_address: \"localhost\" is not host:port; write "
              "it as host:port, "
              "[ipv6]:port or :port"}},
        Case{"BadPort",
             "ssl.policy.pg.enabled=true\nconnector.pg.listen_address=:70000\nconnector.pg."
             "upstream_address=db:5432\n",
             {"tlsgate.conf:2: connector.pg.listen_address: port 70000 is out of range; use a port "
              "from 1 to 65535"}},
        Case{"Duplicate",
             "# header\n\nssl.policy.bolt.enabled=true\nssl.policy.bolt.client_auth=NONE\n"
             "ssl.policy.bolt.enabled=false\n",
             {"tlsgate.conf:5: ssl.policy.bolt.enabled: set twice (first at line 3); remove one of "
              "the two lines"}},
        Case{"DuplicateThroughAlias",
             "ssl.policy.bolt.enabled=true\ndbms.ssl.policy.bolt.enabled=true\n",
             {"tlsgate.conf:2: dbms.ssl.policy.bolt.enabled: set twice (first at line 1); remove "
              "one of the two "
              "lines"}},
        Case{"MissingRequired",
             "ssl.policy.pg.enabled=true\nconnector.pg.upstream_address=db:5432\n",
             {"tlsgate.conf: connector.pg.listen_address: is required; set "
              "connector.pg.listen_address=host:port"}},
        Case{"PolicyNotDefined",
             "connector.pg.listen_address=:5433\nconnector.pg.upstream_address=db:5432\n",
             {"tlsgate.conf: connector.pg.ssl_policy: policy \"pg\" is not defined; add "
              "ssl.policy.pg.enabled=true "
              "or set connector.pg.tls_level=DISABLED"}},
        Case{"PolicyNotEnabled",
             "ssl.policy.pg.client_auth=REQUIRE\nconnector.pg.listen_address=:5433\n"
             "connector.pg.upstream_address=db:5432\n",
             {"tlsgate.conf: connector.pg.ssl_policy: policy \"pg\" is not enabled; add "
              "ssl.policy.pg.enabled=true "
              "or set connector.pg.tls_level=DISABLED"}},
        Case{"ExplicitPolicyNotDefinedPointsAtItsLine",
             kPg + "connector.pg.ssl_policy=postgres\n",
             {"tlsgate.conf:4: connector.pg.ssl_policy: policy \"postgres\" is not defined; add "
              "ssl.policy.postgres.enabled=true or set connector.pg.tls_level=DISABLED"}},
        Case{"DisabledConnectorNeedsNoPolicy",
             "connector.pg.listen_address=:5433\nconnector.pg.upstream_address=db:5432\n"
             "connector.pg.tls_level=disabled\n",
             {}},
        Case{"BadTlsLevelIsReportedOnce",
             "connector.pg.listen_address=:5433\nconnector.pg.upstream_address=db:5432\n"
             "connector.pg.tls_level=NEVER\n",
             {"tlsgate.conf:3: connector.pg.tls_level: \"NEVER\" is not a valid value; use one of "
              "DISABLED, "
              "OPTIONAL, REQUIRED"}},
        Case{"UpstreamPolicyNotDefined",
             kPg + "connector.pg.upstream_ssl_policy=backend\n",
             {"tlsgate.conf:4: connector.pg.upstream_ssl_policy: policy \"backend\" is not "
              "defined; add "
              "ssl.policy.backend.enabled=true or remove connector.pg.upstream_ssl_policy"}},
        Case{"UpstreamPolicyNotEnabled",
             kPg + "connector.pg.upstream_ssl_policy=backend\nssl.policy.backend.enabled=false\n",
             {"tlsgate.conf:4: connector.pg.upstream_ssl_policy: policy \"backend\" is not "
              "enabled; add "
              "ssl.policy.backend.enabled=true or remove connector.pg.upstream_ssl_policy"}},
        Case{"UserMapOnTcp",
             kPg + "connector.pg.user_map=users.map\n",
             {"tlsgate.conf:4: connector.pg.user_map: applies only to protocol=postgres, mysql or "
              "nats; "
              "remove it or set "
              "connector.pg.protocol"}},
        Case{"UserMapOnPostgres",
             kPg + "connector.pg.user_map=users.map\nconnector.pg.protocol=POSTGRES\n",
             {}},
        Case{"NatsKeysOnTcp",
             kPg + "connector.pg.advertise=gate:4222\nconnector.pg.upstream_tls_first=true\n",
             {"tlsgate.conf:4: connector.pg.advertise: applies only to protocol=nats; remove it "
              "or set connector.pg.protocol=nats",
              "tlsgate.conf:5: connector.pg.upstream_tls_first: applies only to protocol=nats; "
              "remove it or set connector.pg.protocol=nats",
              "tlsgate.conf:5: connector.pg.upstream_tls_first: needs TLS to the backend; set "
              "connector.pg.upstream_ssl_policy or remove connector.pg.upstream_tls_first"}},
        Case{"NatsAdvertiseNeedsDialableHosts",
             kPg + "connector.pg.protocol=nats\nconnector.pg.advertise=gate1:4222;:4223;gate3\n",
             {"tlsgate.conf:5: connector.pg.advertise: \":4223\" names no host a client can "
              "dial; give the gate's address as clients reach it, e.g. gate.example.com:4222",
              "tlsgate.conf:5: connector.pg.advertise: \"gate3\": \"gate3\" is not "
              "host:port; write it as host:port, [ipv6]:port or :port"}},
        Case{"NatsValid",
             kPg + "connector.pg.protocol=nats\nconnector.pg.advertise=gate1:4222;[::1]:4223\n"
                   "connector.pg.nats_tls_first_window=20ms\n",
             {}},
        Case{"SyntaxError",
             "ssl.policy.bolt.enabled true\n",
             {"tlsgate.conf:1: line has no '='; write key=value, or start a comment with #"}},
        Case{"EmptyValue",
             "ssl.policy.bolt.base_directory=\n",
             {"tlsgate.conf:1: ssl.policy.bolt.base_directory: has no value; give it a value or "
              "remove it"}},
        Case{"CountsOutOfRange",
             kPg + "connector.pg.max_connections=0\nserver.worker_threads=2000\n",
             {"tlsgate.conf:4: connector.pg.max_connections: 0 is out of range; use a number from "
              "1 to 4294967295",
              "tlsgate.conf:5: server.worker_threads: 2000 is out of range; use a number from 0 to "
              "1024"}},
        Case{"TlsVersions",
             "ssl.policy.a.tls_versions=TLSv1.1\nssl.policy.b.tls_versions=;\n",
             {"tlsgate.conf:1: ssl.policy.a.tls_versions: \"TLSv1.1\" is not a valid value; use "
              "one of TLSv1.2, "
              "TLSv1.3",
              "tlsgate.conf:2: ssl.policy.b.tls_versions: is empty; use one or more of TLSv1.2, "
              "TLSv1.3"}},
        Case{"SameListenAddress",
             kPg + "connector.pg2.listen_address=:5433\nconnector.pg2.upstream_address=db2:5432\n"
                   "connector.pg2.ssl_policy=pg\n",
             {"tlsgate.conf:4: connector.pg2.listen_address: connector.pg listens on the same "
              "address; give each "
              "connector its own address"}},
        Case{"AdminNeedsItsPolicy",
             "admin.enabled=true\nadmin.allowed_identities=CN=ops\n",
             {"tlsgate.conf: admin.ssl_policy: policy \"admin\" is not defined; add "
              "ssl.policy.admin.enabled=true or "
              "set admin.enabled=false"}},
        Case{"AdminPolicyMustRequireClientCertificates",
             "admin.enabled=true\nadmin.read_only_identities=CN=ops\n"
             "ssl.policy.admin.enabled=true\n",
             {"tlsgate.conf: ssl.policy.admin.client_auth: is OPTIONAL, but the admin API "
              "(admin.ssl_policy) knows its callers only by their client certificates; set "
              "ssl.policy.admin.client_auth=REQUIRE"}},
        Case{"AdminWithNobodyAllowedWarns",
             "admin.enabled=true\nssl.policy.admin.enabled=true\n"
             "ssl.policy.admin.client_auth=REQUIRE\n",
             {"warning: tlsgate.conf: admin.allowed_identities: neither admin.allowed_identities "
              "nor admin.read_only_identities lists anyone, so every request to the admin API is "
              "refused; list the identities of the operators' client certificates"}},
        Case{"AdminAddressesClash",
             "admin.enabled=true\nssl.policy.admin.enabled=true\n"
             "ssl.policy.admin.client_auth=REQUIRE\nadmin.allowed_identities=CN=ops;CN=a,O=b\n"
             "admin.listen_address=127.0.0.1:9443\nadmin.metrics_address=127.0.0.1:9443\n",
             {"tlsgate.conf:6: admin.metrics_address: is admin.listen_address too; give the "
              "plaintext metrics listener its own port"}},
        Case{"ClusterNeedsPolicyAndEndpoints",
             "cluster.enabled=yes\nssl.policy.cluster.enabled=no\n",
             {"tlsgate.conf: cluster.ssl_policy: policy \"cluster\" is not enabled; add "
              "ssl.policy.cluster.enabled=true "
              "or set cluster.enabled=false",
              "tlsgate.conf: cluster.etcd_endpoints: is required; set "
              "cluster.etcd_endpoints=https://host:2379",
              "tlsgate.conf: cluster.members: is required; list every node's name, the same list "
              "on every node: cluster.members=a;b;c",
              "tlsgate.conf: cluster.secret_file: is required; make one with: head -c 32 "
              "/dev/urandom > cluster.secret; chmod 600 cluster.secret; copy it to every node; "
              "set cluster.secret_file=cluster.secret"}},
        Case{"ClusterEndpointsMembersAndScopes",
             "cluster.enabled=yes\ncluster.node_name=d\ncluster.members=a;b\n"
             "cluster.etcd_endpoints=http://127.0.0.1:2379;etcd:2379\ncluster.scopes=bolt\n"
             "cluster.secret_file=s\ncluster.ssl_policy=x\nssl.policy.x.enabled=true\n",
             {"tlsgate.conf:2: cluster.node_name: \"d\" is not one of cluster.members; set "
              "cluster.node_name to this node's name in cluster.members, or add it there",
              "tlsgate.conf:4: cluster.etcd_endpoints: \"http://127.0.0.1:2379\" is plaintext "
              "http://, which would show etcd every record and this node's lease to anyone on the "
              "path; use https:// with cluster.ssl_policy, or set cluster.etcd_insecure=true for "
              "a test setup",
              "tlsgate.conf:4: cluster.etcd_endpoints: \"etcd:2379\" is not an https:// URL; write "
              "each endpoint as https://host:port",
              "tlsgate.conf:5: cluster.scopes: names policy \"bolt\", which is not configured; "
              "configure ssl.policy.bolt.* or remove it from cluster.scopes"}},
        // known_peers is implemented (tls/known_peers.h): no "not implemented" warning.
        Case{"KnownPeersIsLive",
             "ssl.policy.bolt.enabled=true\nssl.policy.bolt.implicit_trust_renewed=false\n"
             "ssl.policy.bolt.known_peers=db1.example\n",
             {}},
        Case{"Pkcs11UriNeedsItsModule",
             "ssl.policy.bolt.enabled=true\nssl.policy.bolt.private_key=pkcs11:token=t;object=k\n",
             {"tlsgate.conf:2: ssl.policy.bolt.private_key: is a pkcs11: URI but "
              "ssl.policy.bolt.pkcs11_module is not set; set ssl.policy.bolt.pkcs11_module to "
              "the token's PKCS#11 module, e.g. /usr/lib/softhsm/libsofthsm2.so"}},
        Case{"Pkcs11UriWithAPinIsRefused",
             "ssl.policy.bolt.enabled=true\nssl.policy.bolt.pkcs11_module=/m.so\n"
             "ssl.policy.bolt.private_key=pkcs11:token=t;object=k?pin-value=1234\n",
             {"tlsgate.conf:3: ssl.policy.bolt.private_key: holds the PIN (pin-value/pin-source) "
              "in its pkcs11: URI; remove it from the URI and set "
              "ssl.policy.bolt.private_key_password to the PIN"}},
        Case{"Pkcs11ModuleWithAKeyFileWarns",
             "ssl.policy.bolt.enabled=true\nssl.policy.bolt.pkcs11_module=/usr/lib/x.so\n",
             {"warning: tlsgate.conf:2: ssl.policy.bolt.pkcs11_module: is set but private_key is "
              "a file, not a pkcs11: URI; remove it, or set "
              "ssl.policy.bolt.private_key=pkcs11:token=...;object=..."}},
        Case{"UpstreamServerNameWithoutTlsWarns",
             "connector.pg.listen_address=:5433\nconnector.pg.upstream_address=db:5432\n"
             "connector.pg.tls_level=DISABLED\nconnector.pg.upstream_server_name=db.example\n",
             {"warning: tlsgate.conf:4: connector.pg.upstream_server_name: has no effect: the "
              "backend is reached in plaintext (no connector.pg.upstream_ssl_policy), so no name "
              "is sent or checked; set connector.pg.upstream_ssl_policy, or remove it"}},
        Case{"PinsUnderTrustAllAreNeverChecked",
             "ssl.policy.bolt.enabled=true\nssl.policy.bolt.trust_all=true\n"
             "ssl.policy.bolt.pinned_certs=sha256//47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n",
             {"warning: tlsgate.conf:2: ssl.policy.bolt.trust_all: trust_all is on: every peer is "
              "trusted without verification; use it only for debugging",
              "tlsgate.conf:3: ssl.policy.bolt.pinned_certs: is not checked: "
              "ssl.policy.bolt.trust_all=true accepts any certificate a peer presents, without "
              "checking its chain or its pin; remove ssl.policy.bolt.trust_all to have the pins "
              "checked (on top of chain verification), or remove ssl.policy.bolt.pinned_certs"}},
        Case{"AnAllowListUnderTrustAllIsNeverChecked",
             "ssl.policy.bolt.enabled=true\nssl.policy.bolt.trust_all=true\n"
             "ssl.policy.bolt.allowed_identities=CN=app\n",
             {"warning: tlsgate.conf:2: ssl.policy.bolt.trust_all: trust_all is on: every peer is "
              "trusted without verification; use it only for debugging",
              "tlsgate.conf:3: ssl.policy.bolt.allowed_identities: is not checked: "
              "ssl.policy.bolt.trust_all=true accepts any certificate a peer presents, and one "
              "nobody verified can name any identity; remove ssl.policy.bolt.trust_all to have the "
              "identities checked, or remove ssl.policy.bolt.allowed_identities"}},
        Case{"TrustAllWarns",
             "ssl.policy.bolt.enabled=true\nssl.policy.bolt.trust_all=ON\n",
             {"warning: tlsgate.conf:2: ssl.policy.bolt.trust_all: trust_all is on: every peer is "
              "trusted without "
              "verification; use it only for debugging"}}),
    [](const ::testing::TestParamInfo<Case>& row) { return std::string(row.param.name); });

TEST(ConfigValidationPass, QuotedKeysAndValuesCannotDriveTheTerminalOrRunOn) {
  // An ESC in a key, a NUL in a value (which ended C-string output there),
  // and a value of 100 KB.
  const std::string text = std::string("ssl.policy.a\x1b[2Jb.enabled=true\n") +
                           "ssl.policy.bolt.tls_versions=TLSv1.2" + std::string(1, '\0') + "x\n" +
                           "ssl.policy.bolt.client_auth=" + std::string(100000, 'A') + "\n";
  auto result = load_config_text(text, "tlsgate.conf", {});
  ASSERT_FALSE(result.diagnostics.empty());
  std::string all;
  for (const auto& d : result.diagnostics) {
    std::string line = format(d);
    EXPECT_EQ(line.find('\x1b'), std::string::npos) << line;
    EXPECT_EQ(line.find('\0'), std::string::npos) << line;
    EXPECT_LT(line.size(), 4000u);
    all += line + "\n";
  }
  EXPECT_NE(all.find("\\x1b[2J"), std::string::npos) << all;
  EXPECT_NE(all.find("TLSv1.2\\x00x"), std::string::npos) << all;
  EXPECT_NE(all.find("more bytes)"), std::string::npos) << all;
}

TEST(ConfigValidationPass, ReportsEveryProblemInFileOrder) {
  const std::string text =
      "connector.pg.upstream_address=db:5432\n"  // 1: listen_address missing (line 0, last)
      "ssl.policy.bolt.client_auth=MAYBE\n"      // 2
      "ssl.policy.bolt.enabled true\n"           // 3
      "connector.pg.tls_level=DISABLED\n"        // 4
      "ssl.policy.bolt.verify_hostnme=true\n"    // 5
      "ssl.policy.bolt.handshake_timeout=ten\n"  // 6
      "connector.pg.tls_level=DISABLED\n";       // 7
  auto result = load_config_text(text, "tlsgate.conf", {"TLSGATE_server_log__level=loud"});
  EXPECT_FALSE(result.ok());
  std::vector<std::string> got;
  for (const auto& d : result.diagnostics) got.push_back(format(d));
  EXPECT_EQ(got, (std::vector<std::string>{
                     "tlsgate.conf:2: ssl.policy.bolt.client_auth: \"MAYBE\" is not a valid value; "
                     "use one of NONE, "
                     "OPTIONAL, REQUIRE",
                     "tlsgate.conf:3: line has no '='; write key=value, or start a comment with #",
                     "tlsgate.conf:5: ssl.policy.bolt.verify_hostnme: unknown key; did you mean "
                     "ssl.policy.bolt.verify_hostname?",
                     "tlsgate.conf:6: ssl.policy.bolt.handshake_timeout: \"ten\" is not a "
                     "duration; use seconds (10, "
                     "0.5) or a unit (500ms, 30s, 5m)",
                     "tlsgate.conf:7: connector.pg.tls_level: set twice (first at line 4); remove "
                     "one of the two lines",
                     "environment TLSGATE_server_log__level: server.log_level: \"loud\" is not a "
                     "valid value; use one "
                     "of error, warn, info, debug",
                     "tlsgate.conf: connector.pg.listen_address: is required; set "
                     "connector.pg.listen_address=host:port",
                 }));
}

TEST(ConfigValidationPass, APkcs11KeyIsNotAPathUnderBaseDirectory) {
  auto result = load_config_text(
      "ssl.policy.bolt.private_key=pkcs11:token=t;object=k\n"
      "ssl.policy.bolt.pkcs11_module=/usr/lib/softhsm/libsofthsm2.so\n",
      "tlsgate.conf", {});
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result.config->policies.at("bolt").private_key.native(), "pkcs11:token=t;object=k");
}

TEST(ConfigValidationPass, WarningsKeepTheConfig) {
  auto result = load_config_text("ssl.policy.bolt.trust_all=true\n", "tlsgate.conf", {});
  ASSERT_TRUE(result.ok());
  ASSERT_EQ(result.diagnostics.size(), 1u);
  EXPECT_EQ(result.diagnostics[0].severity, Diagnostic::Severity::kWarning);
  EXPECT_TRUE(result.config->policies.at("bolt").trust_all);
}

TEST(ConfigValidationPass, EnvironmentMessagesNameTheVariable) {
  EXPECT_EQ(messages("", {"TLSGATE_ssl_policy_bolt_client__auth=MAYBE"}),
            (std::vector<std::string>{
                "environment TLSGATE_ssl_policy_bolt_client__auth: ssl.policy.bolt.client_auth: "
                "\"MAYBE\" is not a valid value; use one of NONE, OPTIONAL, REQUIRE"}));
  EXPECT_EQ(messages("", {"TLSGATE_ssl_policy_bolt_client__auht=NONE"}),
            (std::vector<std::string>{
                "environment TLSGATE_ssl_policy_bolt_client__auht: ssl.policy.bolt.client_auht: "
                "unknown key; did you mean TLSGATE_ssl_policy_bolt_client__auth?"}));
}

TEST(ConfigValidationPass, EnvironmentFixesAFileMistakeButTheFileIsStillWrong) {
  // The file's bad value is reported even though the environment wins:
  // the next deployment without the variable would break.
  EXPECT_EQ(messages("ssl.policy.bolt.client_auth=MAYBE\n",
                     {"TLSGATE_ssl_policy_bolt_client__auth=NONE"}),
            (std::vector<std::string>{
                "tlsgate.conf:1: ssl.policy.bolt.client_auth: \"MAYBE\" is not a valid value; "
                "use one of NONE, OPTIONAL, REQUIRE"}));
}

}  // namespace
}  // namespace tlsgate::config
