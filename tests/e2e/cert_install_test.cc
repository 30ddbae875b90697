// `tlsgate cert install`: the Neo4j certificate folder layout and its modes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "e2e_helpers.h"
#include "pki/certificate_info.h"
#include "support/test_pki.h"
#include "util/clock.h"

namespace tlsgate::e2e {
namespace {

using ::testing::HasSubstr;

class CertInstall : public E2eTest {
 protected:
  void SetUp() override {
    E2eTest::SetUp();
    if (HasFatalFailure()) return;
    tg_ok("cert ca --out ca --name 'Example CA'");
    tg_ok("cert issue --ca ca --out server db1.example.com localhost 127.0.0.1");
  }
};

// Review s22 §10: installed all the same, but an expired (or not yet valid)
// certificate is said at once, as serve and check say it.
TEST_F(CertInstall, ExpiredCertificateIsInstalledWithAWarning) {
  auto ca = test::make_test_ca("Old CA");
  auto now = std::chrono::system_clock::now();
  auto leaf = test::make_leaf(
      ca, {"localhost"}, true, false,
      test::Validity{now - std::chrono::hours(24 * 60), now - std::chrono::hours(24 * 3)});
  test::write_cert(path("old.crt"), leaf.cert.get());
  test::write_key(path("old.key"), leaf.key.get());
  auto info = pki::describe(leaf.cert.get(), util::SystemClock::instance());
  Proc r = tg("cert install --scope bolt --cert old.crt --key old.key");
  EXPECT_EQ(r.code, 0) << describe(r);
  EXPECT_TRUE(fs::exists(path("certificates/bolt/public.crt")));
  EXPECT_EQ(r.err, "tlsgate: warning: scope bolt: installed " + info.subject + " (serial " +
                       info.serial_hex + ") from old.crt which expired on " +
                       pki::format_time(info.not_after) +
                       "; every client will refuse it; get a renewed certificate and install it "
                       "with tlsgate cert install --scope bolt\n");
}

TEST_F(CertInstall, NotYetValidCertificateIsInstalledWithAWarning) {
  auto ca = test::make_test_ca("Future CA");
  auto now = std::chrono::system_clock::now();
  auto leaf = test::make_leaf(
      ca, {"localhost"}, true, false,
      test::Validity{now + std::chrono::hours(24), now + std::chrono::hours(24 * 90)});
  test::write_cert(path("future.crt"), leaf.cert.get());
  test::write_key(path("future.key"), leaf.key.get());
  Proc r = tg("cert install --scope bolt --cert future.crt --key future.key");
  EXPECT_EQ(r.code, 0) << describe(r);
  EXPECT_THAT(r.err, testing::StartsWith("tlsgate: warning: scope bolt: installed "));
  EXPECT_THAT(r.err, HasSubstr("which is not valid before "));
}

TEST_F(CertInstall, BoltLayoutAndModes) {
  Proc r = tg_ok(
      "cert install --scope bolt --cert server/public.crt --key server/private.key --ca ca/ca.crt");
  EXPECT_EQ(r.out,
            "installed for scope bolt in ./certificates/bolt:\n"
            "  private.key (0400), public.crt (0644), trusted/, revoked/\n"
            "enable it with: ssl.policy.bolt.enabled=true\n");
  const fs::path bolt = path("certificates/bolt");
  EXPECT_EQ(mode_of(bolt / "private.key"), 0400U);
  EXPECT_EQ(mode_of(bolt / "public.crt"), 0644U);
  EXPECT_EQ(mode_of(bolt / "trusted"), 0755U);
  EXPECT_EQ(mode_of(bolt / "revoked"), 0755U);
  EXPECT_TRUE(fs::is_directory(bolt / "trusted"));
  EXPECT_TRUE(fs::is_directory(bolt / "revoked"));
  EXPECT_TRUE(fs::is_empty(bolt / "revoked"));
  // The key is copied byte for byte; the certificate and the CA as PEM.
  EXPECT_EQ(read_file(bolt / "private.key"), read_file(path("server/private.key")));
  EXPECT_EQ(read_file(bolt / "public.crt"), read_file(path("server/public.crt")));
  EXPECT_EQ(read_file(bolt / "trusted/ca.crt"), read_file(path("ca/ca.crt")));
  EXPECT_EQ(mode_of(bolt / "trusted/ca.crt"), 0644U);
  // openssl agrees the laid-out files fit together.
  EXPECT_EQ(
      shell("openssl verify -CAfile certificates/bolt/trusted/ca.crt certificates/bolt/public.crt")
          .code,
      0);
  EXPECT_EQ(openssl_pubkey_of_key(dir_, bolt / "private.key"),
            openssl_pubkey_of_cert(dir_, bolt / "public.crt"));
}

// An encrypted key is checked against its certificate with --key-password-file and
// installed as it is (the policy's private_key_password opens it); without the password
// the message names the option.
TEST_F(CertInstall, AnEncryptedKeyIsInstalledWithItsPassword) {
  test::write_text(path("pw"), "s3cret\n", 0600);
  ASSERT_TRUE(encrypt_key("server/private.key", "server/enc.key"));
  Proc bare = tg("cert install --scope bolt --cert server/public.crt --key server/enc.key");
  EXPECT_EQ(bare.code, 1) << describe(bare);
  EXPECT_EQ(bare.err,
            "tlsgate: error: server/enc.key: the private key is encrypted; pass "
            "--key-password-file with a file that holds its password\n");
  EXPECT_FALSE(fs::exists(path("certificates/bolt/private.key")));
  Proc wrong_file =
      tg("cert install --scope bolt --cert server/public.crt --key server/enc.key "
         "--key-password-file nope");
  EXPECT_EQ(wrong_file.code, 2) << describe(wrong_file);
  EXPECT_THAT(wrong_file.err, HasSubstr("nope"));
  tg_ok(
      "cert install --scope bolt --cert server/public.crt --key server/enc.key "
      "--key-password-file pw");
  EXPECT_EQ(read_file(path("certificates/bolt/private.key")), read_file(path("server/enc.key")));
}

TEST_F(CertInstall, ReinstallOverAReadOnlyKeyAndBaseFolder) {
  fs::create_directories(path("neo4j"));
  tg_ok(
      "cert install --scope https --cert server/public.crt --key server/private.key --ca ca/ca.crt "
      "--base neo4j");
  EXPECT_EQ(mode_of(path("neo4j/certificates/https/private.key")), 0400U);
  // Renewal: a new certificate and key replace the 0400 key.
  tg_ok("cert issue --ca ca --out server2 db1.example.com");
  tg_ok(
      "cert install --scope https --cert server2/public.crt --key server2/private.key --ca "
      "ca/ca.crt "
      "--base neo4j");
  EXPECT_EQ(read_file(path("neo4j/certificates/https/private.key")),
            read_file(path("server2/private.key")));
  EXPECT_EQ(read_file(path("neo4j/certificates/https/public.crt")),
            read_file(path("server2/public.crt")));
  EXPECT_EQ(mode_of(path("neo4j/certificates/https/private.key")), 0400U);
}

TEST_F(CertInstall, WithoutCaTheCertificateTrustsItself) {
  tg_ok("cert install --scope self --cert server/public.crt --key server/private.key");
  EXPECT_EQ(read_file(path("certificates/self/trusted/public.crt")),
            read_file(path("server/public.crt")));
}

TEST_F(CertInstall, MismatchedKeyWritesNothing) {
  tg_ok("cert issue --ca ca --out other other.example.com");
  Proc r = tg(
      "cert install --scope bolt --cert server/public.crt --key other/private.key --ca ca/ca.crt");
  EXPECT_EQ(r.code, 1) << describe(r);
  EXPECT_EQ(
      r.err,
      "tlsgate: error: other/private.key does not match the certificate in server/public.crt "
      "(CN=db1.example.com,O=tlsgate); use the key the certificate was issued for, or reissue the "
      "certificate\n");
  EXPECT_FALSE(fs::exists(path("certificates")));
}

TEST_F(CertInstall, CertificateFromAnotherCaWritesNothing) {
  tg_ok("cert ca --out other-ca --name 'Other CA'");
  Proc r =
      tg("cert install --scope bolt --cert server/public.crt --key server/private.key --ca "
         "other-ca/ca.crt");
  EXPECT_EQ(r.code, 1) << describe(r);
  EXPECT_THAT(
      r.err,
      HasSubstr("tlsgate: error: server/public.crt does not chain to the CA in other-ca/ca.crt: "));
  EXPECT_FALSE(fs::exists(path("certificates")));
}

TEST_F(CertInstall, BadScopeNameIsRefused) {
  Proc r = tg("cert install --scope 'bo/lt' --cert server/public.crt --key server/private.key");
  EXPECT_EQ(r.code, 1) << describe(r);
  EXPECT_EQ(
      r.err,
      "tlsgate: error: \"bo/lt\" is not a valid scope name; use letters, digits, '_' or '-' (e.g. "
      "bolt, https, cluster)\n");
  EXPECT_FALSE(fs::exists(path("certificates")));
  Proc missing = tg("cert install --scope bolt --cert server/public.crt");
  EXPECT_EQ(missing.code, 2) << describe(missing);
}

}  // namespace
}  // namespace tlsgate::e2e
