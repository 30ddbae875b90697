// pki/acme_challenge.h: the RFC 8737 certificate, read back with OpenSSL.
#include "pki/acme_challenge.h"

#include <openssl/sha.h>

#include <gtest/gtest.h>

namespace tlsgate::pki {
namespace {

// The DER of the extension's value: OCTET STRING (0x04, 32) + SHA-256.
std::string expected_value(const std::string& key_authorization) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(key_authorization.data()), key_authorization.size(),
         digest);
  return std::string("\x04\x20", 2) + std::string(reinterpret_cast<char*>(digest), 32);
}

std::vector<std::string> sans(const X509* cert) {
  std::vector<std::string> out;
  GeneralNamesPtr names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(names.get(), i);
    int type = 0;
    auto* s = static_cast<ASN1_STRING*>(GENERAL_NAME_get0_value(n, &type));
    std::string bytes(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                      static_cast<size_t>(ASN1_STRING_length(s)));
    out.push_back((type == GEN_IPADD ? "ip:" : "dns:") + bytes);
  }
  return out;
}

TEST(AcmeChallengeTest, CertificateCarriesTheCriticalDigestAndTheIdentifier) {
  std::string key_auth = "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.thumbprint";
  auto made = make_tls_alpn01_certificate("acme.test", key_auth).value();
  X509* cert = made.certificate.get();
  EXPECT_EQ(sans(cert), std::vector<std::string>{"dns:acme.test"});
  ASN1_OBJECT* oid = OBJ_txt2obj(kAcmeIdentifierOid, 1);
  int at = X509_get_ext_by_OBJ(cert, oid, -1);
  ASN1_OBJECT_free(oid);
  ASSERT_GE(at, 0);
  X509_EXTENSION* ext = X509_get_ext(cert, at);
  EXPECT_EQ(X509_EXTENSION_get_critical(ext), 1);
  ASN1_OCTET_STRING* data = X509_EXTENSION_get_data(ext);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)),
                        static_cast<size_t>(ASN1_STRING_length(data))),
            expected_value(key_auth));
  EXPECT_NE(std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)) + 2, 32),
            expected_value(key_auth + "x").substr(2));
  // Self-signed by the P-256 key that comes with it, valid now.
  EXPECT_EQ(X509_verify(cert, made.key.get()), 1);
  EXPECT_EQ(X509_check_private_key(cert, made.key.get()), 1);
  EXPECT_EQ(EVP_PKEY_get_base_id(made.key.get()), EVP_PKEY_EC);
  EXPECT_LT(X509_cmp_current_time(X509_get0_notBefore(cert)), 0);
  EXPECT_GT(X509_cmp_current_time(X509_get0_notAfter(cert)), 0);
}

TEST(AcmeChallengeTest, IpIdentifiersBecomeIpSans) {
  auto made = make_tls_alpn01_certificate("127.0.0.1", "k.t").value();
  EXPECT_EQ(sans(made.certificate.get()),
            std::vector<std::string>{std::string("ip:\x7f\0\0\x01", 7)});
  // Each call has a fresh key.
  auto again = make_tls_alpn01_certificate("127.0.0.1", "k.t").value();
  EXPECT_NE(EVP_PKEY_eq(made.key.get(), again.key.get()), 1);
}

TEST(AcmeChallengeTest, OtherNamesAreRefused) {
  auto bad = make_tls_alpn01_certificate("a@example.com", "k.t");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message(),
            "TLS-ALPN-01 certificate for \"a@example.com\": an ACME identifier is a DNS name or "
            "an IP address");
}

}  // namespace
}  // namespace tlsgate::pki
