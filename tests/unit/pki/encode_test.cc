#include "pki/encode.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "pki/issuer.h"
#include "pki/loader.h"
#include "pki/openssl_error.h"
#include "pki/private_key_loader.h"
#include "pki_test_util.h"
#include "support/temp_dir.h"
#include "support/test_pki.h"

namespace tlsgate::pki {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using namespace test_util;

TEST(PkiEncode, CertificatePemAndDer) {
  auto ca = test::make_test_ca();
  std::string text = certificate_pem(ca.ca.cert.get()).value();
  EXPECT_THAT(text, StartsWith("-----BEGIN CERTIFICATE-----\n"));
  std::string der = certificate_der(ca.ca.cert.get()).value();
  EXPECT_EQ(static_cast<unsigned char>(der[0]), 0x30);
  EXPECT_EQ(X509_cmp(parse_certificates(der, "der").value()[0].get(), ca.ca.cert.get()), 0);
}

TEST(PkiEncode, ChainPemIsLeafThenChain) {
  auto ca = test::make_test_ca();
  auto leaf = test::make_leaf(ca, {"db1"});
  std::vector<X509Ptr> chain;
  chain.push_back(up_ref(ca.ca.cert.get()));
  EXPECT_EQ(chain_pem(leaf.cert.get(), chain).value(),
            pem(leaf.cert.get()) + pem(ca.ca.cert.get()));
  EXPECT_EQ(chain_pem(leaf.cert.get(), {}).value(), pem(leaf.cert.get()));
}

TEST(PkiEncode, PrivateKeyIsPkcs8AndEncryptedWithAPassword) {
  auto key = generate_key({}).value();
  EXPECT_THAT(private_key_pem(key.get()).value(), StartsWith("-----BEGIN "
                                                             "PRIVATE KEY-----\n"));
  test::TempDir dir;
  ASSERT_TRUE(write_private_key(dir / "k.pem", key.get(), 0600, util::Secret("pw")));
  EXPECT_EQ(mode_of(dir / "k.pem"), 0600u);
  EXPECT_THAT(read(dir / "k.pem"), StartsWith("-----BEGIN ENCRYPTED "
                                              "PRIVATE KEY-----\n"));
  std::string asn1 = openssl_ok("openssl asn1parse -in " + q(dir / "k.pem"));
  EXPECT_THAT(asn1, HasSubstr("PBES2"));
  EXPECT_THAT(asn1, HasSubstr("PBKDF2"));
  EXPECT_THAT(asn1, HasSubstr("aes-256-cbc"));
  openssl_ok("openssl pkey -in " + q(dir / "k.pem") + " -passin pass:pw -noout");
  ASSERT_TRUE(write_private_key(dir / "ro.pem", key.get(), 0400));
  EXPECT_EQ(mode_of(dir / "ro.pem"), 0400u);
  EXPECT_EQ(EVP_PKEY_eq(load_private_key(dir / "ro.pem", {}).value().get(), key.get()), 1);
}

TEST(PkiEncode, WriteKeyIntoMissingFolderFails) {
  auto key = generate_key({}).value();
  auto st = write_private_key("/nonexistent-tlsgate-dir/k.pem", key.get());
  ASSERT_FALSE(st);
  EXPECT_THAT(st.error().message(),
              StartsWith("cannot create a temporary file in /nonexistent-tlsgate-dir"));
}

TEST(PkiOpensslError, DrainsTheWholeQueueIntoOneMessage) {
  clear_openssl_errors();
  EXPECT_EQ(drain_openssl_errors(), "");
  EXPECT_EQ(openssl_error("cannot do it").message(), "cannot do it");
  ERR_raise(ERR_LIB_PEM, PEM_R_NO_START_LINE);
  ERR_raise_data(ERR_LIB_X509, X509_R_KEY_VALUES_MISMATCH, "key %d", 2);
  EXPECT_EQ(openssl_error("cannot do it").message(),
            "cannot do it: no start line; key values mismatch (key 2)");
  EXPECT_EQ(ERR_peek_error(), 0u);
}

}  // namespace
}  // namespace tlsgate::pki
