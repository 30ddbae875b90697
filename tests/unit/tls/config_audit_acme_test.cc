// `tlsgate check` on an ACME policy (tls/config_audit.h): a certificate not
// obtained yet is a warning that says where it will come from, not an error.
#include <unistd.h>

#include <filesystem>
#include <set>

#include <gtest/gtest.h>

#include "tls/config_audit.h"
#include "tls_fixture.h"

namespace tlsgate::tls {
namespace {

using Severity = config::Diagnostic::Severity;

class AcmeAuditTest : public ::testing::Test {
 protected:
  AcmeAuditTest() : ca_(test::make_test_ca("ACME audit CA")) {
    config_.file = dir_.path() / "tlsgate.conf";
    config_.policies["web"] =
        testing::make_policy(dir_.path(), "web", ca_, test::make_leaf(ca_, {"db.example.com"}));
  }

  config::Policy& policy() { return config_.policies["web"]; }
  AuditReport run() { return audit(config_, util::SystemClock::instance(), {30, ::geteuid()}); }

  test::TempDir dir_;
  test::TestCa ca_;
  config::Config config_;
};

TEST_F(AcmeAuditTest, MissingCertificateIsAWarningNamingTheDirectory) {
  policy().acme_directory = "https://acme.test/directory";
  std::filesystem::remove(policy().public_certificate);
  auto report = run();
  EXPECT_EQ(report.errors(), 0);
  ASSERT_EQ(report.warnings(), 1);
  const auto& d = report.findings.front();
  EXPECT_EQ(d.severity, Severity::kWarning);
  EXPECT_EQ(d.key, "ssl.policy.web.public_certificate");
  EXPECT_NE(d.problem.find("https://acme.test/directory"), std::string::npos) << d.problem;
  EXPECT_NE(d.problem.find(policy().public_certificate.string()), std::string::npos) << d.problem;
}

TEST_F(AcmeAuditTest, MissingCertificateWithoutAcmeIsAnError) {
  std::filesystem::remove(policy().public_certificate);
  auto report = run();
  EXPECT_GE(report.errors(), 1);
}

TEST_F(AcmeAuditTest, ObtainedCertificateIsAuditedAsAnyOther) {
  policy().acme_directory = "https://acme.test/directory";
  auto report = run();
  EXPECT_EQ(report.errors(), 0);
  EXPECT_EQ(report.warnings(), 0);
  // ... and a broken one is still an error.
  test::write_cert(policy().public_certificate,
                   test::make_leaf(ca_, {"db.example.com"}).cert.get());  // key does not match
  EXPECT_GE(run().errors(), 1);
}

// The files serve reads at start are read by check first.
TEST_F(AcmeAuditTest, UnreadableCaBundleAndEabKeyAreErrorsNamingTheirKeys) {
  policy().acme_directory = "https://acme.test/directory";
  policy().acme_ca_bundle = dir_.path() / "missing-ca.pem";
  policy().acme_eab_kid = "kid-1";
  policy().acme_eab_hmac_file = dir_.path() / "eab.key";
  test::write_text(policy().acme_eab_hmac_file, "not base64url!\n");
  auto report = run();
  std::set<std::string> keys;
  for (const auto& d : report.findings) {
    if (d.severity == Severity::kError) keys.insert(d.key);
  }
  EXPECT_EQ(keys, (std::set<std::string>{"ssl.policy.web.acme_ca_bundle",
                                         "ssl.policy.web.acme_eab_hmac_file"}));
  // A padded key on a line of its own, as CAs hand it out, is fine.
  test::write_text(policy().acme_eab_hmac_file, "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wE=\n");
  test::write_cert(policy().acme_ca_bundle, ca_.ca.cert.get());
  EXPECT_EQ(run().errors(), 0);
}

}  // namespace
}  // namespace tlsgate::tls
