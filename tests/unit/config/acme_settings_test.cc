// The acme_* policy keys (issue 18): parsing, defaults, acme_identifiers()
// and every ACME cross-check, through load_config_text() as `check` runs it.
#include <gtest/gtest.h>

#include <algorithm>

#include "config/key_docs.h"
#include "config/loader.h"

namespace tlsgate::config {
namespace {

// A clean ACME policy: a connector of it listens on a named host.
const std::string kAcme =
    "ssl.policy.web.enabled=true\n"
    "ssl.policy.web.acme_directory=https://acme.test/directory\n"
    "connector.web.listen_address=db.example.com:8443\n"
    "connector.web.upstream_address=127.0.0.1:8080\n";

LoadResult load(const std::string& text) {
  return load_config_text(text, "/etc/tlsgate/tlsgate.conf", {});
}

std::vector<Diagnostic> errors(const std::string& text) {
  std::vector<Diagnostic> out;
  for (const auto& d : load(text).diagnostics) {
    if (d.severity == Diagnostic::Severity::kError) out.push_back(d);
  }
  return out;
}

std::string all(const std::vector<Diagnostic>& ds) {
  std::string s;
  for (const auto& d : ds) s += format(d) + "\n";
  return s;
}

// Whether an error names `key` and says `words` (in problem or fix).
bool has_error(const std::vector<Diagnostic>& ds, const std::string& key,
               const std::string& words) {
  return std::any_of(ds.begin(), ds.end(), [&](const Diagnostic& d) {
    return d.key == key && format(d).find(words) != std::string::npos;
  });
}

TEST(AcmeSettings, CleanConfigHasNoDiagnosticsAndTheDefaults) {
  auto r = load(kAcme);
  ASSERT_TRUE(r.ok()) << all(r.diagnostics);
  EXPECT_TRUE(r.diagnostics.empty()) << all(r.diagnostics);
  const auto& p = r.config->policies.at("web");
  EXPECT_TRUE(p.acme());
  EXPECT_EQ(p.acme_directory, "https://acme.test/directory");
  EXPECT_EQ(p.acme_challenge, AcmeChallenge::kTlsAlpn01);
  EXPECT_EQ(p.acme_key_type, AcmeKeyType::kEcdsaP256);
  EXPECT_EQ(p.acme_email, "");
  EXPECT_TRUE(p.acme_names.empty());
  EXPECT_FALSE(p.acme_http_address);
  EXPECT_TRUE(p.acme_ca_bundle.empty());
  EXPECT_TRUE(p.acme_eab_kid.empty());
  EXPECT_TRUE(p.acme_eab_hmac_file.empty());
}

TEST(AcmeSettings, PolicyWithoutAcmeIsOff) {
  auto r = load("ssl.policy.bolt.enabled=true\n");
  ASSERT_TRUE(r.ok()) << all(r.diagnostics);
  EXPECT_FALSE(r.config->policies.at("bolt").acme());
}

TEST(AcmeSettings, EveryKeyParses) {
  auto r = load(kAcme +
                "ssl.policy.web.acme_email=ops@example.com\n"
                "ssl.policy.web.acme_names=DB.example.com;10.0.0.7;2001:db8::1\n"
                "ssl.policy.web.acme_challenge=http-01\n"
                "ssl.policy.web.acme_http_address=:80\n"
                "ssl.policy.web.acme_key_type=rsa-2048\n"
                "ssl.policy.web.acme_ca_bundle=pebble/ca.pem\n"
                "ssl.policy.web.acme_eab_kid=kid-1\n"
                "ssl.policy.web.acme_eab_hmac_file=/secrets/eab.key\n");
  ASSERT_TRUE(r.ok()) << all(r.diagnostics);
  const auto& p = r.config->policies.at("web");
  EXPECT_EQ(p.acme_email, "ops@example.com");
  EXPECT_EQ(p.acme_names, (std::vector<std::string>{"DB.example.com", "10.0.0.7", "2001:db8::1"}));
  EXPECT_EQ(p.acme_challenge, AcmeChallenge::kHttp01);
  ASSERT_TRUE(p.acme_http_address);
  EXPECT_EQ(p.acme_http_address->host, "");
  EXPECT_EQ(p.acme_http_address->port, 80);
  EXPECT_EQ(p.acme_key_type, AcmeKeyType::kRsa2048);
  // Relative paths start at the config file's folder; absolute ones stay.
  EXPECT_EQ(p.acme_ca_bundle, std::filesystem::path("/etc/tlsgate/pebble/ca.pem"));
  EXPECT_EQ(p.acme_eab_kid, "kid-1");
  EXPECT_EQ(p.acme_eab_hmac_file, std::filesystem::path("/secrets/eab.key"));
  EXPECT_EQ(to_string(AcmeChallenge::kTlsAlpn01), "tls-alpn-01");
  EXPECT_EQ(to_string(AcmeChallenge::kHttp01), "http-01");
  EXPECT_EQ(to_string(AcmeKeyType::kEcdsaP256), "ecdsa-p256");
  EXPECT_EQ(to_string(AcmeKeyType::kRsa2048), "rsa-2048");
}

TEST(AcmeSettings, BadValuesNameTheKey) {
  auto e = errors(kAcme + "ssl.policy.web.acme_challenge=dns-01\n" +
                  "ssl.policy.web.acme_key_type=ed25519\n" +
                  "ssl.policy.web.acme_http_address=nowhere\n");
  EXPECT_TRUE(has_error(e, "ssl.policy.web.acme_challenge", "tls-alpn-01")) << all(e);
  EXPECT_TRUE(has_error(e, "ssl.policy.web.acme_key_type", "ecdsa-p256")) << all(e);
  EXPECT_TRUE(has_error(e, "ssl.policy.web.acme_http_address", "host:port")) << all(e);
}

TEST(AcmeIdentifiers, ExplicitNamesWin) {
  auto r = load(kAcme + "ssl.policy.web.acme_names=a.example;10.0.0.1\n");
  ASSERT_TRUE(r.ok()) << all(r.diagnostics);
  EXPECT_EQ(acme_identifiers(*r.config, "web"),
            (std::vector<std::string>{"a.example", "10.0.0.1"}));
}

TEST(AcmeIdentifiers, FromListenHostsSkippingWildcardsDuplicatesAndDisabled) {
  auto r = load(
      "ssl.policy.web.enabled=true\n"
      "ssl.policy.web.acme_directory=https://acme.test/directory\n"
      "connector.a.listen_address=db.example.com:8443\n"
      "connector.a.upstream_address=127.0.0.1:1\n"
      "connector.a.ssl_policy=web\n"
      "connector.b.listen_address=db.example.com:9443\n"  // same host: once
      "connector.b.upstream_address=127.0.0.1:2\n"
      "connector.b.ssl_policy=web\n"
      "connector.c.listen_address=:443\n"  // any address: no name
      "connector.c.upstream_address=127.0.0.1:3\n"
      "connector.c.ssl_policy=web\n"
      "connector.d.listen_address=0.0.0.0:444\n"
      "connector.d.upstream_address=127.0.0.1:4\n"
      "connector.d.ssl_policy=web\n"
      "connector.e.listen_address=[::]:445\n"
      "connector.e.upstream_address=127.0.0.1:5\n"
      "connector.e.ssl_policy=web\n"
      "connector.f.listen_address=plain.example.com:446\n"  // no TLS: not ACME's
      "connector.f.upstream_address=127.0.0.1:6\n"
      "connector.f.ssl_policy=web\n"
      "connector.f.tls_level=DISABLED\n"
      "connector.g.listen_address=192.0.2.9:447\n"
      "connector.g.upstream_address=127.0.0.1:7\n"
      "connector.g.ssl_policy=web\n"
      "ssl.policy.other.enabled=true\n"
      "connector.h.listen_address=other.example.com:448\n"  // another policy's
      "connector.h.upstream_address=127.0.0.1:8\n"
      "connector.h.ssl_policy=other\n");
  ASSERT_TRUE(r.ok()) << all(r.diagnostics);
  EXPECT_EQ(acme_identifiers(*r.config, "web"),
            (std::vector<std::string>{"db.example.com", "192.0.2.9"}));
  EXPECT_TRUE(acme_identifiers(*r.config, "nosuch").empty());
}

// DNS names are case-insensitive: one name in two spellings is one identifier
// (else the order would ask for it twice).
TEST(AcmeIdentifiers, ListenHostsDifferingOnlyInCaseAreOneName) {
  auto r = load(
      "ssl.policy.web.enabled=true\n"
      "ssl.policy.web.acme_directory=https://acme.test/directory\n"
      "connector.a.listen_address=DB.example.com:8443\n"
      "connector.a.upstream_address=127.0.0.1:1\n"
      "connector.a.ssl_policy=web\n"
      "connector.b.listen_address=db.EXAMPLE.com:9443\n"
      "connector.b.upstream_address=127.0.0.1:2\n"
      "connector.b.ssl_policy=web\n");
  ASSERT_TRUE(r.ok()) << all(r.diagnostics);
  EXPECT_EQ(acme_identifiers(*r.config, "web").size(), 1u);
}

TEST(AcmeCrossChecks, DirectoryMustBeHttps) {
  auto e = errors(
      "ssl.policy.web.enabled=true\n"
      "ssl.policy.web.acme_directory=http://acme.test/directory\n"
      "connector.web.listen_address=db.example.com:8443\n"
      "connector.web.upstream_address=127.0.0.1:8080\n");
  EXPECT_TRUE(has_error(e, "ssl.policy.web.acme_directory", "https://")) << all(e);
}

TEST(AcmeCrossChecks, Http01NeedsAnAddress) {
  auto e = errors(kAcme + "ssl.policy.web.acme_challenge=http-01\n");
  EXPECT_TRUE(has_error(e, "ssl.policy.web.acme_http_address", "http-01")) << all(e);
  EXPECT_TRUE(errors(kAcme + "ssl.policy.web.acme_challenge=http-01\n"
                             "ssl.policy.web.acme_http_address=127.0.0.1:8080\n")
                  .empty());
}

TEST(AcmeCrossChecks, BothEabKeysOrNeither) {
  auto no_hmac = errors(kAcme + "ssl.policy.web.acme_eab_kid=kid\n");
  EXPECT_TRUE(has_error(no_hmac, "ssl.policy.web.acme_eab_hmac_file", "External Account Binding"))
      << all(no_hmac);
  auto no_kid = errors(kAcme + "ssl.policy.web.acme_eab_hmac_file=eab.key\n");
  EXPECT_TRUE(has_error(no_kid, "ssl.policy.web.acme_eab_kid", "External Account Binding"))
      << all(no_kid);
  auto both =
      errors(kAcme + "ssl.policy.web.acme_eab_kid=kid\nssl.policy.web.acme_eab_hmac_file=k\n");
  EXPECT_TRUE(both.empty()) << all(both);
}

TEST(AcmeCrossChecks, NamesNeeded) {
  auto e = errors(
      "ssl.policy.web.enabled=true\n"
      "ssl.policy.web.acme_directory=https://acme.test/directory\n"
      "connector.web.listen_address=:8443\n"
      "connector.web.upstream_address=127.0.0.1:8080\n");
  EXPECT_TRUE(has_error(e, "ssl.policy.web.acme_names", "acme_names=")) << all(e);
}

TEST(AcmeCrossChecks, ClusterScopeAccepted) {
  // One node renews for the cluster (docs/CLUSTER.md "ACME across the cluster").
  auto e = errors(kAcme +
                  "ssl.policy.cluster.enabled=true\n"
                  "cluster.enabled=true\ncluster.node_name=a\ncluster.members=a;b\n"
                  "cluster.etcd_endpoints=https://127.0.0.1:2379\ncluster.secret_file=s\n"
                  "cluster.scopes=web\ncluster.lease_ttl=3s\n");
  EXPECT_FALSE(has_error(e, "ssl.policy.web.acme_directory", "cluster")) << all(e);
  EXPECT_FALSE(has_error(e, "cluster.lease_ttl", "")) << all(e);
  auto short_lease = errors(kAcme +
                            "ssl.policy.cluster.enabled=true\n"
                            "cluster.enabled=true\ncluster.node_name=a\ncluster.members=a;b\n"
                            "cluster.etcd_endpoints=https://127.0.0.1:2379\n"
                            "cluster.secret_file=s\ncluster.lease_ttl=1s\n");
  EXPECT_TRUE(has_error(short_lease, "cluster.lease_ttl", "shorter than 2s")) << all(short_lease);
}

TEST(AcmeCrossChecks, TlsAlpnWithMysqlConnectorRefused) {
  auto e = errors(kAcme +
                  "connector.my.listen_address=db.example.com:3307\n"
                  "connector.my.upstream_address=127.0.0.1:3306\n"
                  "connector.my.ssl_policy=web\n"
                  "connector.my.protocol=mysql\n");
  EXPECT_TRUE(has_error(e, "ssl.policy.web.acme_challenge", "connector.my")) << all(e);
  EXPECT_TRUE(has_error(e, "ssl.policy.web.acme_challenge", "mysql")) << all(e);
  // http-01 is the way out.
  auto ok = errors(kAcme +
                   "connector.my.listen_address=db.example.com:3307\n"
                   "connector.my.upstream_address=127.0.0.1:3306\n"
                   "connector.my.ssl_policy=web\n"
                   "connector.my.protocol=mysql\n"
                   "ssl.policy.web.acme_challenge=http-01\n"
                   "ssl.policy.web.acme_http_address=:80\n");
  EXPECT_TRUE(ok.empty()) << all(ok);
}

TEST(AcmeCrossChecks, TlsAlpnWithoutConnectorRefused) {
  auto e = errors(
      "ssl.policy.web.enabled=true\n"
      "ssl.policy.web.acme_directory=https://acme.test/directory\n"
      "ssl.policy.web.acme_names=db.example.com\n");
  EXPECT_TRUE(has_error(e, "ssl.policy.web.acme_challenge", "none does")) << all(e);
  // A TLS-less connector of the policy answers nothing either.
  auto disabled = errors(
      "ssl.policy.web.enabled=true\n"
      "ssl.policy.web.acme_directory=https://acme.test/directory\n"
      "ssl.policy.web.acme_names=db.example.com\n"
      "connector.web.listen_address=db.example.com:8443\n"
      "connector.web.upstream_address=127.0.0.1:8080\n"
      "connector.web.tls_level=DISABLED\n");
  EXPECT_TRUE(has_error(disabled, "ssl.policy.web.acme_challenge", "none does")) << all(disabled);
}

TEST(AcmeCrossChecks, AcmeKeysWithoutDirectoryRefused) {
  for (const std::string line :
       {"acme_email=a@b.c", "acme_names=x.example", "acme_challenge=http-01",
        "acme_http_address=:80", "acme_key_type=rsa-2048", "acme_ca_bundle=ca.pem",
        "acme_eab_kid=k", "acme_eab_hmac_file=f"}) {
    auto e = errors("ssl.policy.web.enabled=true\nssl.policy.web." + line + "\n");
    const auto key = "ssl.policy.web." + line.substr(0, line.find('='));
    EXPECT_TRUE(has_error(e, key, "acme_directory")) << line << "\n" << all(e);
  }
}

// FAILS with the code as of f49ea1b (see the commit): `check` says 0
// problems, and serve asks the CA for names it can never validate.
// A wildcard can be validated only by dns-01 (RFC 8555 §7.1.3, RFC 8737 §3),
// which the gate does not do; an item that is neither a DNS name nor an IP
// literal is refused by every CA.
TEST(AcmeCrossChecks, NamesTheChallengeCannotValidateRefused) {
  auto wildcard = errors(kAcme + "ssl.policy.web.acme_names=db.example.com;*.example.com\n");
  EXPECT_TRUE(has_error(wildcard, "ssl.policy.web.acme_names", "*.example.com")) << all(wildcard);
  auto bad = errors(kAcme + "ssl.policy.web.acme_names=db.example.com;https://db.example.com/\n");
  EXPECT_TRUE(has_error(bad, "ssl.policy.web.acme_names", "https://db.example.com/")) << all(bad);
}

TEST(AcmeExplain, ChallengeKeyMentionsTlsAlpn) {
  auto text = explain("ssl.policy.x.acme_challenge");
  ASSERT_TRUE(text);
  EXPECT_NE(text->find("tls-alpn-01"), std::string::npos) << *text;
  EXPECT_NE(text->find("http-01"), std::string::npos) << *text;
  EXPECT_NE(text->find("key:      ssl.policy.x.acme_challenge"), std::string::npos) << *text;
  auto dir = explain("ssl.policy.x.acme_directory");
  ASSERT_TRUE(dir);
  EXPECT_NE(dir->find("ACME"), std::string::npos) << *dir;
}

}  // namespace
}  // namespace tlsgate::config
