// `tlsgate cert convert IN OUT`: PEM <-> DER of certificates, CRLs and keys, judged by openssl.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "e2e_helpers.h"

namespace tlsgate::e2e {
namespace {

using ::testing::HasSubstr;

class CertConvert : public E2eTest {
 protected:
  void SetUp() override {
    E2eTest::SetUp();
    if (HasFatalFailure()) return;
    tg_ok("cert ca --out ca --name 'Convert CA'");
    tg_ok("cert issue --ca ca --out server db1.example.com 127.0.0.1");
  }

  // A CRL made by `openssl ca -gencrl` with the tlsgate CA, revoking `revoke` if given.
  void make_openssl_crl(const std::string& out, const std::string& revoke = "") {
    write_text_file("oca/index.txt", "");
    write_text_file("oca/crlnumber", "01\n");
    write_text_file("oca/ca.cnf",
                    "[ ca ]\ndefault_ca = CA_default\n[ CA_default ]\ndatabase = oca/index.txt\n"
                    "crlnumber = oca/crlnumber\ndefault_md = sha256\ndefault_crl_days = 7\n");
    const std::string ca = " -config oca/ca.cnf -keyfile ca/ca.key -cert ca/ca.crt";
    if (!revoke.empty()) {
      Proc r = shell("openssl ca" + ca + " -revoke " + q(revoke));
      ASSERT_EQ(r.code, 0) << describe(r);
    }
    Proc r = shell("openssl ca" + ca + " -gencrl -out " + q(out));
    ASSERT_EQ(r.code, 0) << describe(r);
  }

  void write_text_file(const std::string& rel, const std::string& text) {
    test::write_text(path(rel), text, 0644);
  }
};

TEST_F(CertConvert, CertificatePemToDerToPemIsByteIdentical) {
  Proc to_der = tg_ok("cert convert server/public.crt server.der");
  EXPECT_EQ(to_der.out, "server/public.crt certificate written as DER: server.der\n");
  EXPECT_EQ(mode_of(path("server.der")), 0644U);
  Proc oracle = shell("openssl x509 -in server/public.crt -outform DER -out oracle.der");
  ASSERT_EQ(oracle.code, 0) << describe(oracle);
  EXPECT_EQ(read_file(path("server.der")), read_file(path("oracle.der")));

  Proc to_pem = tg_ok("cert convert server.der back.pem");
  EXPECT_EQ(to_pem.out, "server.der certificate written as PEM: back.pem\n");
  EXPECT_EQ(read_file(path("back.pem")), read_file(path("server/public.crt")));
}

TEST_F(CertConvert, CerExtensionMeansDerAndToOverridesTheExtension) {
  tg_ok("cert convert server/public.crt server.cer");
  ASSERT_EQ(shell("openssl x509 -in server/public.crt -outform DER -out oracle.der").code, 0);
  EXPECT_EQ(read_file(path("server.cer")), read_file(path("oracle.der")));

  Proc forced = tg_ok("cert convert --to der server/public.crt forced.pem");
  EXPECT_EQ(forced.out, "server/public.crt certificate written as DER: forced.pem\n");
  EXPECT_EQ(read_file(path("forced.pem")), read_file(path("oracle.der")));

  Proc back = tg_ok("cert convert --to pem server.cer back.der");
  EXPECT_EQ(back.out, "server.cer certificate written as PEM: back.der\n");
  EXPECT_EQ(read_file(path("back.der")), read_file(path("server/public.crt")));
}

TEST_F(CertConvert, DerMadeByOpensslConvertsToOpensslsPem) {
  ASSERT_EQ(shell("openssl x509 -in ca/ca.crt -outform DER -out ca.der").code, 0);
  tg_ok("cert convert ca.der ca.pem");
  EXPECT_EQ(read_file(path("ca.pem")), shell("openssl x509 -in ca.der -inform DER").out);
}

TEST_F(CertConvert, CrlFromOpensslCaRoundTrips) {
  make_openssl_crl("crl.pem", "server/public.crt");
  if (HasFatalFailure()) return;
  Proc to_der = tg_ok("cert convert crl.pem crl.der");
  EXPECT_EQ(to_der.out, "crl.pem CRL written as DER: crl.der\n");
  EXPECT_EQ(read_file(path("crl.der")), shell("openssl crl -in crl.pem -outform DER").out);
  Proc to_pem = tg_ok("cert convert crl.der back.pem");
  EXPECT_EQ(to_pem.out, "crl.der CRL written as PEM: back.pem\n");
  EXPECT_EQ(read_file(path("back.pem")), read_file(path("crl.pem")));
  // The DER is a CRL openssl can verify with the CA and that still revokes the server.
  Proc check = shell("openssl crl -in crl.der -inform DER -CAfile ca/ca.crt -noout -text");
  EXPECT_EQ(check.code, 0) << describe(check);
  EXPECT_THAT(check.out + check.err, HasSubstr("verify OK"));
  EXPECT_THAT(check.out, HasSubstr("Serial Number: " + [&] {
                std::string s =
                    trim(shell("openssl x509 -noout -serial -in server/public.crt").out).substr(7);
                return s;
              }()));
}

TEST_F(CertConvert, PrivateKeyPemToDerToPemKeepsTheKeyAndItsSecrecy) {
  Proc to_der = tg_ok("cert convert server/private.key key.der");
  EXPECT_EQ(to_der.out, "server/private.key private key written as DER: key.der\n");
  EXPECT_EQ(mode_of(path("key.der")), 0600U);
  // PKCS#8 DER, byte for byte what openssl makes of the same key.
  EXPECT_EQ(read_file(path("key.der")),
            shell("openssl pkcs8 -topk8 -nocrypt -in server/private.key -outform DER").out);
  Proc to_pem = tg_ok("cert convert key.der key.pem");
  EXPECT_EQ(to_pem.out, "key.der private key written as PEM: key.pem\n");
  EXPECT_EQ(mode_of(path("key.pem")), 0600U);
  std::string original = openssl_pubkey_of_key(dir_, "server/private.key");
  ASSERT_THAT(original, HasSubstr("BEGIN PUBLIC KEY"));
  EXPECT_EQ(openssl_pubkey_of_key(dir_, "key.der", "DER"), original);
  EXPECT_EQ(openssl_pubkey_of_key(dir_, "key.pem"), original);
  EXPECT_EQ(read_file(path("key.pem")), read_file(path("server/private.key")));
}

// An encrypted key needs --password-file, and the error names that option.
TEST_F(CertConvert, EncryptedKeyNamesPasswordFile) {
  test::write_text(path("pw"), "s3cret\n", 0600);
  ASSERT_TRUE(encrypt_key("server/private.key", "enc.key"));
  Proc r = tg("cert convert enc.key enc.der");
  EXPECT_EQ(r.code, 1) << describe(r);
  EXPECT_EQ(r.err,
            "tlsgate: error: enc.key: the private key is encrypted; pass --password-file with a "
            "file that holds its password\n");
  EXPECT_FALSE(fs::exists(path("enc.der")));
  tg_ok("cert convert --password-file pw enc.key enc.der");
}

TEST_F(CertConvert, OpensslTraditionalRsaKeyBecomesPkcs8) {
  ASSERT_EQ(shell("openssl genrsa -traditional -out rsa.key 2048").code, 0);
  ASSERT_THAT(read_file(path("rsa.key")), HasSubstr("BEGIN RSA "
                                                    "PRIVATE KEY"));
  tg_ok("cert convert rsa.key rsa.der");
  tg_ok("cert convert rsa.der rsa8.pem");
  EXPECT_THAT(read_file(path("rsa8.pem")), HasSubstr("-----BEGIN "
                                                     "PRIVATE KEY-----"));
  std::string original = openssl_pubkey_of_key(dir_, "rsa.key");
  EXPECT_EQ(openssl_pubkey_of_key(dir_, "rsa.der", "DER"), original);
  EXPECT_EQ(openssl_pubkey_of_key(dir_, "rsa8.pem"), original);
}

TEST_F(CertConvert, BundleCannotBecomeDer) {
  ASSERT_EQ(shell("cat server/public.crt ca/ca.crt > bundle.pem").code, 0);
  Proc r = tg("cert convert bundle.pem bundle.der");
  EXPECT_EQ(r.code, 1) << describe(r);
  EXPECT_EQ(
      r.err,
      "tlsgate: error: bundle.pem: holds 2 certificates but DER holds one; split the file into "
      "one certificate per file, or convert to PEM\n");
  EXPECT_FALSE(fs::exists(path("bundle.der")));
  // To PEM the bundle stays a bundle.
  tg_ok("cert convert bundle.pem copy.pem");
  EXPECT_EQ(read_file(path("copy.pem")), read_file(path("bundle.pem")));
}

TEST_F(CertConvert, GarbageAndMissingInputFail) {
  test::write_text(path("junk.pem"), "hello\n");
  Proc junk = tg("cert convert junk.pem junk.der");
  EXPECT_EQ(junk.code, 1) << describe(junk);
  EXPECT_THAT(junk.err, HasSubstr("tlsgate: error: junk.pem"));
  EXPECT_FALSE(fs::exists(path("junk.der")));
  Proc missing = tg("cert convert missing.pem out.der");
  EXPECT_EQ(missing.code, 1) << describe(missing);
  EXPECT_THAT(missing.err, HasSubstr("missing.pem"));
  Proc bad_to = tg("cert convert --to xml server/public.crt out.xml");
  EXPECT_EQ(bad_to.code, 2) << describe(bad_to);
}

}  // namespace
}  // namespace tlsgate::e2e
