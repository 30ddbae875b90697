#include "pki/pkcs12.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "pki/loader.h"
#include "pki_test_util.h"
#include "support/temp_dir.h"
#include "support/test_pki.h"

namespace tlsgate::pki {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using namespace test_util;

class PkiPkcs12 : public ::testing::Test {
 protected:
  void SetUp() override {
    ca_ = test::make_test_ca("P12 CA");
    leaf_ = test::make_leaf(ca_, {"db1.example.com"});
    chain_.push_back(up_ref(ca_.ca.cert.get()));
  }

  std::string store(const std::string& password) {
    auto der =
        write_pkcs12(leaf_.cert.get(), leaf_.key.get(), chain_, util::Secret(password), "db1");
    EXPECT_TRUE(der) << der.error().message();
    return der.value_or("");
  }

  test::TempDir dir_;
  test::TestCa ca_;
  Issued leaf_;
  std::vector<X509Ptr> chain_;
};

TEST_F(PkiPkcs12, RoundTripsCertificateKeyAndChain) {
  auto contents = read_pkcs12(store("changeit"), "db1.p12", util::Secret("changeit"));
  ASSERT_TRUE(contents) << contents.error().message();
  EXPECT_EQ(X509_cmp(contents->cert.get(), leaf_.cert.get()), 0);
  EXPECT_EQ(EVP_PKEY_eq(contents->key.get(), leaf_.key.get()), 1);
  ASSERT_EQ(contents->chain.size(), 1u);
  EXPECT_EQ(X509_cmp(contents->chain[0].get(), ca_.ca.cert.get()), 0);
}

TEST_F(PkiPkcs12, OpensslReadsItWithModernAlgorithms) {
  ASSERT_TRUE(util::write_file_atomic(dir_ / "db1.p12", store("changeit"), 0600));
  std::string info = openssl_ok("openssl pkcs12 -info -noenc -in " + q(dir_ / "db1.p12") +
                                " -passin pass:changeit");
  EXPECT_THAT(info, HasSubstr("MAC: sha256"));
  EXPECT_THAT(info, HasSubstr("PBES2, PBKDF2, AES-256-CBC"));
  EXPECT_THAT(info, HasSubstr("friendlyName: db1"));
  EXPECT_THAT(info, HasSubstr("-----BEGIN "
                              "PRIVATE KEY-----"));
  EXPECT_THAT(info, HasSubstr("subject=O = tlsgate, CN = db1.example.com"));
  EXPECT_THAT(info, HasSubstr("subject=O = tlsgate, CN = P12 CA"));
  int rc = -1;
  test::run_command(
      "openssl pkcs12 -info -noenc -in " + q(dir_ / "db1.p12") + " -passin pass:wrong", &rc);
  EXPECT_NE(rc, 0);
}

TEST_F(PkiPkcs12, ReadsAKeyStoreMadeByOpenssl) {
  test::write_cert(dir_ / "leaf.crt", leaf_.cert.get());
  test::write_cert(dir_ / "ca.crt", ca_.ca.cert.get());
  test::write_key(dir_ / "leaf.key", leaf_.key.get());
  openssl_ok("openssl pkcs12 -export -in " + q(dir_ / "leaf.crt") + " -inkey " +
             q(dir_ / "leaf.key") + " -certfile " + q(dir_ / "ca.crt") + " -out " +
             q(dir_ / "o.p12") + " -passout pass:pw");
  auto contents = read_pkcs12(read(dir_ / "o.p12"), "o.p12", util::Secret("pw"));
  ASSERT_TRUE(contents) << contents.error().message();
  EXPECT_EQ(EVP_PKEY_eq(contents->key.get(), leaf_.key.get()), 1);
  EXPECT_EQ(contents->chain.size(), 1u);
}

TEST_F(PkiPkcs12, WrongPasswordIsNotCorruption) {
  std::string der = store("changeit");
  auto wrong = read_pkcs12(der, "db1.p12", util::Secret("nope"));
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().message(),
            "db1.p12: wrong password for the PKCS#12 key store; check the password");
  EXPECT_EQ(read_pkcs12(der, "db1.p12", util::Secret("nope"), "check the password in pw.txt")
                .error()
                .message(),
            "db1.p12: wrong password for the PKCS#12 key store; check the password in pw.txt");
  auto empty = read_pkcs12(der, "db1.p12", util::Secret(""));
  ASSERT_FALSE(empty);
  EXPECT_THAT(empty.error().message(), HasSubstr("wrong password"));

  auto cut = read_pkcs12(der.substr(0, der.size() / 2), "db1.p12", util::Secret("changeit"));
  ASSERT_FALSE(cut);
  EXPECT_THAT(cut.error().message(),
              StartsWith("db1.p12: not a PKCS#12 key store, or truncated or corrupted: "));
  auto text = read_pkcs12("hello", "notes.txt", util::Secret("changeit"));
  ASSERT_FALSE(text);
  EXPECT_THAT(text.error().message(),
              StartsWith("notes.txt: not a PKCS#12 key store, or truncated or corrupted"));
}

TEST_F(PkiPkcs12, EmptyPasswordMeansNoEncryption) {
  std::string der = store("");
  ASSERT_TRUE(util::write_file_atomic(dir_ / "open.p12", der, 0600));
  std::string info =
      openssl_ok("openssl pkcs12 -info -noenc -in " + q(dir_ / "open.p12") + " -passin pass:");
  EXPECT_THAT(info, HasSubstr("PKCS7 Data"));
  EXPECT_THAT(info, ::testing::Not(HasSubstr("PKCS7 Encrypted data")));
  EXPECT_THAT(info, HasSubstr("-----BEGIN "
                              "PRIVATE KEY-----"));
  auto contents = read_pkcs12(der, "open.p12", util::Secret(""));
  ASSERT_TRUE(contents) << contents.error().message();
  EXPECT_EQ(EVP_PKEY_eq(contents->key.get(), leaf_.key.get()), 1);
}

TEST(PkiPkcs12Truststore, EveryBagCarriesJavasTrustAttribute) {
  auto a = test::make_test_ca("Root A");
  auto b = test::make_test_ca("Root A");  // same CN: the second alias gets "-2"
  std::vector<X509Ptr> certs;
  certs.push_back(up_ref(a.ca.cert.get()));
  certs.push_back(up_ref(b.ca.cert.get()));
  auto der = write_pkcs12_truststore(certs, util::Secret("changeit"));
  ASSERT_TRUE(der) << der.error().message();
  test::TempDir dir;
  ASSERT_TRUE(util::write_file_atomic(dir / "t.p12", *der, 0644));
  test::write_text(dir / "pw", "changeit\n", 0600);
  std::string info = openssl_ok("openssl pkcs12 -in " + q(dir / "t.p12") +
                                " -passin file:" + q(dir / "pw") + " -nokeys 2>&1");
  EXPECT_THAT(info, HasSubstr("friendlyName: root a\n"));
  EXPECT_THAT(info, HasSubstr("friendlyName: root a-2\n"));
  // OpenSSL 3.0 prints the attribute by OID and cannot print an OBJECT value (tag 6); keytool
  // (tests/e2e/cert_pkcs12_test.cc) is the oracle for the value.
  const std::string attr = "2.16.840.1.113894.746875.1.1: <Unsupported tag 6>";
  size_t first = info.find(attr);
  ASSERT_NE(first, std::string::npos) << info;
  EXPECT_NE(info.find(attr, first + 1), std::string::npos) << info;
  EXPECT_EQ(openssl_ok("openssl pkcs12 -in " + q(dir / "t.p12") + " -passin file:" + q(dir / "pw") +
                       " -nokeys | openssl x509"),
            pem(a.ca.cert.get()));
  auto none = write_pkcs12_truststore({}, util::Secret("x"));
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().message(), "a trust store needs at least one certificate; pass --ca FILE");
}

}  // namespace
}  // namespace tlsgate::pki
