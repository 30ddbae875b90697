// create_crl and sign_crl of pki/crl_issuer.h (src/pki/crl_issuer.cc).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "pki/certificate_info.h"
#include "pki/crl_issuer.h"
#include "pki/issuer.h"
#include "pki_test_util.h"
#include "support/temp_dir.h"
#include "support/test_pki.h"
#include "util/strings.h"

namespace tlsgate::pki {
namespace {

using ::testing::HasSubstr;
using namespace test_util;

TEST(PkiCrl, RevokesCertificatesAndOpensslAgrees) {
  auto ca = test::make_test_ca();
  auto revoked = test::make_leaf(ca, {"db1"});
  auto good = test::make_leaf(ca, {"db2"});
  auto crl = create_crl(ca.ca.cert.get(), ca.ca.key.get(), {revoked.cert.get()},
                        util::SystemClock::instance());
  ASSERT_TRUE(crl) << crl.error().message();
  test::TempDir dir;
  test::write_cert(dir / "ca.crt", ca.ca.cert.get());
  test::write_cert(dir / "revoked.crt", revoked.cert.get());
  test::write_cert(dir / "good.crt", good.cert.get());
  ASSERT_TRUE(util::write_file_atomic(dir / "ca.crl", crl_pem(crl->get()).value(), 0644));

  std::string text = openssl_ok("openssl crl -noout -text -CAfile " + q(dir / "ca.crt") + " -in " +
                                q(dir / "ca.crl"));
  EXPECT_THAT(text, HasSubstr("Version 2 (0x1)"));
  EXPECT_THAT(text, HasSubstr("X509v3 CRL Number: \n                1\n"));
  EXPECT_THAT(text, HasSubstr("X509v3 Authority Key Identifier"));
  std::string serial =
      util::to_upper(describe(revoked.cert.get(), util::SystemClock::instance()).serial_hex);
  // openssl pads the serial to whole bytes.
  EXPECT_THAT(text, ::testing::AnyOf(HasSubstr("Serial Number: " + serial + "\n"),
                                     HasSubstr("Serial Number: 0" + serial + "\n")));

  std::string verify = "openssl verify -crl_check -CAfile " + q(dir / "ca.crt") + " -CRLfile " +
                       q(dir / "ca.crl") + " ";
  int rc = -1;
  EXPECT_THAT(test::run_command(verify + q(dir / "revoked.crt"), &rc),
              HasSubstr("certificate revoked"));
  EXPECT_NE(rc, 0);
  openssl_ok(verify + q(dir / "good.crt"));
}

TEST(PkiCrl, UpdateTimesDefaultToNowAndAWeek) {
  util::FixedClock clock(std::chrono::sys_days(std::chrono::year(2031) / 1 / 2));
  auto ca = create_ca(CaRequest{}, clock).value();
  auto crl = create_crl(ca.cert.get(), ca.key.get(), {}, clock).value();
  EXPECT_EQ(to_system_time(X509_CRL_get0_lastUpdate(crl.get())), clock.now());
  EXPECT_EQ(to_system_time(X509_CRL_get0_nextUpdate(crl.get())),
            clock.now() + std::chrono::days(7));
  auto other = test::make_test_ca("Other");
  EXPECT_FALSE(create_crl(ca.cert.get(), other.ca.key.get(), {}, clock));
}

TEST(PkiCrl, EntriesCarryTheirDatesReasonsAndTheCrlNumber) {
  auto ca = test::make_test_ca();
  auto key_lost = test::make_leaf(ca, {"db1"});
  auto replaced = test::make_leaf(ca, {"db2"});
  auto plain = test::make_leaf(ca, {"db3"});
  auto good = test::make_leaf(ca, {"db4"});
  const auto now = util::SystemClock::instance().now();
  const auto day_ago = std::chrono::floor<std::chrono::seconds>(now - std::chrono::hours(24));
  CrlSpec spec;
  spec.number = 1234567890123ULL;
  spec.entries = {
      {serial_to_hex(key_lost.cert.get()), day_ago, RevocationReason::kKeyCompromise},
      {serial_to_hex(replaced.cert.get()), day_ago, RevocationReason::kSuperseded},
      {serial_to_hex(plain.cert.get()), day_ago, RevocationReason::kUnspecified},
  };
  spec.next_update = now + std::chrono::days(2);
  auto crl = sign_crl(ca.ca.cert.get(), ca.ca.key.get(), spec, util::SystemClock::instance());
  ASSERT_TRUE(crl) << crl.error().message();
  EXPECT_EQ(to_system_time(X509_CRL_get0_nextUpdate(crl->get())),
            std::chrono::floor<std::chrono::seconds>(now + std::chrono::days(2)));
  ASSERT_EQ(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl->get())), 3);
  for (int i = 0; i < 3; ++i) {
    const X509_REVOKED* r = sk_X509_REVOKED_value(X509_CRL_get_REVOKED(crl->get()), i);
    EXPECT_EQ(to_system_time(X509_REVOKED_get0_revocationDate(r)), day_ago);
  }

  test::TempDir dir;
  test::write_cert(dir / "ca.crt", ca.ca.cert.get());
  ASSERT_TRUE(util::write_file_atomic(dir / "ca.crl", crl_pem(crl->get()).value(), 0644));
  std::string text = openssl_ok("openssl crl -noout -text -CAfile " + q(dir / "ca.crt") + " -in " +
                                q(dir / "ca.crl") + " 2>&1");
  EXPECT_THAT(text, HasSubstr("verify OK"));
  EXPECT_THAT(text, HasSubstr("X509v3 CRL Number: \n                1234567890123\n"));
  EXPECT_THAT(text, HasSubstr("Key Compromise"));
  EXPECT_THAT(text, HasSubstr("Superseded"));
  // RFC 5280 5.3.1: no reasonCode for unspecified.
  EXPECT_THAT(text, ::testing::Not(HasSubstr("Unspecified")));
  for (const auto* leaf : {&key_lost, &replaced, &plain, &good}) {
    test::write_cert(dir / "leaf.crt", leaf->cert.get());
    int rc = -1;
    std::string out =
        test::run_command("openssl verify -crl_check -CAfile " + q(dir / "ca.crt") + " -CRLfile " +
                              q(dir / "ca.crl") + " " + q(dir / "leaf.crt") + " 2>&1",
                          &rc);
    if (leaf == &good) {
      EXPECT_EQ(rc, 0) << out;
    } else {
      EXPECT_THAT(out, HasSubstr("certificate revoked"));
      EXPECT_NE(rc, 0);
    }
  }
}

// The keyIdentifier of the CRL's authorityKeyIdentifier, as bytes.
std::string crl_aki_keyid(const X509_CRL* crl) {
  AuthorityKeyIdPtr akid(static_cast<AUTHORITY_KEYID*>(
      X509_CRL_get_ext_d2i(crl, NID_authority_key_identifier, nullptr, nullptr)));
  if (!akid || akid->keyid == nullptr) return "";
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(akid->keyid)),
                     static_cast<size_t>(ASN1_STRING_length(akid->keyid)));
}

TEST(PkiCrl, AkiIsTheCasSubjectKeyIdentifier) {
  auto ca = test::make_test_ca();
  auto crl = create_crl(ca.ca.cert.get(), ca.ca.key.get(), {}, util::SystemClock::instance());
  ASSERT_TRUE(crl) << crl.error().message();
  const ASN1_OCTET_STRING* ski = X509_get0_subject_key_id(ca.ca.cert.get());
  ASSERT_NE(ski, nullptr);
  EXPECT_EQ(crl_aki_keyid(crl->get()),
            std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(ski)),
                        static_cast<size_t>(ASN1_STRING_length(ski))));
}

// A CA made by a tool that writes no subjectKeyIdentifier (plain `openssl req -x509` with a
// minimal config): RFC 5280 5.2.1 still wants the key identifier in the CRL, so it is the SHA-1
// of the CA's public key (4.2.1.2 method 1), and OpenSSL accepts the CRL.
TEST(PkiCrl, CaWithoutSubjectKeyIdentifierGetsTheSha1OfItsKey) {
  auto ca = test::make_test_ca("No SKI CA");
  auto leaf = test::make_leaf(ca, {"db1"});
  X509* original = ca.ca.cert.get();
  int at = X509_get_ext_by_NID(original, NID_subject_key_identifier, -1);
  ASSERT_GE(at, 0);
  X509ExtensionPtr(X509_delete_ext(original, at));
  ASSERT_GT(X509_sign(original, ca.ca.key.get(), EVP_sha256()), 0);
  X509Ptr reparsed(X509_dup(original));  // OpenSSL caches the extensions it has seen
  X509* cert = reparsed.get();
  ASSERT_EQ(X509_get0_subject_key_id(cert), nullptr);

  CrlSpec spec;
  spec.entries = {{serial_to_hex(leaf.cert.get()), util::SystemClock::instance().now()}};
  auto crl = sign_crl(cert, ca.ca.key.get(), spec, util::SystemClock::instance());
  ASSERT_TRUE(crl) << crl.error().message();
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  ASSERT_EQ(X509_pubkey_digest(cert, EVP_sha1(), md, &len), 1);
  EXPECT_EQ(crl_aki_keyid(crl->get()), std::string(reinterpret_cast<const char*>(md), len));

  test::TempDir dir;
  test::write_cert(dir / "ca.crt", cert);
  test::write_cert(dir / "leaf.crt", leaf.cert.get());
  ASSERT_TRUE(util::write_file_atomic(dir / "ca.crl", crl_pem(crl->get()).value(), 0644));
  EXPECT_THAT(openssl_ok("openssl crl -noout -CAfile " + q(dir / "ca.crt") + " -in " +
                         q(dir / "ca.crl") + " 2>&1"),
              HasSubstr("verify OK"));
  int rc = -1;
  EXPECT_THAT(
      test::run_command("openssl verify -crl_check -CAfile " + q(dir / "ca.crt") + " -CRLfile " +
                            q(dir / "ca.crl") + " " + q(dir / "leaf.crt") + " 2>&1",
                        &rc),
      HasSubstr("certificate revoked"));
  EXPECT_NE(rc, 0);
}

TEST(PkiCrl, SerialOctetsCountTheDerInteger) {
  EXPECT_EQ(serial_octets("0"), 1U);
  EXPECT_EQ(serial_octets("7f"), 1U);
  EXPECT_EQ(serial_octets("80"), 2U);
  EXPECT_EQ(serial_octets("fff"), 2U);
  EXPECT_EQ(serial_octets("7" + std::string(39, 'f')), 20U);
  EXPECT_EQ(serial_octets("8" + std::string(39, '0')), 21U);
  EXPECT_EQ(serial_octets("1" + std::string(40, '0')), 21U);
  // OpenSSL's DER encoding of the serial agrees.
  for (const std::string& hex :
       std::vector<std::string>{"7f", "80", "fff", "8" + std::string(39, '0')}) {
    BIGNUM* raw = nullptr;
    ASSERT_GT(BN_hex2bn(&raw, hex.c_str()), 0);
    BignumPtr bn(raw);
    Asn1IntegerPtr serial(BN_to_ASN1_INTEGER(bn.get(), nullptr));
    // DER: tag, one length octet (short form below 128), then the content.
    int der = i2d_ASN1_INTEGER(serial.get(), nullptr);
    EXPECT_EQ(serial_octets(hex), static_cast<size_t>(der - 2)) << hex;
  }
  EXPECT_TRUE(check_serial_length("7" + std::string(39, 'f')));
  auto too_long = check_serial_length("8" + std::string(39, '0'));
  ASSERT_FALSE(too_long);
  EXPECT_THAT(too_long.error().message(),
              HasSubstr("is 21 octets long; RFC 5280 serial numbers are at most 20 octets"));
}

TEST(PkiCrl, ABadSerialIsNamed) {
  auto ca = test::make_test_ca();
  CrlSpec spec;
  spec.entries = {{"xyz", util::SystemClock::instance().now()}};
  auto crl = sign_crl(ca.ca.cert.get(), ca.ca.key.get(), spec, util::SystemClock::instance());
  ASSERT_FALSE(crl);
  EXPECT_EQ(crl.error().message(), "serial \"xyz\" is not a hexadecimal number");
}

}  // namespace
}  // namespace tlsgate::pki
