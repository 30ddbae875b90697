#include "pki/convert.h"
#include "pki/crl_issuer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "pki/issuer.h"
#include "pki/private_key_loader.h"
#include "pki_test_util.h"
#include "support/temp_dir.h"
#include "support/test_pki.h"

namespace tlsgate::pki {
namespace {

using ::testing::StartsWith;
using namespace test_util;

class PkiConvert : public ::testing::Test {
 protected:
  void SetUp() override {
    ca_ = test::make_test_ca("Convert CA");
    leaf_ = test::make_leaf(ca_, {"db1"});
    test::write_cert(dir_ / "leaf.crt", leaf_.cert.get());
    test::write_key(dir_ / "leaf.key", leaf_.key.get());
  }

  test::TempDir dir_;
  test::TestCa ca_;
  Issued leaf_;
};

TEST_F(PkiConvert, CertificatePemToDerAndBackIsByteExact) {
  std::string pem_text = read(dir_ / "leaf.crt");
  auto der = convert(pem_text, "leaf.crt", Encoding::kDer);
  ASSERT_TRUE(der) << der.error().message();
  EXPECT_EQ(der->kind, ObjectKind::kCertificate);
  openssl_ok("openssl x509 -in " + q(dir_ / "leaf.crt") + " -outform DER -out " +
             q(dir_ / "leaf.der"));
  EXPECT_EQ(der->data, read(dir_ / "leaf.der"));
  auto back = convert(der->data, "leaf.der", Encoding::kPem);
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(back->data, pem_text);
  openssl_ok("openssl x509 -inform DER -in " + q(dir_ / "leaf.der") + " -out " +
             q(dir_ / "again.crt"));
  EXPECT_EQ(read(dir_ / "again.crt"), pem_text);
}

TEST_F(PkiConvert, CrlPemToDerAndBackIsByteExact) {
  auto crl = create_crl(ca_.ca.cert.get(), ca_.ca.key.get(), {leaf_.cert.get()},
                        util::SystemClock::instance());
  std::string pem_text = crl_pem(crl.value().get()).value();
  ASSERT_TRUE(util::write_file_atomic(dir_ / "ca.crl", pem_text, 0644));
  auto der = convert(pem_text, "ca.crl", Encoding::kDer);
  ASSERT_TRUE(der) << der.error().message();
  EXPECT_EQ(der->kind, ObjectKind::kCrl);
  openssl_ok("openssl crl -in " + q(dir_ / "ca.crl") + " -outform DER -out " + q(dir_ / "ca.der"));
  EXPECT_EQ(der->data, read(dir_ / "ca.der"));
  auto back = convert(der->data, "ca.der", Encoding::kPem);
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(back->kind, ObjectKind::kCrl);
  EXPECT_EQ(back->data, pem_text);
}

TEST_F(PkiConvert, KeyPemToDerAndBackAsPkcs8) {
  std::string pem_text = read(dir_ / "leaf.key");
  auto der = convert(pem_text, "leaf.key", Encoding::kDer);
  ASSERT_TRUE(der) << der.error().message();
  EXPECT_EQ(der->kind, ObjectKind::kPrivateKey);
  openssl_ok("openssl pkcs8 -topk8 -nocrypt -in " + q(dir_ / "leaf.key") + " -outform DER -out " +
             q(dir_ / "leaf.kder"));
  EXPECT_EQ(der->data, read(dir_ / "leaf.kder"));
  auto back = convert(der->data, "leaf.kder", Encoding::kPem);
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(back->data, pem_text);

  openssl_ok("openssl genrsa -traditional -out " + q(dir_ / "rsa.key") + " 2048");
  auto pkcs8 = convert(read(dir_ / "rsa.key"), "rsa.key", Encoding::kPem);
  ASSERT_TRUE(pkcs8) << pkcs8.error().message();
  EXPECT_THAT(pkcs8->data, StartsWith("-----BEGIN "
                                      "PRIVATE KEY-----\n"));
}

TEST_F(PkiConvert, EncryptedKeyStaysEncrypted) {
  openssl_ok("openssl pkcs8 -topk8 -v2 aes256 -in " + q(dir_ / "leaf.key") + " -out " +
             q(dir_ / "enc.key") + " -passout pass:pw");
  std::string enc = read(dir_ / "enc.key");
  auto none = convert(enc, "enc.key", Encoding::kDer, std::nullopt, "pass --password-file");
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().message(), "enc.key: the private key is encrypted; pass --password-file");
  auto der = convert(enc, "enc.key", Encoding::kDer, util::Secret("pw"));
  ASSERT_TRUE(der) << der.error().message();
  auto locked = parse_private_key(der->data, "enc.der", {});
  ASSERT_FALSE(locked);
  EXPECT_THAT(locked.error().message(), ::testing::HasSubstr("the private key is encrypted"));
  auto pem_again = convert(der->data, "enc.der", Encoding::kPem, util::Secret("pw"));
  ASSERT_TRUE(pem_again) << pem_again.error().message();
  EXPECT_THAT(pem_again->data, StartsWith("-----BEGIN ENCRYPTED "
                                          "PRIVATE KEY-----\n"));
  EXPECT_EQ(EVP_PKEY_eq(parse_private_key(pem_again->data, "x", util::Secret("pw")).value().get(),
                        leaf_.key.get()),
            1);
  auto wrong = convert(der->data, "enc.der", Encoding::kPem, util::Secret("nope"));
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().message(), "enc.der: wrong password for the encrypted private key");
}

TEST_F(PkiConvert, BundleCannotBecomeOneDer) {
  std::string bundle = read(dir_ / "leaf.crt") + pem(ca_.ca.cert.get());
  auto der = convert(bundle, "chain.pem", Encoding::kDer);
  ASSERT_FALSE(der);
  EXPECT_EQ(
      der.error().message(),
      "chain.pem: holds 2 certificates but DER holds one; split the file into one certificate per "
      "file, or convert to PEM");
  auto pem_out = convert(bundle, "chain.pem", Encoding::kPem);
  ASSERT_TRUE(pem_out);
  EXPECT_EQ(pem_out->data, bundle);
}

TEST_F(PkiConvert, RejectsWhatItCannotConvert) {
  auto empty = convert("", "x.pem", Encoding::kDer);
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().message(),
            "x.pem: empty file; expected a PEM or DER certificate, private key or CRL");
  openssl_ok("openssl pkey -in " + q(dir_ / "leaf.key") + " -pubout -out " + q(dir_ / "pub.pem"));
  auto pub = convert(read(dir_ / "pub.pem"), "pub.pem", Encoding::kDer);
  ASSERT_FALSE(pub);
  EXPECT_EQ(
      pub.error().message(),
      "pub.pem: cannot convert a PUBLIC KEY block; expected a certificate, private key or CRL");
  auto junk = convert(std::string("\x30\x03\x02\x01\x05", 5), "junk.der", Encoding::kPem);
  ASSERT_FALSE(junk);
  EXPECT_EQ(junk.error().message(),
            "junk.der: not a certificate, private key or CRL in PEM or DER; check that this is the "
            "right file");
}

}  // namespace
}  // namespace tlsgate::pki
