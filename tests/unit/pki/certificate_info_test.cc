#include "pki/certificate_info.h"

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "pki/base64.h"
#include "pki/issuer.h"
#include "pki/loader.h"
#include "pki/pin.h"
#include "pki_test_util.h"
#include "support/temp_dir.h"
#include "support/test_pki.h"
#include "util/strings.h"

namespace tlsgate::pki {
namespace {

using ::testing::ElementsAre;
using namespace test_util;
using namespace std::chrono_literals;

constexpr auto kStart = std::chrono::sys_days(std::chrono::year(2030) / 3 / 1);

class PkiDescribe : public ::testing::Test {
 protected:
  void SetUp() override {
    ca_ = test::make_test_ca("Describe CA");
    // Valid from 2030-03-01 00:00:00 to 2030-04-01 12:00:00 UTC.
    leaf_ = test::make_leaf(
        ca_,
        {"db1.example.com", "db1", "10.1.2.3", "2001:db8::7", "ops@example.com", "spiffe://c/db1"},
        true, true, test::Validity{kStart, kStart + std::chrono::days(31) + 12h});
    test::write_cert(dir_ / "leaf.crt", leaf_.cert.get());
  }

  test::TempDir dir_;
  test::TestCa ca_;
  Issued leaf_;
};

TEST_F(PkiDescribe, NamesAndSerial) {
  util::FixedClock clock(kStart + std::chrono::days(10));
  auto info = describe(leaf_.cert.get(), clock);
  EXPECT_EQ(info.subject, "CN=db1.example.com,O=tlsgate");
  EXPECT_EQ(info.subject_cn, "db1.example.com");
  EXPECT_EQ(info.issuer, "CN=Describe CA,O=tlsgate");
  std::string serial = openssl_ok("openssl x509 -noout -serial -in " + q(dir_ / "leaf.crt"));
  ASSERT_TRUE(serial.starts_with("serial="));
  serial = util::to_lower(util::trim(serial.substr(7)));
  serial.erase(0, serial.find_first_not_of('0'));
  EXPECT_EQ(info.serial_hex, serial);
}

TEST_F(PkiDescribe, ValidityAndDaysLeft) {
  util::FixedClock clock(kStart + std::chrono::days(10));
  auto info = describe(leaf_.cert.get(), clock);
  EXPECT_EQ(info.not_before, kStart);
  EXPECT_EQ(info.not_after, kStart + std::chrono::days(31) + 12h);
  EXPECT_EQ(format_time(info.not_before), "2030-03-01 00:00:00 UTC");
  EXPECT_EQ(format_time(info.not_after), "2030-04-01 12:00:00 UTC");
  EXPECT_EQ(info.days_left, 21);
  EXPECT_FALSE(info.expired);
  EXPECT_FALSE(info.not_yet_valid);

  clock.set(info.not_after - 1h);
  EXPECT_EQ(describe(leaf_.cert.get(), clock).days_left, 0);
  clock.set(info.not_after + 1h);
  info = describe(leaf_.cert.get(), clock);
  EXPECT_EQ(info.days_left, -1);
  EXPECT_TRUE(info.expired);
  clock.set(info.not_after + std::chrono::days(3));
  EXPECT_EQ(describe(leaf_.cert.get(), clock).days_left, -3);

  clock.set(kStart - 1s);
  info = describe(leaf_.cert.get(), clock);
  EXPECT_TRUE(info.not_yet_valid);
  EXPECT_FALSE(info.expired);
  EXPECT_EQ(info.days_left, 31);
}

TEST_F(PkiDescribe, SubjectAlternativeNames) {
  auto info = describe(leaf_.cert.get(), util::SystemClock::instance());
  EXPECT_THAT(info.san_dns, ElementsAre("db1.example.com", "db1"));
  EXPECT_THAT(info.san_ip, ElementsAre("10.1.2.3", "2001:db8::7"));
  EXPECT_THAT(info.san_email, ElementsAre("ops@example.com"));
  EXPECT_THAT(info.san_uri, ElementsAre("spiffe://c/db1"));
}

TEST_F(PkiDescribe, Ipv6SansAreWrittenInRfc5952Form) {
  auto leaf = test::make_leaf(
      ca_, {"::", "::1", "1::", "2001:DB8:0:0:1:0:0:1", "fe80:0:0:1::", "0:0:1::1"});
  EXPECT_THAT(describe(leaf.cert.get(), util::SystemClock::instance()).san_ip,
              ElementsAre("::", "::1", "1::", "2001:db8::1:0:0:1", "fe80:0:0:1::", "0:0:1::1"));
}

TEST_F(PkiDescribe, KeyAndUsages) {
  auto info = describe(leaf_.cert.get(), util::SystemClock::instance());
  EXPECT_EQ(info.key_type, "EC");
  EXPECT_EQ(info.key_curve, "P-256");
  EXPECT_EQ(info.key_bits, 256);
  EXPECT_THAT(info.key_usage, ElementsAre("digitalSignature"));
  EXPECT_THAT(info.extended_key_usage, ElementsAre("serverAuth", "clientAuth"));
  EXPECT_FALSE(info.is_ca);
  EXPECT_FALSE(info.self_signed);
  EXPECT_EQ(info.signature_algorithm, "ecdsa-with-SHA256");

  auto rsa_ca = test::make_test_ca("RSA", rsa_key_spec(2048).value());
  auto rsa = describe(rsa_ca.ca.cert.get(), util::SystemClock::instance());
  EXPECT_EQ(rsa.key_type, "RSA");
  EXPECT_EQ(rsa.key_curve, "");
  EXPECT_EQ(rsa.key_bits, 2048);
  EXPECT_TRUE(rsa.is_ca);
  EXPECT_TRUE(rsa.self_signed);
  EXPECT_THAT(rsa.key_usage, ElementsAre("keyCertSign", "cRLSign"));
}

TEST_F(PkiDescribe, UnknownExtendedKeyUsageIsShownAsOid) {
  openssl_ok("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " +
             q(dir_ / "k.pem") + " -out " + q(dir_ / "c.pem") + " -subj /CN=x -days 1 " +
             "-addext extendedKeyUsage=codeSigning,1.3.6.1.4.1.99999.1");
  auto cert = load_certificates(dir_ / "c.pem").value();
  auto info = describe(cert[0].get(), util::SystemClock::instance());
  EXPECT_THAT(info.extended_key_usage, ElementsAre("codeSigning", "1.3.6.1.4.1.99999.1"));
  EXPECT_EQ(info.subject, "CN=x");
  EXPECT_TRUE(info.self_signed);
}

TEST_F(PkiDescribe, PinAndFingerprintMatchOpenssl) {
  auto info = describe(leaf_.cert.get(), util::SystemClock::instance());
  EXPECT_EQ(info.pin_hex, util::hex(spki_sha256(leaf_.cert.get())));
  EXPECT_EQ(info.pin_base64, encode_base64(spki_sha256(leaf_.cert.get())));
  std::string fp =
      openssl_ok("openssl x509 -noout -fingerprint -sha256 -in " + q(dir_ / "leaf.crt"));
  EXPECT_EQ("sha256 Fingerprint=" + info.fingerprint_sha256 + "\n", fp);
}

// Found by tests/fuzz/certificate_fuzz: RFC 5280's "no expiry" notAfter,
// 99991231235959Z, overflowed system_clock's 64-bit nanoseconds (undefined
// behaviour; a wrapped time in the past without UBSan). Year 0000 likewise.
TEST_F(PkiDescribe, NoExpiryDateIsClampedNotWrapped) {
  X509Ptr cert(X509_dup(leaf_.cert.get()));
  ASSERT_EQ(ASN1_TIME_set_string(X509_getm_notAfter(cert.get()), "99991231235959Z"), 1);
  ASSERT_GT(X509_sign(cert.get(), ca_.ca.key.get(), EVP_sha256()), 0);
  util::FixedClock clock(kStart);
  auto info = describe(cert.get(), clock);
  EXPECT_FALSE(info.expired);
  EXPECT_GT(info.days_left, 365 * 80);
  EXPECT_GE(info.not_after, std::chrono::sys_days(std::chrono::year(2116) / 1 / 1));
  EXPECT_THAT(format_time(info.not_after), ::testing::StartsWith("2116-"));
}

TEST(PkiToSystemTime, YearsPastSystemClockAreClamped) {
  // ASN.1 GeneralizedTime contents, as they are in a certificate.
  const std::string kNoExpiry = "99991231235959Z";
  const std::string kYearZero = "00000101000000Z";
  Asn1TimePtr t(ASN1_TIME_new());
  ASSERT_EQ(ASN1_TIME_set_string(t.get(), kNoExpiry.c_str()), 1);
  auto late = to_system_time(t.get());
  ASSERT_EQ(ASN1_TIME_set_string(t.get(), kYearZero.c_str()), 1);
  auto early = to_system_time(t.get());
  EXPECT_GT(late, std::chrono::sys_days(std::chrono::year(2116) / 1 / 1));
  EXPECT_LT(early, std::chrono::sys_days(std::chrono::year(1824) / 1 / 1));
  // Differences of clamped times stay representable.
  EXPECT_GT(std::chrono::floor<std::chrono::days>(late - early).count(), 0);
  ASSERT_EQ(ASN1_TIME_set_string(t.get(), "20300301000000Z"), 1);
  EXPECT_EQ(to_system_time(t.get()), kStart);
}

TEST(PkiFormatTime, IsUtcWithSeconds) {
  EXPECT_EQ(format_time(std::chrono::sys_days(std::chrono::year(2026) / 11 / 22) + 13h + 15min),
            "2026-11-22 13:15:00 UTC");
  EXPECT_EQ(format_time(util::SystemTime{}), "1970-01-01 00:00:00 UTC");
}

TEST(PkiNameToString, KeepsUtf8AndEscapesRfc2253Specials) {
  X509NamePtr name(X509_NAME_new());
  auto add = [&](const char* field, const std::string& value) {
    X509_NAME_add_entry_by_txt(name.get(), field, MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1, 0);
  };
  add("O", "Acme, Inc.");
  add("CN", "Zürich db");
  EXPECT_EQ(name_to_string(name.get()), "CN=Zürich db,O=Acme\\, Inc.");
}

}  // namespace
}  // namespace tlsgate::pki
