#include "config/key_docs.h"

#include <gtest/gtest.h>

#include <chrono>
#include <set>

namespace tlsgate::config {
namespace {

std::set<std::string> suffixes_under(const std::string& prefix) {
  std::set<std::string> out;
  for (const auto& d : key_docs()) {
    if (d.pattern.starts_with(prefix)) out.insert(d.pattern.substr(prefix.size()));
  }
  return out;
}

// The policy suffixes but the acme_* ones (those are checked on their own below).
std::set<std::string> policy_suffixes_but_acme() {
  auto out = suffixes_under("ssl.policy.<scope>.");
  std::erase_if(out, [](const std::string& s) { return s.starts_with("acme_"); });
  return out;
}

TEST(ConfigKeyDocs, CoversEveryAcmePolicySuffix) {
  std::set<std::string> acme;
  for (const auto& s : suffixes_under("ssl.policy.<scope>.")) {
    if (s.starts_with("acme_")) acme.insert(s);
  }
  EXPECT_EQ(acme, (std::set<std::string>{"acme_directory", "acme_email", "acme_names",
                                         "acme_challenge", "acme_http_address", "acme_key_type",
                                         "acme_ca_bundle", "acme_eab_kid", "acme_eab_hmac_file"}));
}

TEST(ConfigKeyDocs, CoversEveryPolicySuffixOfTheDesign) {
  EXPECT_EQ(policy_suffixes_but_acme(), (std::set<std::string>{"enabled",
                                                               "base_directory",
                                                               "private_key",
                                                               "private_key_password",
                                                               "pkcs11_module",
                                                               "public_certificate",
                                                               "trusted_dir",
                                                               "revoked_dir",
                                                               "client_auth",
                                                               "verify_hostname",
                                                               "tls_versions",
                                                               "ciphers",
                                                               "groups",
                                                               "handshake_timeout",
                                                               "trust_all",
                                                               "pinned_certs",
                                                               "allowed_identities",
                                                               "identity_from",
                                                               "known_peers",
                                                               "ocsp_stapling",
                                                               "ocsp_responder",
                                                               "stale_crl",
                                                               "revalidate_established",
                                                               "revocation_checks",
                                                               "implicit_trust_renewed"}));
}

TEST(ConfigKeyDocs, CoversEveryConnectorSuffixOfTheDesign) {
  EXPECT_EQ(suffixes_under("connector.<name>."),
            (std::set<std::string>{"listen_address", "upstream_address", "protocol", "tls_level",
                                   "ssl_policy", "upstream_ssl_policy", "upstream_server_name",
                                   "proxy_protocol", "user_map", "max_connections", "advertise",
                                   "nats_tls_first_window", "upstream_tls_first"}));
}

TEST(ConfigKeyDocs, CoversServerAdminAndCluster) {
  EXPECT_EQ(suffixes_under("server."),
            (std::set<std::string>{"worker_threads", "shutdown_timeout", "reload_settle",
                                   "ticket_key_rotation", "idle_timeout", "log_level", "state_dir",
                                   "log_format"}));
  EXPECT_EQ(suffixes_under("admin."),
            (std::set<std::string>{"enabled", "listen_address", "ssl_policy", "allowed_identities",
                                   "read_only_identities", "metrics_address"}));
  EXPECT_EQ(suffixes_under("cluster."),
            (std::set<std::string>{"enabled", "name", "node_name", "members", "etcd_endpoints",
                                   "ssl_policy", "etcd_insecure", "key_prefix", "scopes",
                                   "secret_file", "switch_before_expiry", "lease_ttl"}));
}

TEST(ConfigKeyDocs, EveryEntryIsComplete) {
  std::set<std::string> seen;
  for (const auto& d : key_docs()) {
    EXPECT_TRUE(seen.insert(d.pattern).second) << "twice: " << d.pattern;
    EXPECT_FALSE(d.default_text.empty()) << d.pattern;
    EXPECT_TRUE(d.doc.ends_with(".")) << d.pattern;
    EXPECT_EQ(d.type == ValueType::kEnum, !d.allowed.empty() && d.type != ValueType::kList)
        << d.pattern;
  }
}

TEST(ConfigKeyDocs, FindMatchesConcreteKeysAndAliases) {
  ASSERT_NE(find_key_doc("ssl.policy.bolt.client_auth"), nullptr);
  EXPECT_EQ(find_key_doc("ssl.policy.bolt.client_auth")->pattern, "ssl.policy.<scope>.client_auth");
  EXPECT_EQ(find_key_doc("dbms.ssl.policy.my-scope_2.enabled")->pattern,
            "ssl.policy.<scope>.enabled");
  // Only policy keys have the alias: Neo4j's dbms.connector.* are Neo4j's own.
  EXPECT_EQ(find_key_doc("dbms.connector.bolt.tls_level"), nullptr);
  EXPECT_EQ(find_key_doc("dbms.server.log_level"), nullptr);
  EXPECT_EQ(find_key_doc("server.log_level")->pattern, "server.log_level");
  EXPECT_EQ(find_key_doc("ssl.policy..enabled"), nullptr);
  EXPECT_EQ(find_key_doc("ssl.policy.a b.enabled"), nullptr);
  EXPECT_EQ(find_key_doc("ssl.policy.bolt.enabled.x"), nullptr);
  EXPECT_EQ(find_key_doc("server.nope"), nullptr);
}

TEST(ConfigKeyDocs, NearestKeyKeepsTheScope) {
  struct Case {
    const char* key;
    std::optional<std::string> want;
  };
  const Case cases[] = {
      {"ssl.policy.bolt.client_auht", "ssl.policy.bolt.client_auth"},
      {"ssl.polcy.bolt.enabled", "ssl.policy.bolt.enabled"},
      {"ssl_policy.bolt.enabled", "ssl.policy.bolt.enabled"},
      {"ssl.policy.cluster.trustd_dir", "ssl.policy.cluster.trusted_dir"},
      {"dbms.ssl.policy.bolt.client_auht", "dbms.ssl.policy.bolt.client_auth"},
      {"connector.pg.listen_adress", "connector.pg.listen_address"},
      {"conector.pg.tls_level", "connector.pg.tls_level"},
      {"server.log_lvl", "server.log_level"},
      {"admin.enable", "admin.enabled"},
      {"SSL.POLICY.BOLT.ENABLED", "ssl.policy.BOLT.enabled"},
      {"ssl.policy.bolt.favourite_colour", std::nullopt},
      {"completely.unrelated", std::nullopt},
  };
  for (const auto& c : cases) EXPECT_EQ(nearest_key(c.key), c.want) << c.key;
}

// A suggestion must be one a person could have meant: a scope name that
// cannot be one is not replaced by a neighbouring component of the key.
TEST(ConfigKeyDocs, NearestKeyDoesNotPutAnotherComponentInTheScopesPlace) {
  EXPECT_EQ(nearest_key("ssl.policy.p\xc3\xb3licy.enabled"), std::nullopt);
  EXPECT_EQ(nearest_key("ssl.policy..enabled"), std::nullopt);
  EXPECT_EQ(nearest_key("ssl.policy.a b.client_auth"), std::nullopt);
  EXPECT_EQ(nearest_key("connector.p\xc3\xa9.listen_address"), std::nullopt);
  // A look-alike letter in a fixed part is still a plausible typo.
  EXPECT_EQ(nearest_key("ssl.p\xd0\xbelicy.bolt.enabled"), "ssl.policy.bolt.enabled");
}

TEST(ConfigKeyDocs, BadNameInKeyNamesEachCharacterEscaped) {
  EXPECT_EQ(bad_name_in_key("ssl.policy.bolt.enabled"), std::nullopt);
  EXPECT_EQ(bad_name_in_key("ssl.policy.bolt.client_auht"), std::nullopt);
  EXPECT_EQ(bad_name_in_key("favourite.colour"), std::nullopt);
  struct Case {
    const char* key;
    const char* problem;
  };
  const Case cases[] = {
      {"ssl.policy.p\xc3\xb3licy.enabled",
       "the scope name \"p\xc3\xb3licy\" holds U+00F3 \"\xc3\xb3\" (bytes \\xc3\\xb3)"},
      {"dbms.ssl.policy.p\xc3\xb3l\xc3\xad"
       "cy.enabled",
       "the scope name \"p\xc3\xb3l\xc3\xad"
       "cy\" holds U+00F3 \"\xc3\xb3\" (bytes \\xc3\\xb3) and "
       "U+00ED \"\xc3\xad\" (bytes \\xc3\\xad)"},
      {"connector.my pg.listen_address", "the connector name \"my pg\" holds \" \" (\\x20)"},
      {"ssl.policy.a\xe2\x80\x8b.enabled",  // a zero-width space: shown by its number only
       "the scope name \"a\xe2\x80\x8b\" holds U+200B (bytes \\xe2\\x80\\x8b)"},
      {"ssl.policy.a\xff@\x1b@.enabled",
       "the scope name \"a\xff@\x1b@\" holds byte \\xff (not UTF-8), \"@\" and \\x1b"},
      {"ssl.policy..enabled", "the scope name is empty"},
  };
  for (const auto& c : cases) {
    auto got = bad_name_in_key(c.key);
    ASSERT_TRUE(got.has_value()) << c.key;
    EXPECT_EQ(got->problem, c.problem) << c.key;
  }
  EXPECT_EQ(bad_name_in_key("ssl.policy.p\xc3\xb3licy.enabled")->fix,
            "a scope name may hold only ASCII letters, digits, '_' and '-'; rename the scope");
  EXPECT_EQ(bad_name_in_key("ssl.policy..enabled")->fix,
            "name the scope between the dots with ASCII letters, digits, '_' and '-'");
  EXPECT_EQ(bad_name_in_key("connector.my pg.listen_address")->fix,
            "a connector name may hold only ASCII letters, digits, '_' and '-'; rename the "
            "connector");
}

// Found by tests/fuzz/config_fuzz (a timeout): one 4002-byte line of "a."
// took the "did you mean" search minutes, every dot-separated component being
// tried in every key pattern with a quadratic edit distance each.
TEST(ConfigKeyDocs, NearestKeyOfAHugeKeyIsNoneAndQuick) {
  std::string dots;
  for (int i = 0; i < 2000; ++i) dots += "a.";
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(nearest_key(dots + "enabled"), std::nullopt);
  EXPECT_EQ(nearest_key("ssl.policy." + std::string(300, 'b') + ".client_auht"), std::nullopt);
  // Minutes before; milliseconds now. The bound is generous for a loaded machine.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  // A long scope that real configs could have still gets its suggestion.
  std::string scope(200, 'b');
  EXPECT_EQ(nearest_key("ssl.policy." + scope + ".client_auht"),
            "ssl.policy." + scope + ".client_auth");
}

TEST(ConfigKeyDocs, ValueTypeNames) {
  EXPECT_EQ(to_string(ValueType::kBool), "boolean");
  EXPECT_EQ(to_string(ValueType::kDuration), "duration");
  EXPECT_EQ(to_string(ValueType::kAddress), "address");
}

}  // namespace
}  // namespace tlsgate::config
