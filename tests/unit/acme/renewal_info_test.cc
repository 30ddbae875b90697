// ARI (RFC 9773): the certificate id and the renewalInfo body. Pebble 2.4
// has no renewalInfo, so Client::renewal_info() itself is not exercised
// against a server here.
#include <gtest/gtest.h>

#include "acme/client.h"
#include "acme/http_time.h"
#include "pki/issuer.h"
#include "pki/revocation_index.h"

namespace tlsgate::acme {
namespace {

// A certificate with RFC 9773 section 4.1's AKI keyIdentifier and serial.
pki::X509Ptr rfc9773_example() {
  auto key = pki::generate_key({}).value();
  pki::X509Ptr cert(X509_new());
  X509_set_version(cert.get(), X509_VERSION_3);
  pki::BignumPtr serial(BN_new());
  BN_set_word(serial.get(), 0x87654321);
  BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get()));
  const unsigned char kid[] = {0x69, 0x88, 0x5B, 0x6B, 0x87, 0x46, 0x40, 0x41, 0xE1, 0xB3,
                               0x7B, 0x84, 0x7B, 0xA0, 0xAE, 0x2C, 0xDE, 0x01, 0xC8, 0xD4};
  AUTHORITY_KEYID* aki = AUTHORITY_KEYID_new();
  aki->keyid = ASN1_OCTET_STRING_new();
  ASN1_OCTET_STRING_set(aki->keyid, kid, sizeof kid);
  X509_add1_ext_i2d(cert.get(), NID_authority_key_identifier, aki, 0, X509V3_ADD_DEFAULT);
  AUTHORITY_KEYID_free(aki);
  X509_set_pubkey(cert.get(), key.get());
  X509_sign(cert.get(), key.get(), EVP_sha256());
  return cert;
}

TEST(RenewalInfoTest, CertificateIdMatchesRfc9773Example) {
  auto cert = rfc9773_example();
  EXPECT_EQ(Client::ari_certificate_id(cert.get()).value(), "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE");
}

TEST(RenewalInfoTest, ACertificateWithoutAkiHasNoId) {
  auto key = pki::generate_key({}).value();
  pki::X509Ptr cert(X509_new());
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 5);
  auto id = Client::ari_certificate_id(cert.get());
  ASSERT_FALSE(id);
  EXPECT_EQ(id.error().message(),
            "the certificate has no Authority Key Identifier keyIdentifier, which ARI needs");
}

TEST(RenewalInfoTest, ParsesTheSuggestedWindowAndRetryAfter) {
  auto info =
      Client::parse_renewal_info(
          R"({"suggestedWindow":{"start":"2025-01-02T04:00:00Z","end":"2025-01-03T04:00:00Z"},
                      "explanationURL":"https://acme.example.com/docs/ari"})",
          "21600")
          .value();
  EXPECT_EQ(pki::format_rfc3339(info.window_start), "2025-01-02T04:00:00Z");
  EXPECT_EQ(pki::format_rfc3339(info.window_end), "2025-01-03T04:00:00Z");
  EXPECT_EQ(info.retry_after, std::chrono::seconds(21600));
  EXPECT_EQ(info.explanation_url, "https://acme.example.com/docs/ari");
  // Fractions and offsets; a Retry-After below a minute is raised to one.
  auto other =
      Client::parse_renewal_info(
          R"({"suggestedWindow":{"start":"2025-01-02T06:00:00.123+02:00","end":"2025-01-02T05:00:00.5Z"}})",
          "5")
          .value();
  EXPECT_EQ(pki::format_rfc3339(other.window_start), "2025-01-02T04:00:00Z");
  EXPECT_EQ(other.retry_after, std::chrono::seconds(60));
  EXPECT_EQ(other.explanation_url, "");
  // No Retry-After: six hours.
  auto plain = Client::parse_renewal_info(
      R"({"suggestedWindow":{"start":"2025-01-02T04:00:00Z","end":"2025-01-03T04:00:00Z"}})", "");
  EXPECT_EQ(plain.value().retry_after, std::chrono::seconds(21600));
}

TEST(RenewalInfoTest, BadBodiesAreErrorsThatQuoteThem) {
  auto reversed = Client::parse_renewal_info(
      R"({"suggestedWindow":{"start":"2025-01-03T04:00:00Z","end":"2025-01-02T04:00:00Z"}})", "");
  ASSERT_FALSE(reversed);
  EXPECT_EQ(reversed.error().message().substr(0, 50),
            "renewalInfo: suggestedWindow ends before it starts");
  EXPECT_FALSE(Client::parse_renewal_info("[]", ""));
  EXPECT_FALSE(Client::parse_renewal_info("{\"suggestedWindow\":{\"start\":1,\"end\":2}}", ""));
  auto garbage = Client::parse_renewal_info("not json\x01", "");
  ASSERT_FALSE(garbage);
  EXPECT_EQ(garbage.error().message(), "renewalInfo: not a JSON object: \"not json\\x01\"");
}

TEST(RenewalInfoTest, WireTimes) {
  EXPECT_EQ(retry_after_seconds(" 120 "), std::chrono::seconds(120));
  EXPECT_FALSE(retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT"));
  EXPECT_FALSE(retry_after_seconds("-1"));
  EXPECT_FALSE(parse_time("2025-01-02T04:00:00"));
  EXPECT_FALSE(parse_time("2025-01-02T04:00:00.Z"));
  EXPECT_FALSE(parse_time("2025-13-02T04:00:00Z"));
  EXPECT_FALSE(parse_time("1012-01-03T04:00:00Z"));  // found by the fuzzer: overflowed
  EXPECT_FALSE(parse_time("9999-01-03T04:00:00Z"));
}

}  // namespace
}  // namespace tlsgate::acme
