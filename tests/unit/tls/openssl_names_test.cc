#include "tls/openssl_names.h"

#include <openssl/ssl.h>

#include <gtest/gtest.h>

namespace tlsgate::tls {
namespace {

constexpr VersionRange kBoth{TLS1_2_VERSION, TLS1_3_VERSION};
constexpr VersionRange kOnly13{TLS1_3_VERSION, TLS1_3_VERSION};
constexpr VersionRange kOnly12{TLS1_2_VERSION, TLS1_2_VERSION};

TEST(Ciphers, MixedIanaAndOpensslNamesSplitByVersion) {
  auto r =
      resolve_ciphers({"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA-AES256-GCM-SHA384",
                       "TLS_AES_128_GCM_SHA256", "tls_chacha20_poly1305_sha256"},
                      kBoth);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->tls12, "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384");
  EXPECT_EQ(r->tls13, "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256");
}

TEST(Ciphers, EmptyMeansSecureDefaults) {
  auto r = resolve_ciphers({}, kBoth);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->tls12, default_ciphers().tls12);
  EXPECT_EQ(r->tls13, default_ciphers().tls13);
  EXPECT_EQ(r->tls12.find("CBC"), std::string::npos);
}

TEST(Ciphers, NamesEachRejectedSuite) {
  auto errors = check_ciphers({"BOGUS-SHA", "TLS_AES_128_GCM_SHA256", "NOPE"}, kOnly13);
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(
      errors[0],
      "OpenSSL rejects \"BOGUS-SHA\"; use IANA or OpenSSL suite names (`openssl ciphers -s -v` "
      "lists them)");
  EXPECT_EQ(errors[1].substr(0, 23), "OpenSSL rejects \"NOPE\";");
}

TEST(Ciphers, EveryEnabledVersionNeedsASuite) {
  auto errors = check_ciphers({"ECDHE-ECDSA-AES128-GCM-SHA256"}, kBoth);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0],
            "names no TLSv1.3 suite although TLSv1.3 is enabled; add one (e.g. "
            "TLS_AES_128_GCM_SHA256) or remove TLSv1.3 from tls_versions");
  EXPECT_TRUE(check_ciphers({"ECDHE-ECDSA-AES128-GCM-SHA256"}, kOnly12).empty());
  auto only13 = check_ciphers({"TLS_AES_256_GCM_SHA384"}, kBoth);
  ASSERT_EQ(only13.size(), 1u);
  EXPECT_NE(only13[0].find("names no TLSv1.2 suite"), std::string::npos);
}

TEST(Groups, AcceptsStandardNamesAndNamesTheBadOne) {
  auto r = resolve_groups({"X25519", " P-256", "P-384"});
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "X25519:P-256:P-384");
  auto errors = check_groups({"X25519", "P-999"});
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0],
            "OpenSSL rejects group \"P-999\"; use names such as X25519, P-256, P-384, P-521, X448");
}

TEST(Versions, Range) {
  auto r = resolve_versions({"TLSv1.3", "tlsv1.2"});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->min_version, TLS1_2_VERSION);
  EXPECT_EQ(r->max_version, TLS1_3_VERSION);
  auto bad = resolve_versions({"TLSv1.1"});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message(),
            "\"TLSv1.1\" is not a TLS version tlsgate speaks; use TLSv1.2, TLSv1.3");
}

}  // namespace
}  // namespace tlsgate::tls
