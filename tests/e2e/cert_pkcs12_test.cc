// `tlsgate cert pkcs12`: stores openssl reads, and stores tlsgate reads back (its own and
// openssl's).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "e2e_helpers.h"

namespace tlsgate::e2e {
namespace {

using ::testing::HasSubstr;

class CertPkcs12 : public E2eTest {
 protected:
  void SetUp() override {
    E2eTest::SetUp();
    if (HasFatalFailure()) return;
    tg_ok("cert ca --out ca --name 'P12 CA'");
    tg_ok("cert issue --ca ca --out app --client app1@example.com");
    test::write_text(path("pw"), "s3cret pass\n", 0600);
    test::write_text(path("bad-pw"), "not the password\n", 0600);
  }
};

TEST_F(CertPkcs12, WrittenStoreIsReadByOpensslWithOpenssl3Defaults) {
  Proc r = tg_ok(
      "cert pkcs12 --cert app/public.crt --key app/private.key --out app.p12 --password-file pw");
  EXPECT_EQ(r.out, "PKCS#12 written: app.p12 (certificate, key and 0 chain certificate(s))\n");
  EXPECT_EQ(mode_of(path("app.p12")), 0600U);

  Proc info = shell("openssl pkcs12 -in app.p12 -info -noout -passin file:pw");
  ASSERT_EQ(info.code, 0) << describe(info);
  std::string text = info.out + info.err;
  EXPECT_THAT(text, HasSubstr("MAC: sha256"));
  EXPECT_THAT(text, HasSubstr("Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC"));
  EXPECT_THAT(text, HasSubstr("PKCS7 Encrypted data: PBES2, PBKDF2, AES-256-CBC"));
  EXPECT_THAT(text, HasSubstr("Certificate bag"));

  // openssl gets back the same certificate and key.
  Proc cert = shell("openssl pkcs12 -in app.p12 -passin file:pw -nokeys -clcerts | openssl x509");
  ASSERT_EQ(cert.code, 0) << describe(cert);
  EXPECT_EQ(cert.out, read_file(path("app/public.crt")));
  Proc key =
      shell("openssl pkcs12 -in app.p12 -passin file:pw -nocerts -nodes | openssl pkey -pubout");
  ASSERT_EQ(key.code, 0) << describe(key);
  EXPECT_EQ(key.out, openssl_pubkey_of_key(dir_, "app/private.key"));
  // The friendly name defaults to the certificate file's stem.
  EXPECT_THAT(shell("openssl pkcs12 -in app.p12 -passin file:pw -nokeys").out,
              HasSubstr("friendlyName: public"));

  // The wrong password does not open it for openssl either.
  EXPECT_NE(shell("openssl pkcs12 -in app.p12 -info -noout -passin file:bad-pw").code, 0);
}

TEST_F(CertPkcs12, StoreWithChainAndName) {
  Proc r = tg_ok(
      "cert pkcs12 --cert app/public.crt --key app/private.key --ca ca/ca.crt --name app1 "
      "--out app.p12 --password-file pw");
  EXPECT_EQ(r.out, "PKCS#12 written: app.p12 (certificate, key and 1 chain certificate(s))\n");
  Proc certs = shell("openssl pkcs12 -in app.p12 -passin file:pw -nokeys -cacerts | openssl x509");
  ASSERT_EQ(certs.code, 0) << describe(certs);
  EXPECT_EQ(certs.out, read_file(path("ca/ca.crt")));
  EXPECT_THAT(shell("openssl pkcs12 -in app.p12 -passin file:pw -nokeys -clcerts").out,
              HasSubstr("friendlyName: app1"));

  Proc out = tg_ok("cert pkcs12 --in app.p12 --out extracted --password-file pw");
  EXPECT_EQ(read_file(path("extracted/public.crt")),
            read_file(path("app/public.crt")) + read_file(path("ca/ca.crt")));
}

TEST_F(CertPkcs12, ExtractedFilesMatchTheOriginals) {
  tg_ok("cert pkcs12 --cert app/public.crt --key app/private.key --out app.p12 --password-file pw");
  Proc r = tg_ok("cert pkcs12 --in app.p12 --out extracted --password-file pw");
  EXPECT_EQ(r.out, "extracted app.p12 into extracted: public.crt, private.key\n");
  EXPECT_EQ(read_file(path("extracted/public.crt")), read_file(path("app/public.crt")));
  EXPECT_EQ(openssl_pubkey_of_key(dir_, "extracted/private.key"),
            openssl_pubkey_of_key(dir_, "app/private.key"));
  EXPECT_EQ(mode_of(path("extracted/private.key")), 0600U);
  EXPECT_EQ(mode_of(path("extracted/public.crt")), 0644U);
  // The extracted pair is usable as is: it verifies and still matches.
  Proc verify = tg_ok("cert verify --ca ca/ca.crt extracted/public.crt");
  EXPECT_THAT(verify.out, HasSubstr("extracted/public.crt: OK"));
}

TEST_F(CertPkcs12, StoreMadeByOpensslIsRead) {
  Proc made = shell(
      "openssl pkcs12 -export -in app/public.crt -inkey app/private.key -certfile ca/ca.crt "
      "-passout file:pw -out openssl.p12");
  ASSERT_EQ(made.code, 0) << describe(made);
  Proc r = tg_ok("cert pkcs12 --in openssl.p12 --out extracted --password-file pw");
  EXPECT_EQ(r.out, "extracted openssl.p12 into extracted: public.crt, private.key\n");
  EXPECT_EQ(read_file(path("extracted/public.crt")),
            read_file(path("app/public.crt")) + read_file(path("ca/ca.crt")));
  EXPECT_EQ(openssl_pubkey_of_key(dir_, "extracted/private.key"),
            openssl_pubkey_of_key(dir_, "app/private.key"));
}

TEST_F(CertPkcs12, ReadingWithoutOutDescribesTheStore) {
  tg_ok("cert pkcs12 --cert app/public.crt --key app/private.key --out app.p12 --password-file pw");
  Proc r = tg_ok("cert pkcs12 --in app.p12 --password-file pw");
  auto ls = lines(r.out);
  ASSERT_FALSE(ls.empty());
  EXPECT_EQ(ls.front(), "app.p12");
  EXPECT_THAT(r.out, HasSubstr("  subject:     CN=app1@example.com,O=tlsgate\n"));
  EXPECT_THAT(r.out, HasSubstr("  names:       email:app1@example.com\n"));
  EXPECT_EQ(ls.back(), "  also:        0 certificate(s), private key present");
}

TEST_F(CertPkcs12, WrongPasswordFailsWithExitOne) {
  tg_ok("cert pkcs12 --cert app/public.crt --key app/private.key --out app.p12 --password-file pw");
  Proc r = tg("cert pkcs12 --in app.p12 --out extracted --password-file bad-pw");
  EXPECT_EQ(r.code, 1) << describe(r);
  EXPECT_THAT(r.err, HasSubstr("wrong password"));
  EXPECT_EQ(r.err,
            "tlsgate: error: app.p12: wrong password for the PKCS#12 key store; check the password "
            "in bad-pw\n");
  EXPECT_FALSE(fs::exists(path("extracted/private.key")));
  EXPECT_FALSE(fs::exists(path("extracted/public.crt")));
}

// An encrypted --key is read with --key-password-file, and the error says so (not a config key,
// not the store's --password-file).
TEST_F(CertPkcs12, EncryptedKeyNamesKeyPasswordFile) {
  ASSERT_TRUE(encrypt_key("app/private.key", "enc.key"));
  Proc r = tg("cert pkcs12 --cert app/public.crt --key enc.key --out app.p12 --password-file pw");
  EXPECT_EQ(r.code, 1) << describe(r);
  EXPECT_EQ(r.err,
            "tlsgate: error: enc.key: the private key is encrypted; pass --key-password-file with "
            "a file that holds its password\n");
  EXPECT_FALSE(fs::exists(path("app.p12")));
  tg_ok(
      "cert pkcs12 --cert app/public.crt --key enc.key --key-password-file pw --out app.p12 "
      "--password-file pw");
}

TEST_F(CertPkcs12, MismatchedKeyIsRefusedBeforeWriting) {
  tg_ok("cert issue --ca ca --out other --client other@example.com");
  Proc r = tg(
      "cert pkcs12 --cert app/public.crt --key other/private.key --out app.p12 --password-file pw");
  EXPECT_EQ(r.code, 1) << describe(r);
  EXPECT_EQ(
      r.err,
      "tlsgate: error: other/private.key does not match the certificate in app/public.crt "
      "(CN=app1@example.com,O=tlsgate); use the key the certificate was issued for, or reissue "
      "the certificate\n");
  EXPECT_FALSE(fs::exists(path("app.p12")));
}

TEST_F(CertPkcs12, NoPasswordAndNoTerminalIsBadUsage) {
  Proc r = tg("cert pkcs12 --cert app/public.crt --key app/private.key --out app.p12 </dev/null");
  EXPECT_EQ(r.code, 2) << describe(r);
  EXPECT_EQ(
      r.err,
      "tlsgate: error: no password given and no terminal to ask on; pass --password-file FILE\n");
  EXPECT_FALSE(fs::exists(path("app.p12")));
  Proc neither = tg("cert pkcs12 --password-file pw");
  EXPECT_EQ(neither.code, 2) << describe(neither);
  EXPECT_EQ(neither.err,
            "tlsgate: error: pass --cert C --key K --out P12 to write, or --in P12 to read\n");
}

TEST_F(CertPkcs12, NotAPkcs12FileFails) {
  Proc r = tg("cert pkcs12 --in app/public.crt --out x --password-file pw");
  EXPECT_EQ(r.code, 1) << describe(r);
  EXPECT_THAT(r.err, HasSubstr("tlsgate: error: app/public.crt: not a PKCS#12 key store"));
}

// A store of certificates without a key (a trust store) is read, ours and openssl's: it used
// to be refused as holding "no certificate".
TEST_F(CertPkcs12, TrustStoreIsRead) {
  tg_ok("cert ca --out ca2 --name 'Second CA'");
  const std::string both = read_file(path("ca/ca.crt")) + read_file(path("ca2/ca.crt"));
  tg_ok(
      "cert pkcs12 --truststore --ca ca/ca.crt --ca ca2/ca.crt --out trust.p12 --password-file "
      "pw");
  // openssl sees the two certificates and no key.
  Proc info = shell("openssl pkcs12 -in trust.p12 -passin file:pw -nokeys | grep -c 'BEGIN CERT'");
  EXPECT_EQ(trim(info.out), "2") << describe(info);

  Proc r = tg_ok("cert pkcs12 --in trust.p12 --password-file pw");
  auto ls = lines(r.out);
  ASSERT_FALSE(ls.empty());
  EXPECT_EQ(ls.front(), "trust.p12: trust store, 2 certificate(s), no private key");
  EXPECT_THAT(r.out, HasSubstr("certificate 1 of 2\n  subject:     CN=P12 CA,O=tlsgate\n"));
  EXPECT_THAT(r.out, HasSubstr("certificate 2 of 2\n  subject:     CN=Second CA,O=tlsgate\n"));

  Proc x = tg_ok("cert pkcs12 --in trust.p12 --out extracted --password-file pw");
  EXPECT_EQ(x.out, "extracted trust.p12 into extracted: ca.crt (trust store, 2 certificate(s))\n");
  EXPECT_EQ(read_file(path("extracted/ca.crt")), both);
  EXPECT_EQ(mode_of(path("extracted/ca.crt")), 0644U);
  EXPECT_FALSE(fs::exists(path("extracted/private.key")));
  // An existing ca.crt is kept unless --force.
  Proc again = tg("cert pkcs12 --in trust.p12 --out extracted --password-file pw");
  EXPECT_EQ(again.code, 1) << describe(again);
  tg_ok("cert pkcs12 --in trust.p12 --out extracted --password-file pw --force");

  // openssl's own trust store (-nokeys), with OpenSSL 3's defaults.
  test::write_text(path("both.pem"), both, 0644);
  Proc made =
      shell("openssl pkcs12 -export -nokeys -in both.pem -passout file:pw -out openssl-trust.p12");
  ASSERT_EQ(made.code, 0) << describe(made);
  Proc o = tg_ok("cert pkcs12 --in openssl-trust.p12 --out from-openssl --password-file pw");
  EXPECT_EQ(o.out,
            "extracted openssl-trust.p12 into from-openssl: ca.crt (trust store, 2 "
            "certificate(s))\n");
  EXPECT_EQ(read_file(path("from-openssl/ca.crt")), both);
}

// `openssl pkcs12 -export -legacy` (RC2-40-CBC certificates, 3DES key) is read with OpenSSL's
// legacy provider; without it, the error says what the store uses and how to re-export it.
TEST_F(CertPkcs12, LegacyStoreIsRead) {
  if (shell("openssl list -providers -provider legacy").code != 0) {
    GTEST_SKIP() << "OpenSSL's legacy provider is not installed";
  }
  Proc made = shell(
      "openssl pkcs12 -export -legacy -in app/public.crt -inkey app/private.key -certfile "
      "ca/ca.crt -passout file:pw -out legacy.p12");
  ASSERT_EQ(made.code, 0) << describe(made);
  Proc info = shell("openssl pkcs12 -legacy -in legacy.p12 -info -noout -passin file:pw 2>&1");
  EXPECT_THAT(info.out, HasSubstr("pbeWithSHA1And40BitRC2-CBC")) << describe(info);

  Proc r = tg_ok("cert pkcs12 --in legacy.p12 --out extracted --password-file pw");
  EXPECT_EQ(r.out, "extracted legacy.p12 into extracted: public.crt, private.key\n");
  EXPECT_EQ(read_file(path("extracted/public.crt")),
            read_file(path("app/public.crt")) + read_file(path("ca/ca.crt")));
  EXPECT_EQ(openssl_pubkey_of_key(dir_, "extracted/private.key"),
            openssl_pubkey_of_key(dir_, "app/private.key"));
  // The extracted pair is usable in the ordinary library context.
  Proc verify = tg_ok("cert verify --ca ca/ca.crt extracted/public.crt");
  EXPECT_THAT(verify.out, HasSubstr("extracted/public.crt: OK"));
  Proc rewritten = tg_ok(
      "cert pkcs12 --cert extracted/public.crt --key extracted/private.key --out aes.p12 "
      "--password-file pw");
  Proc aes = shell("openssl pkcs12 -in aes.p12 -info -noout -passin file:pw 2>&1");
  EXPECT_THAT(aes.out, HasSubstr("AES-256-CBC")) << describe(aes);

  // A legacy trust store too.
  Proc trust = shell(
      "openssl pkcs12 -export -legacy -nokeys -in ca/ca.crt -passout file:pw -out "
      "legacy-trust.p12");
  ASSERT_EQ(trust.code, 0) << describe(trust);
  Proc t = tg_ok("cert pkcs12 --in legacy-trust.p12 --out trust --password-file pw");
  EXPECT_EQ(read_file(path("trust/ca.crt")), read_file(path("ca/ca.crt")));

  // Without the provider: a plain word on what the store uses and how to re-export it.
  Proc none = shell("OPENSSL_MODULES=/nonexistent " + shell_quote(tlsgate_bin()) +
                    " cert pkcs12 --in legacy.p12 --password-file pw");
  EXPECT_EQ(none.code, 1) << describe(none);
  EXPECT_THAT(none.err,
              HasSubstr("tlsgate: error: legacy.p12: uses legacy RC2/3DES encryption that "
                        "OpenSSL 3 does not load by default, and OpenSSL's legacy provider "
                        "(ossl-modules/legacy.so, Debian package libssl3) cannot be loaded ("));
  EXPECT_THAT(none.err, HasSubstr("/nonexistent/legacy.so"));
  EXPECT_THAT(none.err,
              HasSubstr("; re-export it with AES: openssl pkcs12 -legacy -in legacy.p12 -nodes | "
                        "openssl pkcs12 -export -out NEW.p12\n"));
  EXPECT_THAT(none.err, ::testing::Not(HasSubstr("truncated or corrupted")));
}

// Java's keytool (Debian default-jre-headless) is the oracle for what Java sees.
class CertPkcs12Java : public CertPkcs12 {
 protected:
  void SetUp() override {
    CertPkcs12::SetUp();
    if (HasFatalFailure()) return;
    if (shell("command -v keytool").code != 0) GTEST_SKIP() << "keytool is not installed";
  }
  Proc keytool_list(const std::string& store, const std::string& password) const {
    return shell("keytool -list -storetype PKCS12 -keystore " + q(store) + " -storepass " +
                 q(password) + " 2>&1");
  }
};

TEST_F(CertPkcs12Java, TrustStoreListsTrustedCertEntries) {
  tg_ok("cert ca --out ca2 --name 'Second CA'");
  test::write_text(path("jpw"), "changeit\n", 0600);
  Proc r = tg_ok(
      "cert pkcs12 --truststore --ca ca/ca.crt --ca ca2/ca.crt --out trust.p12 "
      "--password-file jpw");
  EXPECT_EQ(r.out, "PKCS#12 trust store written: trust.p12 (2 trusted certificate(s))\n");
  EXPECT_EQ(mode_of(path("trust.p12")), 0644U);
  Proc list = keytool_list("trust.p12", "changeit");
  ASSERT_EQ(list.code, 0) << describe(list);
  EXPECT_THAT(list.out, HasSubstr("Your keystore contains 2 entries"));
  EXPECT_THAT(list.out, ::testing::ContainsRegex("p12 ca, [^\n]*, trustedCertEntry"));
  EXPECT_THAT(list.out, ::testing::ContainsRegex("second ca, [^\n]*, trustedCertEntry"));
  // The entries are the CAs: keytool prints their SHA-256 fingerprints as openssl does.
  Proc fp = shell("openssl x509 -in ca/ca.crt -noout -fingerprint -sha256 | cut -d= -f2");
  EXPECT_THAT(list.out, HasSubstr(trim(fp.out)));
  // A wrong password fails the MAC check.
  EXPECT_NE(keytool_list("trust.p12", "wrong").code, 0);
}

TEST_F(CertPkcs12Java, KeyStoreListsAPrivateKeyEntry) {
  tg_ok(
      "cert pkcs12 --cert app/public.crt --key app/private.key --ca ca/ca.crt --name app1 "
      "--out app.p12 --password-file pw");
  Proc list = keytool_list("app.p12", "s3cret pass");
  ASSERT_EQ(list.code, 0) << describe(list);
  EXPECT_THAT(list.out, HasSubstr("Your keystore contains 1 entry"));
  EXPECT_THAT(list.out, ::testing::ContainsRegex("app1, [^\n]*, PrivateKeyEntry"));
}

}  // namespace
}  // namespace tlsgate::e2e
