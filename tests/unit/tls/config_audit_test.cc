#include "tls/config_audit.h"
#include "pki/crl_issuer.h"

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "pki/encode.h"
#include "tls_fixture.h"
#include "util/atomic_file.h"

namespace tlsgate::tls {
namespace {

using namespace std::chrono_literals;
using Severity = config::Diagnostic::Severity;

class AuditTest : public ::testing::Test {
 protected:
  AuditTest() : ca_(test::make_test_ca("Audit CA")) {
    leaf_ = test::make_leaf(ca_, {"localhost", "127.0.0.1"});
    config_.file = dir_.path() / "tlsgate.conf";
    config_.policies["bolt"] = testing::make_policy(dir_.path(), "bolt", ca_, leaf_);
  }

  config::Policy& policy() { return config_.policies["bolt"]; }

  std::vector<std::string> run(const util::Clock& clock = util::SystemClock::instance()) {
    report_ = audit(config_, clock, {30, ::geteuid()});
    std::vector<std::string> lines;
    for (const auto& d : report_.findings) {
      lines.push_back((d.severity == Severity::kWarning ? "warning: " : "") + config::format(d));
    }
    return lines;
  }

  std::string conf() const { return config_.file.string(); }

  test::TempDir dir_;
  test::TestCa ca_;
  pki::Issued leaf_;
  config::Config config_;
  AuditReport report_;
};

TEST_F(AuditTest, CleanPolicyHasNoFindings) {
  EXPECT_TRUE(run().empty());
  EXPECT_EQ(report_.policies, std::vector<std::string>{"bolt"});
}

TEST_F(AuditTest, KeyReadableByOthers) {
  ::chmod(policy().private_key.c_str(), 0644);
  auto key = policy().private_key.string();
  EXPECT_EQ(run(), std::vector<std::string>{conf() + ": ssl.policy.bolt.private_key: " + key +
                                            " has mode 0644: other users can read the private key; "
                                            "run chmod 600 " +
                                            key});
  EXPECT_EQ(report_.errors(), 1);
}

TEST_F(AuditTest, KeyOfAnotherCertificate) {
  auto other = test::make_leaf(ca_, {"localhost"});
  test::write_key(policy().private_key, other.key.get());
  auto lines = run();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(
      lines[0].find("ssl.policy.bolt.private_key: " + policy().private_key.string() +
                    " does not match the certificate in " + policy().public_certificate.string()),
      std::string::npos)
      << lines[0];
}

TEST_F(AuditTest, ExpiryIsJudgedByTheClock) {
  auto info = pki::describe(leaf_.cert.get(), util::SystemClock::instance());
  util::FixedClock soon(info.not_after - 24h * 10);
  auto lines = run(soon);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].rfind("warning: " + conf() +
                               ": ssl.policy.bolt.public_certificate: certificate "
                               "CN=localhost,O=tlsgate (serial ",
                           0),
            0u)
      << lines[0];
  EXPECT_NE(lines[0].find("expires in 10 days"), std::string::npos) << lines[0];
  EXPECT_EQ(report_.errors(), 0);

  util::FixedClock later(info.not_after + 1h);
  run(later);
  EXPECT_GE(report_.errors(), 1);
  EXPECT_NE(config::format(report_.findings[0]).find("expired on"), std::string::npos);
}

TEST_F(AuditTest, ListenHostNotNamedByCertificate) {
  config::Connector c;
  c.name = "bolt";
  c.listen_address = {"db.example.com", 7687};
  c.upstream_address = {"127.0.0.1", 7688};
  c.ssl_policy = "bolt";
  config_.connectors["bolt"] = c;
  auto lines = run();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0],
            conf() +
                ": ssl.policy.bolt.public_certificate: certificate CN=localhost,O=tlsgate "
                "does not name db.example.com, the host of connector.bolt.listen_address "
                "(it names DNS:localhost, IP:127.0.0.1); reissue it with that name too "
                "(tlsgate cert issue ... db.example.com)");
}

TEST_F(AuditTest, StaleCrlAndRevokedOwnCertificate) {
  auto now = std::chrono::system_clock::now();
  auto crl = pki::create_crl(ca_.ca.cert.get(), ca_.ca.key.get(), {leaf_.cert.get()},
                             util::SystemClock::instance(), now - 48h, now - 24h);
  ASSERT_TRUE(crl) << crl.error().message();
  ASSERT_TRUE(
      util::write_file_atomic(policy().revoked_dir / "ca.crl", *pki::crl_pem(crl->get()), 0644));
  auto lines = run();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].find("is stale: its nextUpdate "), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("has passed; ssl.policy.bolt.stale_crl: WARN still uses it"),
            std::string::npos)
      << lines[0];
  EXPECT_NE(lines[1].find("certificate CN=localhost,O=tlsgate is revoked by"), std::string::npos)
      << lines[1];
}

TEST_F(AuditTest, RejectedCipherAndMissingFolder) {
  policy().ciphers = {"BOGUS-SHA", "TLS_AES_128_GCM_SHA256"};
  policy().tls_versions = {"TLSv1.3"};
  std::filesystem::remove_all(policy().trusted_dir);
  auto lines = run();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], conf() +
                          ": ssl.policy.bolt.ciphers: OpenSSL rejects \"BOGUS-SHA\"; use IANA or "
                          "OpenSSL suite names (`openssl ciphers -s -v` lists them)");
  EXPECT_EQ(lines[1], conf() + ": ssl.policy.bolt.trusted_dir: folder " +
                          policy().trusted_dir.string() +
                          " does not exist; create it and put the CA certificates that issue your "
                          "peers' certificates into it");
  // The cipher is the config's fault (serve refuses it), the folder the material's.
  EXPECT_EQ(report_.errors(), 2);
  EXPECT_EQ(report_.config_errors, 1);
}

// What serve checks before it builds a context: the same findings, with no
// file read, for enabled policies only.
TEST_F(AuditTest, PolicyValuesAreCheckedWithoutTheMaterial) {
  config_.origins["ssl.policy.bolt.groups"] = {conf(), 7};
  policy().ciphers = {"BOGUS-SHA", "TLS_AES_128_GCM_SHA256"};
  policy().groups = {"X25519", "P-999"};
  policy().pinned_certs = {"sha256:beef"};
  std::filesystem::remove_all(dir_.path() / "certificates");
  auto values = check_policy_values(config_);
  std::vector<std::string> lines;
  for (const auto& d : values) {
    EXPECT_EQ(d.severity, Severity::kError) << config::format(d);
    lines.push_back(config::format(d));
  }
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], conf() +
                          ": ssl.policy.bolt.ciphers: OpenSSL rejects \"BOGUS-SHA\"; use IANA or "
                          "OpenSSL suite names (`openssl ciphers -s -v` lists them)");
  EXPECT_EQ(lines[1].rfind(conf() + ":7: ssl.policy.bolt.groups: ", 0), 0u) << lines[1];
  EXPECT_EQ(lines[2].rfind(conf() + ": ssl.policy.bolt.pinned_certs: ", 0), 0u) << lines[2];
  // The audit reports them too, counted as config errors.
  run();
  EXPECT_EQ(report_.config_errors, 3);
  policy().enabled = false;
  EXPECT_TRUE(check_policy_values(config_).empty());
}

TEST_F(AuditTest, GroupsWithoutTheCertificatesCurveBreakTls12) {
  policy().groups = {"X25519", "P-384"};
  EXPECT_EQ(run(),
            std::vector<std::string>{
                conf() + ": ssl.policy.bolt.groups: does not list P-256, the curve of the "
                         "certificate's key; TLSv1.2 clients cannot complete a handshake; add "
                         "P-256 to ssl.policy.bolt.groups, or allow only TLSv1.3"});
  policy().tls_versions = {"TLSv1.3"};
  EXPECT_TRUE(run().empty());
}

TEST_F(AuditTest, CiphersTheKeyCannotServeBreakTls12) {
  // The fixture's key is ECDSA P-256: an RSA suite, a NULL one and an
  // anonymous one are valid names that no handshake can use.
  policy().tls_versions = {"TLSv1.2"};
  for (const char* suite :
       {"ECDHE-RSA-AES128-GCM-SHA256", "NULL-SHA", "ADH-AES128-GCM-SHA256", "AES128-SHA"}) {
    policy().ciphers = {suite};
    EXPECT_EQ(run(),
              std::vector<std::string>{
                  conf() + ": ssl.policy.bolt.ciphers: names no TLSv1.2 suite the "
                           "certificate's EC key can serve (each needs ECDSA "
                           "authentication, a cipher and no PSK); no client can complete "
                           "a handshake; add a suite such as ECDHE-ECDSA-AES128-GCM-SHA256"})
        << suite;
  }
  policy().ciphers = {"ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384"};
  EXPECT_TRUE(run().empty());
  // With TLSv1.3 too, only TLSv1.2 clients are lost.
  policy().tls_versions = {"TLSv1.2", "TLSv1.3"};
  policy().ciphers = {"ECDHE-RSA-AES128-GCM-SHA256", "TLS_AES_128_GCM_SHA256"};
  auto lines = run();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("TLSv1.2 clients cannot complete a handshake; add a suite such as "
                          "ECDHE-ECDSA-AES128-GCM-SHA256, or allow only TLSv1.3"),
            std::string::npos)
      << lines[0];
}

TEST_F(AuditTest, SettingsWithoutEffectAreSaid) {
  policy().verify_hostname = false;  // bolt only accepts: nothing dials with it
  policy().ocsp_responder = "http://127.0.0.1:1/ocsp";
  auto lines = run();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].find("warning: " + conf() +
                          ": ssl.policy.bolt.verify_hostname: =false has no effect"),
            std::string::npos)
      << lines[0];
  EXPECT_NE(lines[1].find("ssl.policy.bolt.ocsp_responder: has no effect: neither "
                          "ssl.policy.bolt.ocsp_stapling nor ssl.policy.bolt.revocation_checks "
                          "asks a responder anything"),
            std::string::npos)
      << lines[1];
}

// A policy that names identities or pins refuses a client that sends no
// certificate, and under client_auth=NONE none does: not "no effect", but
// no client at all (review s23 defect 6). A policy that only dials backends
// checks their certificates with them, and is fine.
TEST_F(AuditTest, IdentitiesOrPinsUnderClientAuthNoneRefuseEveryClient) {
  policy().client_auth = config::ClientAuth::kNone;
  policy().allowed_identities = {"alice"};
  policy().pinned_certs = {"sha256:" + std::string(64, 'a')};
  auto lines = run();
  ASSERT_EQ(lines.size(), 2u) << ::testing::PrintToString(lines);
  EXPECT_EQ(lines[0], conf() +
                          ": ssl.policy.bolt.allowed_identities: client_auth is NONE, so clients "
                          "send no certificate, and a policy with allowed_identities refuses a "
                          "client without one: every client is refused; set "
                          "ssl.policy.bolt.client_auth=REQUIRE, or remove "
                          "ssl.policy.bolt.allowed_identities");
  EXPECT_NE(lines[1].find("ssl.policy.bolt.pinned_certs: client_auth is NONE"), std::string::npos)
      << lines[1];
  EXPECT_EQ(report_.errors(), 2);

  config::Connector c;
  c.name = "db";
  c.listen_address = {"127.0.0.1", 7000};
  c.upstream_address = {"127.0.0.1", 7001};
  c.ssl_policy = "in";
  c.upstream_ssl_policy = "bolt";
  config_.connectors["db"] = c;
  config_.policies["in"] = testing::make_policy(dir_.path(), "in", ca_, leaf_);
  for (const auto& line : run()) {
    EXPECT_EQ(line.find("client_auth is NONE"), std::string::npos) << line;
  }
}

}  // namespace
}  // namespace tlsgate::tls
